"""Payment references: the Dutch betalingskenmerk and ISO 11649 RF references."""

from __future__ import annotations

import re

_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)


def normalize_reference(s: str) -> str:
    return re.sub(r"[\s\-.]", "", s).upper()


def _check_digit(body15: str) -> int:
    total = sum(int(d) * _WEIGHTS[i % 10] for i, d in enumerate(reversed(body15)))
    check = 11 - total % 11
    return {10: 1, 11: 0}.get(check, check)


def generate_betalingskenmerk(seed: int) -> str:
    body = f"{seed % 10**15:015d}"
    return f"{_check_digit(body)}{body}"


def is_valid_betalingskenmerk(s: str) -> bool:
    s = normalize_reference(s)
    return len(s) == 16 and s.isdigit() and int(s[0]) == _check_digit(s[1:])


def _mod97(s: str) -> int:
    return int("".join(str(int(c, 36)) for c in s)) % 97


def make_rf_reference(body: str) -> str:
    body = normalize_reference(body)
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def is_valid_rf_reference(s: str) -> bool:
    s = normalize_reference(s)
    if not re.fullmatch(r"RF\d{2}[0-9A-Z]{1,21}", s):
        return False
    return _mod97(s[4:] + s[:4]) == 1


_KENMERK = re.compile(r"(?<![\d])(\d{4}[ .]?\d{4}[ .]?\d{4}[ .]?\d{4})(?![\d])")
_RF = re.compile(r"\bRF\d{2}(?:[ ]?[0-9A-Z]){1,21}\b", re.IGNORECASE)


def find_references(text: str) -> list[str]:
    """Valid betalingskenmerken and RF references in free remittance text, normalised, in order."""
    found: list[str] = []
    for m in _KENMERK.finditer(text or ""):
        ref = normalize_reference(m.group(1))
        if is_valid_betalingskenmerk(ref) and ref not in found:
            found.append(ref)
    for m in _RF.finditer(text or ""):
        ref = normalize_reference(m.group(0))
        if is_valid_rf_reference(ref) and ref not in found:
            found.append(ref)
    return found
