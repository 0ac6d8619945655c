"""CAMT.053 (ISO 20022 BankToCustomerStatement), versions camt.053.001.02 to .08.

Read namespace-agnostically (elements are matched on their local names), so every
version in that range, and a file without a namespace, reads the same way. The
differences between versions that matter here are handled explicitly: ``Sts`` is a
plain code up to .07 and ``Sts/Cd`` from .08; parties are ``Dbtr/Nm`` up to .06 and
``Dbtr/Pty/Nm`` from .07; a transaction's own amount is ``AmtDtls/TxAmt/Amt`` in .02
and ``TxDtls/Amt`` from .03; dates are ``Dt`` or ``DtTm``.

Safety: the XML is parsed with defusedxml and ``forbid_dtd=True``, so a DOCTYPE of any
kind (and with it every entity, external or internal, and billion-laughs expansion)
is refused with a StatementError before anything is read.

Amounts: ISO 20022 allows up to five decimals. A value's sub-cent digits are kept
exactly when they are zeros (``8.850`` is 885 cents) and otherwise rounded half up to
the cent (``0.00500`` is 1 cent, ``0.00499`` is 0). Such lines are rare and the
rounding can leave a statement a cent off its own balances, which
``Statement.is_balanced`` shows. A malformed amount (``1,00``, ``-5``, ``1e3``, six
decimals), one above ``MAX_CENTS`` (it would not fit), or a ``Ccy`` that is not three
letters is an error naming its element.

Entries: only booked entries are read (``Sts`` BOOK, or no status); pending and
informational ones (PDNG, INFO, FUTR) are not on the account yet and are skipped. An
entry with several ``TxDtls`` (a batch) gives one line per detail when every detail
carries its own amount in the entry's currency and the details add up to the entry;
otherwise it gives one line for the entry, with the details' texts joined.

Balances: the opening balance is OPBD (or PRCD, the previous closing, when there is no
OPBD) and the closing balance CLBD. A balance in a currency other than the
statement's is not a balance of this account in its currency and is left out (None).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from domain.bank.model import (
    MAX_CENTS,
    EntryDraft,
    Statement,
    StatementError,
    build_entries,
    decimal_to_cents,
    format_cents,
    iban_or_none,
    join_text,
)

_AMOUNT = re.compile(r"\d{1,18}(?:\.\d{1,5})?", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
_BOOKED = ("BOOK",)
# Bank transaction sub-family codes of reversals and returns (ISO 20022 external code list):
# UPDD unpaid (returned) direct debit, PRDD reversal of a direct debit, RRTN reversal due to a
# payment return, RPCR reversal due to a payment cancellation request.
_RETURN_SUBFAMILIES = frozenset({"UPDD", "PRDD", "RRTN", "RPCR"})
_OTHER_CAMT = {
    "BkToCstmrAcctRpt": "a camt.052 account report",
    "BkToCstmrDbtCdtNtfctn": "a camt.054 debit/credit notification",
}


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _child(el: Element | None, name: str) -> Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c.tag) == name), None)


def _children(el: Element | None, name: str) -> list[Element]:
    if el is None:
        return []
    return [c for c in el if _local(c.tag) == name]


def _find(el: Element | None, path: str) -> Element | None:
    """The first element at ``path`` (local names separated by '/'), ignoring namespaces."""
    node = el
    for part in path.split("/"):
        node = _child(node, part)
        if node is None:
            return None
    return node


def _text(el: Element | None, path: str) -> str | None:
    found = _find(el, path)
    if found is None or found.text is None:
        return None
    return " ".join(found.text.split()) or None


class _Path:
    """An element path for error messages: ``name: Document/BkToCstmrStmt/Stmt[2]/Ntry[5]``."""

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path

    def __truediv__(self, step: str) -> _Path:
        return _Path(self.name, f"{self.path}/{step}")

    def __str__(self) -> str:
        return f"{self.name}: {self.path}"


def _amount(el: Element, where: _Path) -> tuple[int, str | None]:
    """Cents (unsigned) and the ``Ccy`` attribute of an amount element."""
    text = (el.text or "").strip()
    if not _AMOUNT.fullmatch(text):
        raise StatementError(
            str(where), f"amount {text!r} is not a decimal number with at most five decimals (such as 123.45)"
        )
    cents = decimal_to_cents(Decimal(text))
    if cents > MAX_CENTS:
        raise StatementError(str(where), f"amount {text} is larger than {format_cents(MAX_CENTS)}: it does not fit")
    return cents, _currency(el.get("Ccy"), where)


def _currency(raw: str | None, where: _Path) -> str | None:
    value = (raw or "").strip().upper()
    if value and not _CURRENCY.fullmatch(value):
        raise StatementError(str(where), f"currency {raw!r} is not an ISO 4217 code (three letters, such as EUR)")
    return value or None


def _sign(indicator: str | None, where: _Path) -> int:
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    raise StatementError(str(where), f"CdtDbtInd is {indicator!r}, not CRDT or DBIT")


def _date(el: Element | None, path: str, where: _Path) -> dt.date | None:
    node = _find(el, path)
    if node is None:
        return None
    text = _text(node, "Dt") or _text(node, "DtTm")
    if text is None:
        raise StatementError(str(where / path), "holds neither Dt nor DtTm")
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise StatementError(str(where / path), f"{text!r} is not a date (YYYY-MM-DD)") from None


def parse(data: bytes, name: str) -> list[Statement]:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise StatementError(
            name, f"refused: the XML has a {exc.__class__.__name__} (DTDs and entities are not allowed)"
        ) from None
    except SafeET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":")[0]
        raise StatementError(
            f"{name}, line {line}, column {column}", f"not well-formed XML ({reason}): is the file truncated?"
        ) from None
    except (LookupError, ValueError, RecursionError) as exc:  # an unknown encoding, nesting too deep
        raise StatementError(name, f"not readable XML: {exc}") from None
    top = _Path(name, _local(root.tag))
    body = _child(root, "BkToCstmrStmt")
    if body is None:
        kinds = [_OTHER_CAMT[_local(c.tag)] for c in root if _local(c.tag) in _OTHER_CAMT]
        what = f"this is {kinds[0]}" if kinds else f"root element {_local(root.tag)!r} holds no BkToCstmrStmt"
        raise StatementError(str(top), f"{what}: not a CAMT.053 statement")
    statements = _children(body, "Stmt")
    if not statements:
        raise StatementError(str(top / "BkToCstmrStmt"), "holds no Stmt: not a CAMT.053 statement, or an empty one")
    return [_statement(s, top / "BkToCstmrStmt" / f"Stmt[{i}]") for i, s in enumerate(statements, start=1)]


def _account(stmt: Element) -> str | None:
    iban = _text(stmt, "Acct/Id/IBAN")
    if iban:
        return "".join(iban.split()).upper()
    other = _text(stmt, "Acct/Id/Othr/Id")
    return iban_or_none(other) or other


def _balances(stmt: Element, where: _Path) -> dict[str, tuple[int, str | None, dt.date | None]]:
    out: dict[str, tuple[int, str | None, dt.date | None]] = {}
    for i, bal in enumerate(_children(stmt, "Bal"), start=1):
        here = where / f"Bal[{i}]"
        code = _text(bal, "Tp/CdOrPrtry/Cd") or _text(bal, "Tp/CdOrPrtry/Prtry")
        if code not in ("OPBD", "PRCD", "CLBD") or code in out:
            continue
        amt = _child(bal, "Amt")
        if amt is None:
            raise StatementError(str(here), f"balance {code} has no Amt")
        cents, ccy = _amount(amt, here / "Amt")
        day = _date(bal, "Dt", here)
        out[code] = (_sign(_text(bal, "CdtDbtInd"), here / "CdtDbtInd") * cents, ccy, day)
    return out


def _statement(stmt: Element, where: _Path) -> Statement:
    account = _account(stmt)
    balances = _balances(stmt, where)
    opening = balances.get("OPBD") or balances.get("PRCD")
    closing = balances.get("CLBD")
    currency = (
        _currency(_text(stmt, "Acct/Ccy"), where / "Acct/Ccy")
        or (opening[1] if opening else None)
        or (closing[1] if closing else None)
    )

    drafts: list[EntryDraft] = []
    for n, ntry in enumerate(_children(stmt, "Ntry"), start=1):
        drafts.extend(_entry(ntry, where / f"Ntry[{n}]", account, currency))
    if currency is None and drafts:
        currency = drafts[0].currency

    def in_currency(balance: tuple[int, str | None, dt.date | None] | None) -> int | None:
        if balance is None or (balance[1] is not None and currency is not None and balance[1] != currency):
            return None
        return balance[0]

    return Statement(
        format="camt053",
        statement_id=_text(stmt, "Id"),
        account_iban=account,
        currency=currency,
        opening_balance_cents=in_currency(opening),
        closing_balance_cents=in_currency(closing),
        entries=build_entries(account, drafts),
        number=_text(stmt, "LglSeqNb") or _text(stmt, "ElctrncSeqNb"),
        opening_date=opening[2] if opening and in_currency(opening) is not None else None,
        closing_date=closing[2] if closing and in_currency(closing) is not None else None,
    )


def _status(ntry: Element) -> str | None:
    sts = _child(ntry, "Sts")
    if sts is None:
        return None
    return _text(sts, "Cd") or _text(sts, "Prtry") or (" ".join((sts.text or "").split()) or None)


def _tx_amount(tx: Element, where: _Path) -> tuple[int, str | None, int | None] | None:
    """A detail's own (unsigned cents, currency, sign or None), when it has an amount."""
    for path in ("Amt", "AmtDtls/TxAmt/Amt"):
        el = _find(tx, path)
        if el is not None:
            cents, ccy = _amount(el, where / path)
            indicator = _text(tx, "CdtDbtInd")
            sign = _sign(indicator, where / "CdtDbtInd") if indicator is not None else None
            return cents, ccy, sign
    return None


