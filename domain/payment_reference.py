"""Payment references: the Dutch betalingskenmerk and ISO 11649 RF creditor references.

Betalingskenmerk (16-digit form), as published by the Betaalvereniging Nederland
(formerly Currence, "Specificaties betalingskenmerk"): one check digit followed by
15 digits. The check digit is a weighted modulus 11 over the 15 digits, with the
weights 2, 4, 8, 5, 10, 9, 7, 3, 6, 1 from the rightmost digit leftwards, repeating;
C = 11 - (sum mod 11), where 10 becomes 1 and 11 becomes 0. Their worked example:
``5000 0567 8901 2345`` (sum 215, 215 mod 11 = 6, 11 - 6 = 5). The shorter forms (7
and 9-14 digits, with a length code) are valid betalingskenmerken too but are not
generated or recognised here: Settle issues the 16-digit form only.

RF creditor reference (ISO 11649): ``RF``, two check digits, and 1 to 21 letters or
digits. Valid when the body followed by ``RF`` and the check digits, with letters as
numbers (A=10 ... Z=35), is 1 modulo 97 (ISO 7064 MOD 97-10), as in IBANs.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.]")
MAX_SEED = 10**15 - 1
_RF_SHAPE = re.compile(r"RF\d{2}[0-9A-Z]{1,21}")


def normalize_reference(s: str) -> str:
    """Without spaces, dashes and dots, upper case: ``rf18 5390-0754 7034`` -> ``RF18539007547034``;
    an OGM in any written form is its twelve digits: ``+++010/8068/17183+++`` -> ``010806817183``."""
    digits = ogm_digits(s)
    if digits is not None:
        return digits
    return _SEPARATORS.sub("", s).upper()


def reference_kind(s: str) -> str | None:
    """``"betalingskenmerk"``, ``"rf"`` or ``"ogm"`` when ``s`` has that shape (16 digits; ``RF`` and two
    digits and 1 to 21 letters or digits; an OGM delimited by ``+++``/``***`` or slashed), whatever its
    check digits; ``None`` for any other reference (twelve bare digits included: see ``is_delimited_ogm``)."""
    if is_delimited_ogm(s):
        return "ogm"
    ref = normalize_reference(s)
    if len(ref) == 16 and ref.isascii() and ref.isdigit():
        return "betalingskenmerk"
    if _RF_SHAPE.fullmatch(ref):
        return "rf"
    return None


def printed_forms(ref: str) -> set[str]:
    """The forms in which the normalised reference ``ref`` may be printed on an invoice and kept as
    printed: contiguous, or in groups of four separated by one space, dot or dash; upper or lower case.

    A bank line's reference is normalised; looking its printed forms up finds the invoice however
    the sender printed it (``reference_forms``), still by an indexed ``IN``."""
    groups = [ref[i:i + 4] for i in range(0, len(ref), 4)]
    spelled = {ref, *(sep.join(groups) for sep in (" ", ".", "-"))}
    if len(ref) == 12 and ref.isascii() and ref.isdigit():
        spelled |= ogm_forms(ref)
    return spelled | {s.lower() for s in spelled}


def reference_forms(refs: Iterable[str]) -> set[str]:
    """Every printed form (``printed_forms``) of each of the normalised ``refs``."""
    out: set[str] = set()
    for ref in refs:
        out |= printed_forms(ref)
    return out


# The weights of the fifteen digits of a body, first to last (the last weighs _WEIGHTS[0]).
_WEIGHTS15 = tuple(_WEIGHTS[i % 10] for i in reversed(range(15)))
_ZEROS15 = ord("0") * sum(_WEIGHTS15)  # what the digits' character codes add on top


def _check_digit(body15: str) -> int:
    """The check digit of fifteen ASCII digits. Through the character codes, multiplied and
    added in C (``map``), not digit by digit: a bulk intake draws a thousand references a body,
    and the digit-by-digit sum was most of drawing one (tests/unit/test_payment_reference.py
    keeps the two equal)."""
    if len(body15) == 15:
        total = sum(map(operator.mul, body15.encode(), _WEIGHTS15)) - _ZEROS15
    else:
        total = sum(int(d) * _WEIGHTS[i % 10] for i, d in enumerate(reversed(body15)))
    check = 11 - total % 11
    return {10: 1, 11: 0}.get(check, check)


def generate_betalingskenmerk(seed: int) -> str:
    """The 16-digit betalingskenmerk for ``seed`` (0 to 10**15 - 1, e.g. an invoice's sequence number).

    Deterministic: the seed, zero-padded to 15 digits, behind its check digit. A seed out
    of range is refused rather than wrapped, so two seeds never share a reference.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"the seed must be an int, not {type(seed).__name__}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"the seed must be between 0 and {MAX_SEED}, not {seed}")
    body = f"{seed:015d}"
    return f"{_check_digit(body)}{body}"


def is_valid_betalingskenmerk(s: str) -> bool:
    """A 16-digit betalingskenmerk with a correct check digit (spaces, dashes and dots allowed)."""
    if not isinstance(s, str):
        return False
    ref = normalize_reference(s)
    return len(ref) == 16 and ref.isascii() and ref.isdigit() and int(ref[0]) == _check_digit(ref[1:])


def _mod97(s: str) -> int:
    return int("".join(str(int(c, 36)) for c in s)) % 97


def make_rf_reference(body: str) -> str:
    """``RF`` + check digits + ``body`` (1 to 21 letters or digits; spaces and dashes are dropped)."""
    compact = normalize_reference(body)
    if not re.fullmatch(r"[0-9A-Z]{1,21}", compact):
        raise ValueError(f"an RF reference body is 1 to 21 letters or digits, not {body!r}")
    check = 98 - _mod97(compact + "RF00")
    return f"RF{check:02d}{compact}"


def is_valid_rf_reference(s: str) -> bool:
    """An ISO 11649 creditor reference with correct check digits (spaces allowed, any case)."""
    if not isinstance(s, str):
        return False
    ref = normalize_reference(s)
    if not re.fullmatch(r"RF\d{2}[0-9A-Z]{1,21}", ref):
        return False
    return _mod97(ref[4:] + ref[:4]) == 1


# 16 digits, contiguous or in four groups of four with one separator between them; not part
# of a longer run of digits.
_KENMERK = re.compile(r"(?<![0-9A-Za-z])(?<!\d[ .-])\d{4}([ .-]?)\d{4}\1\d{4}\1\d{4}(?![ .-]?\d)")
# RF and two check digits; the body follows, contiguous or in groups of four separated by one space.
_RF_START = re.compile(r"(?<![0-9A-Za-z])RF\d{2}", re.IGNORECASE)
_RF_GROUP = re.compile(r" ?([0-9A-Za-z]+)")


def _rf_at(text: str, start: int, end: int) -> tuple[int, str] | None:
    """The longest valid RF reference whose ``RFkk`` is ``text[start:end]``: (its end, itself)."""
    best: tuple[int, str] | None = None
    body = ""
    pos = end
    while (m := _RF_GROUP.match(text, pos)) is not None:
        group = m.group(1)
        if len(body) + len(group) > 21:
            break
        body += group
        pos = m.end()
        candidate = (text[start:end] + body).upper()
        if is_valid_rf_reference(candidate):
            best = (pos, candidate)
        if len(group) != 4:
            break  # only groups of four continue; a shorter (or unbroken) one is the end
    return best


def find_references(text: str) -> list[str]:
    """Valid betalingskenmerken and RF references in free remittance text, normalised, in order.

    Finds ``5000056789012345``, ``5000 0567 8901 2345``, ``RF18 5390 0754 7034`` (any
    case) and Belgian OGMs in every written form (``find_ogms``), as their twelve digits. Only
    references whose check digits are right are returned. Note that one in
    eleven random 16-digit numbers passes the betalingskenmerk check, so a match is a
    candidate to look up, not proof that the text meant a betalingskenmerk.
    """
    if not text:
        return []
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for m in _RF_START.finditer(text):
        hit = _rf_at(text, m.start(), m.end())
        if hit is not None:
            found.append((m.start(), hit[1]))
            taken.append((m.start(), hit[0]))
    for m in _KENMERK.finditer(text):
        if any(a < m.end() and m.start() < b for a, b in taken):
            continue
        ref = normalize_reference(m.group(0))
        if is_valid_betalingskenmerk(ref):
            found.append((m.start(), ref))
    for m in _OGM_IN_TEXT.finditer(text):
        digits = "".join(ch for ch in m.group(0) if ch.isdigit())
        if _ogm_valid(digits):
            found.append((m.start(), digits))
    out: list[str] = []
    for _, ref in sorted(found):
        if ref not in out:
            out.append(ref)
    return out


# --- Belgian structured communication (OGM / VCS) ---------------------------------------------
#
# "Gestructureerde mededeling" / "communication structurée" (Febelfin, "Banking standards for
# online banking"): ten digits and a two-digit check, the ten modulo 97 (a remainder of 0 is
# written 97), printed ``+++123/4567/89002+++``; banks also write ``***123/4567/89002***``, the
# bare twelve digits, or ``123/4567/89002``. The arithmetic is python-stdnum's
# (``stdnum.be.ogm_vcs``); this module only knows the written forms.

OGM_BODY_DIGITS = 10
MAX_OGM_BODY = 10**OGM_BODY_DIGITS - 1
# One written OGM: +++ or *** around 3/4/5 digits (slashes optional), or the twelve digits bare
# or as 3/4/5 with slashes; blanks may stand around the delimiters and the slashes.
_OGM_WRITTEN = re.compile(
    r"(?P<open>\+{3}|\*{3})?\s*(?P<a>\d{3})\s*(?P<s1>/?)\s*(?P<b>\d{4})\s*(?P=s1)\s*(?P<c>\d{5})\s*(?(open)(?P<close>\+{3}|\*{3}))"
)
# In free text: the delimited and the slashed forms anywhere; bare twelve digits only as a run of
# exactly twelve (not inside a longer number, an IBAN or a 16-digit betalingskenmerk).
_OGM_IN_TEXT = re.compile(
    r"(?P<delim>(?:\+{3}|\*{3})\s*\d{3}\s*/?\s*\d{4}\s*/?\s*\d{5}\s*(?:\+{3}|\*{3}))"
    r"|(?<![0-9A-Za-z/])(?P<slashed>\d{3}\s?/\s?\d{4}\s?/\s?\d{5})(?![0-9/])"
    r"|(?<![0-9A-Za-z])(?P<bare>\d{12})(?![0-9])"
)


def _ogm_valid(digits: str) -> bool:
    from stdnum.be import ogm_vcs

    return bool(ogm_vcs.is_valid(digits))


def ogm_digits(s: str) -> str | None:
    """The twelve digits of ``s`` when ``s`` is written as an OGM (any of the forms above, check digits
    right or wrong), else ``None``: ``'***010/8068/17183***'`` -> ``'010806817183'``."""
    if not isinstance(s, str):
        return None
    m = _OGM_WRITTEN.fullmatch(s.strip())
    if m is None or bool(m.group("open")) != bool(m.group("close")):
        return None
    return m.group("a") + m.group("b") + m.group("c")


def is_delimited_ogm(s: str) -> bool:
    """Written ``+++…+++``, ``***…***`` or with its two slashes: unmistakably meant as an OGM, so a
    wrong check digit is an error, not another kind of reference (bare twelve digits may be anything)."""
    stripped = s.strip() if isinstance(s, str) else ""
    return ogm_digits(stripped) is not None and not stripped.isdigit()


def is_valid_ogm(s: str) -> bool:
    """An OGM in any written form whose check digits are right (``stdnum.be.ogm_vcs``)."""
    digits = ogm_digits(s)
    return digits is not None and _ogm_valid(digits)


def format_ogm(s: str) -> str:
    """The printed form, ``+++123/4567/89002+++``, of an OGM written in any form (``ValueError`` if it
    is not one, whatever its check digits)."""
    from stdnum.be import ogm_vcs

    digits = ogm_digits(s)
    if digits is None:
        raise ValueError(f"{s!r} is not written as a Belgian structured communication")
    return f"+++{ogm_vcs.format(digits)}+++"


def generate_ogm(body: int) -> str:
    """The OGM, printed (``+++…+++``), whose ten digits are ``body`` (0 to 9,999,999,999), zero-padded:
    ``generate_ogm(1234567890)`` -> ``'+++123/4567/89002+++'``. Out of range is refused, never wrapped."""
    from stdnum.be import ogm_vcs

    if isinstance(body, bool) or not isinstance(body, int):
        raise TypeError(f"the body must be an int, not {type(body).__name__}")
    if not 0 <= body <= MAX_OGM_BODY:
        raise ValueError(f"the body must be between 0 and {MAX_OGM_BODY}, not {body}")
    ten = f"{body:010d}"
    return format_ogm(ten + ogm_vcs.calc_check_digits(ten))


def ogm_bodies_for_number(number: str) -> Iterator[int]:
    """The ten-digit bodies to try, in order, for the OGM of invoice ``number``: deterministic, so the
    same number always proposes the same OGM.

    First the number's own digits when it has one to ten of them (``F2026-0042`` -> 20260042: the
    creditor reads the invoice back from the payment, as Belgian accounting packages do); then, for
    numbers with more digits or none, or whose digits another invoice's OGM already has
    (``A-42`` and ``B-42``), SHA-256 of the number and an attempt counter, modulo 10**10. The caller
    takes the first body not in use in the organisation (``domain.invoices``)."""
    digits = "".join(c for c in number if c.isascii() and c.isdigit())
    if 1 <= len(digits) <= OGM_BODY_DIGITS:
        yield int(digits)
    for attempt in itertools.count(1):
        digest = hashlib.sha256(f"{number}\x00{attempt}".encode()).digest()
        yield int.from_bytes(digest[:8], "big") % (MAX_OGM_BODY + 1)


def ogm_forms(digits: str) -> set[str]:
    """The forms an invoice's OGM (its twelve ``digits``) may be stored in: the printed one Settle
    stores, the other delimiters, slashed, bare (a reference given before Settle knew OGMs)."""
    a, b, c = digits[:3], digits[3:7], digits[7:]
    slashed = f"{a}/{b}/{c}"
    return {digits, slashed, f"+++{slashed}+++", f"***{slashed}***", f"+++{digits}+++", f"***{digits}***"}


@dataclass(frozen=True)
class OgmFound:
    """An OGM written in remittance text: its twelve digits, whether its check digits are right, and
    whether it was delimited or slashed (unmistakably meant as an OGM) rather than twelve bare digits."""

    digits: str
    valid: bool
    delimited: bool


def find_ogms(text: str) -> list[OgmFound]:
    """Every OGM written in ``text``, in order, right or wrong check digits: ``+++…+++``, ``***…***``,
    ``123/4567/89002`` and a bare run of exactly twelve digits (MT940 ``:86:``, CAMT ``Ustrd``)."""
    out: list[OgmFound] = []
    for m in _OGM_IN_TEXT.finditer(text or ""):
        digits = "".join(ch for ch in m.group(0) if ch.isdigit())
        found = OgmFound(digits, _ogm_valid(digits), m.group("bare") is None)
        if found not in out:
            out.append(found)
    return out
