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

import re
from collections.abc import Iterable

_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.]")
MAX_SEED = 10**15 - 1
_RF_SHAPE = re.compile(r"RF\d{2}[0-9A-Z]{1,21}")


def normalize_reference(s: str) -> str:
    """Without spaces, dashes and dots, upper case: ``rf18 5390-0754 7034`` -> ``RF18539007547034``."""
    return _SEPARATORS.sub("", s).upper()


def reference_kind(s: str) -> str | None:
    """``"betalingskenmerk"`` or ``"rf"`` when ``s`` has that shape (16 digits; ``RF`` and two digits
    and 1 to 21 letters or digits), whatever its check digits; ``None`` for any other reference."""
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
    return spelled | {s.lower() for s in spelled}


def reference_forms(refs: Iterable[str]) -> set[str]:
    """Every printed form (``printed_forms``) of each of the normalised ``refs``."""
    out: set[str] = set()
    for ref in refs:
        out |= printed_forms(ref)
    return out


def _check_digit(body15: str) -> int:
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

    Finds ``5000056789012345``, ``5000 0567 8901 2345`` and ``RF18 5390 0754 7034`` (any
    case). Only references whose check digits are right are returned. Note that one in
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
    out: list[str] = []
    for _, ref in sorted(found):
        if ref not in out:
            out.append(ref)
    return out