@dataclass(frozen=True, slots=True)
class _Head:
    """What an entry's lines share."""

    booking: dt.date
    value_date: dt.date | None
    currency: str
    reversal: bool
    reference: str | None


def _entry(ntry: Element, where: _Path, account: str | None, currency: str | None) -> list[EntryDraft]:
    status = _status(ntry)
    if status is not None and status.upper() not in _BOOKED:
        return []
    amt = _child(ntry, "Amt")
    if amt is None:
        raise StatementError(str(where), "entry has no Amt")
    cents, ccy = _amount(amt, where / "Amt")
    sign = _sign(_text(ntry, "CdtDbtInd"), where / "CdtDbtInd")
    ccy = ccy or currency
    if ccy is None:
        raise StatementError(str(where / "Amt"), "amount has no currency (Ccy) and the account none either")
    booking = _date(ntry, "BookgDt", where) or _date(ntry, "ValDt", where)
    if booking is None:
        raise StatementError(str(where), "entry has neither BookgDt nor ValDt")
    head = _Head(
        booking=booking,
        value_date=_date(ntry, "ValDt", where),
        currency=ccy,
        reversal=(_text(ntry, "RvslInd") or "").lower() in ("true", "1"),
        reference=_text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef"),
    )
    details: list[tuple[Element, _Path]] = []
    for d, dtls in enumerate(_children(ntry, "NtryDtls"), start=1):
        for t, tx in enumerate(_children(dtls, "TxDtls"), start=1):
            details.append((tx, where / f"NtryDtls[{d}]" / f"TxDtls[{t}]"))
    if len(details) <= 1:
        return [_draft(details[0][0] if details else None, ntry, account, sign * cents, head)]
    # A batch: one line per detail when the details carry amounts that add up to the entry.
    amounts = [_tx_amount(tx, here) for tx, here in details]
    own = [a for a in amounts if a is not None]
    if len(own) == len(details) and all(a[1] in (None, ccy) for a in own):
        signed = [a[0] * (sign if a[2] is None else a[2]) for a in own]
        if sum(signed) == sign * cents:
            return [_draft(tx, ntry, account, amount, head) for (tx, _), amount in zip(details, signed, strict=True)]
    return [_batch([tx for tx, _ in details], ntry, account, sign * cents, head)]


