"""CAMT.053 (ISO 20022 BankToCustomerStatement), versions 001.02 to 001.08.

Read namespace-agnostically with defusedxml, so a DTD or an external entity is
refused rather than resolved. Amounts with more than two decimals (some banks
send five) are rounded half-up to cents. A batched entry with several
transaction details yields one line per detail when each carries its amount.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from domain.bank.model import Entry, Statement, StatementError, dedupe_key


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(el: Element | None, path: str) -> Element | None:
    """``path`` of local names separated by '/', ignoring namespaces."""
    if el is None:
        return None
    node: Element | None = el
    for part in path.split("/"):
        if node is None:
            return None
        node = next((c for c in node if _local(c.tag) == part), None)
    return node


def _findall(el: Element, name: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == name]


def _text(el: Element | None, path: str) -> str | None:
    found = _find(el, path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _cents(el: Element, where: str) -> int:
    try:
        value = Decimal((el.text or "").strip())
    except InvalidOperation:
        raise StatementError(where, f"amount {el.text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise StatementError(where, f"amount {el.text!r} is not a positive number")
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _date(el: Element | None, path: str, where: str) -> dt.date | None:
    node = _find(el, path)
    if node is None:
        return None
    text = _text(node, "Dt") or _text(node, "DtTm")
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise StatementError(where, f"{text!r} is not a date") from None


def _balance(stmt: Element, code: str, where: str) -> int | None:
    for bal in _findall(stmt, "Bal"):
        if _text(bal, "Tp/CdOrPrtry/Cd") == code:
            amt = _find(bal, "Amt")
            if amt is None:
                raise StatementError(where, f"balance {code} has no Amt")
            sign = -1 if _text(bal, "CdtDbtInd") == "DBIT" else 1
            return sign * _cents(amt, where)
    return None


def parse(data: bytes, name: str) -> list[Statement]:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise StatementError(name, f"refused: {exc.__class__.__name__} (DTDs and entities are not allowed)") from None
    except SafeET.ParseError as exc:
        raise StatementError(name, f"not well-formed XML ({exc}): truncated?") from None
    body = _find(root, "BkToCstmrStmt")
    if body is None:
        raise StatementError(name, f"root element {_local(root.tag)!r} holds no BkToCstmrStmt: not a CAMT.053 file")
    statements = _findall(body, "Stmt")
    if not statements:
        raise StatementError(f"{name}: BkToCstmrStmt", "no Stmt element")
    return [_statement(s, f"{name}: Stmt[{i}]") for i, s in enumerate(statements, start=1)]


def _statement(stmt: Element, where: str) -> Statement:
    statement_id = _text(stmt, "Id")
    account = _text(stmt, "Acct/Id/IBAN") or _text(stmt, "Acct/Id/Othr/Id")
    currency = _text(stmt, "Acct/Ccy")
    entries: list[Entry] = []
    for n, ntry in enumerate(_findall(stmt, "Ntry"), start=1):
        entries.extend(_entries(ntry, f"{where}/Ntry[{n}]", account, statement_id, len(entries), currency))
    return Statement(
        format="camt053",
        statement_id=statement_id,
        account_iban=account,
        currency=currency or (entries[0].currency if entries else None),
        opening_balance_cents=_balance(stmt, "OPBD", where)
        if _balance(stmt, "OPBD", where) is not None
        else _balance(stmt, "PRCD", where),
        closing_balance_cents=_balance(stmt, "CLBD", where),
        entries=tuple(entries),
    )


def _party(tx: Element | None, credit: bool) -> tuple[str | None, str | None]:
    """The other side: the debtor of a credit, the creditor of a debit."""
    side = "Dbtr" if credit else "Cdtr"
    parties = _find(tx, "RltdPties")
    name = _text(parties, f"{side}/Nm") or _text(parties, f"{side}/Pty/Nm")
    iban = _text(parties, f"{side}Acct/Id/IBAN") or _text(parties, f"{side}Acct/Id/Othr/Id")
    return name, iban


def _entries(
    ntry: Element, where: str, account: str | None, statement_id: str | None, offset: int, currency: str | None
) -> list[Entry]:
    amt = _find(ntry, "Amt")
    if amt is None:
        raise StatementError(where, "entry has no Amt")
    indicator = _text(ntry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(where, f"CdtDbtInd is {indicator!r}, not CRDT or DBIT")
    credit = indicator == "CRDT"
    sign = 1 if credit else -1
    ccy = amt.get("Ccy") or currency or "EUR"
    booking = _date(ntry, "BookgDt", where) or _date(ntry, "ValDt", where)
    if booking is None:
        raise StatementError(where, "entry has no BookgDt")
    value_date = _date(ntry, "ValDt", where)
    reversal = (_text(ntry, "RvslInd") or "").lower() == "true"
    details = [tx for d in _findall(ntry, "NtryDtls") for tx in _findall(d, "TxDtls")]
    entry_ref = _text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef")
    own_amounts = len(details) > 1 and all(
        _find(tx, "Amt") is not None or _find(tx, "AmtDtls/TxAmt/Amt") is not None for tx in details
    )
    parts = details if own_amounts else [details[0] if details else None]
    out: list[Entry] = []
    for i, tx in enumerate(parts):
        tx_amt = (_find(tx, "Amt") or _find(tx, "AmtDtls/TxAmt/Amt")) if own_amounts else amt
        assert tx_amt is not None
        cents = sign * _cents(tx_amt, where)
        name, iban = _party(tx, credit)
        ustrd = [
            u.text.strip()
            for r in ([_find(tx, "RmtInf")] if tx is not None else [])
            if r is not None
            for u in _findall(r, "Ustrd")
            if u.text and u.text.strip()
        ]
        structured = _text(tx, "RmtInf/Strd/CdtrRefInf/Ref")
        remittance = " ".join(ustrd) or _text(ntry, "AddtlNtryInf")
        e2e = _text(tx, "Refs/EndToEndId")
        if e2e == "NOTPROVIDED":
            e2e = None
        position = offset + len(out)
        out.append(
            Entry(
                booking_date=booking,
                value_date=value_date,
                amount_cents=cents,
                currency=ccy,
                counterparty_name=name,
                counterparty_iban=iban,
                remittance_text=remittance,
                structured_reference=structured,
                end_to_end_id=e2e,
                bank_reference=_text(tx, "Refs/AcctSvcrRef") or entry_ref,
                is_reversal=reversal,
                dedupe_key=dedupe_key(account, position, statement_id, booking, cents, entry_ref, e2e, remittance, i),
            )
        )
    return out