def _party(tx: Element | None, role: str) -> tuple[str | None, str | None]:
    """Name and IBAN of ``Dbtr`` or ``Cdtr`` (falling back to the ultimate party's name)."""
    parties = _child(tx, "RltdPties")
    name = (
        _text(parties, f"{role}/Nm")
        or _text(parties, f"{role}/Pty/Nm")
        or _text(parties, f"Ultmt{role}/Nm")
        or _text(parties, f"Ultmt{role}/Pty/Nm")
    )
    iban = iban_or_none(_text(parties, f"{role}Acct/Id/IBAN")) or iban_or_none(_text(parties, f"{role}Acct/Id/Othr/Id"))
    return name, iban


def _counterparty(
    tx: Element | None, amount: int, reversal: bool, account: str | None
) -> tuple[str | None, str | None]:
    """The other side: the debtor of a credit, the creditor of a debit.

    A reversal or return keeps the parties of the payment it undoes, so there the roles
    swap (the debtor of a returned collection is still ``Dbtr``). When the chosen side
    turns out to be the account holder's own account, the other side is taken.
    """
    first, second = ("Dbtr", "Cdtr") if (amount >= 0) != reversal else ("Cdtr", "Dbtr")
    name, iban = _party(tx, first)
    if account and iban and iban == account:
        name, iban = _party(tx, second)
        if iban == account:
            return None, None
    return name, iban


def _remittance(tx: Element | None, ntry: Element) -> tuple[str | None, str | None]:
    """Unstructured text and the creditor reference of a detail."""
    rmt = _child(tx, "RmtInf")
    pieces: list[str | None] = [u.text for u in _children(rmt, "Ustrd")]
    structured: str | None = None
    for strd in _children(rmt, "Strd"):
        ref = _text(strd, "CdtrRefInf/Ref")
        if ref and structured is None:
            structured = ref
        pieces.extend(_text(doc, "Nb") for doc in _children(strd, "RfrdDocInf"))
        pieces.extend(a.text for a in _children(strd, "AddtlRmtInf"))
    text = join_text(pieces, wrap_at=140)
    if text is None:
        text = join_text([_text(tx, "AddtlTxInf")]) or join_text([_text(ntry, "AddtlNtryInf")])
    return text, structured


def _is_return(tx: Element | None, ntry: Element) -> bool:
    for el in (tx, ntry):
        if _find(el, "RtrInf") is not None:
            return True
        if (_text(el, "BkTxCd/Domn/Fmly/SubFmlyCd") or "").upper() in _RETURN_SUBFAMILIES:
            return True
    return False


def _e2e(tx: Element | None) -> str | None:
    e2e = _text(tx, "Refs/EndToEndId")
    return None if e2e is None or e2e.upper() == "NOTPROVIDED" else e2e


def _draft(tx: Element | None, ntry: Element, account: str | None, amount: int, head: _Head) -> EntryDraft:
    reversal = head.reversal or _is_return(tx, ntry)
    name, iban = _counterparty(tx, amount, reversal, account)
    text, structured = _remittance(tx, ntry)
    return EntryDraft(
        booking_date=head.booking,
        value_date=head.value_date,
        amount_cents=amount,
        currency=head.currency,
        counterparty_name=name,
        counterparty_iban=iban,
        remittance_text=text,
        structured_reference=structured,
        end_to_end_id=_e2e(tx),
        bank_reference=_text(tx, "Refs/AcctSvcrRef") or head.reference,
        is_reversal=reversal,
        return_reason=_text(tx, "RtrInf/Rsn/Cd") or _text(tx, "RtrInf/Rsn/Prtry"),
        mandate_reference=_text(tx, "Refs/MndtId"),
    )


def _batch(details: list[Element], ntry: Element, account: str | None, amount: int, head: _Head) -> EntryDraft:
    """One line for a batch whose details cannot each be a line: texts joined, shared values kept."""
    drafts = [_draft(tx, ntry, account, amount, head) for tx in details]

    def shared(values: list[str | None]) -> str | None:
        distinct = {v for v in values if v}
        return distinct.pop() if len(distinct) == 1 and all(values) else None

    return EntryDraft(
        booking_date=head.booking,
        value_date=head.value_date,
        amount_cents=amount,
        currency=head.currency,
        counterparty_name=shared([d.counterparty_name for d in drafts]),
        counterparty_iban=shared([d.counterparty_iban for d in drafts]),
        remittance_text=join_text(dict.fromkeys(d.remittance_text for d in drafts)),
        structured_reference=shared([d.structured_reference for d in drafts]),
        end_to_end_id=None,
        bank_reference=head.reference,
        is_reversal=any(d.is_reversal for d in drafts),
        return_reason=shared([d.return_reason for d in drafts]),
        mandate_reference=None,
    )
