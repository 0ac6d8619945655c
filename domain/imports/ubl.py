"""UBL 2.1 invoices, the e-invoice format of PEPPOL that Dutch accounting packages export.

Parsed with defusedxml: a file with a DTD or external entities is refused.
"""

from __future__ import annotations

import datetime as dt
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from domain.imports.invoices import ImportFailed, InvoiceRow, _amount
from domain.money import MoneyError, parse_currency

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def _text(el: Element, path: str) -> str | None:
    found = el.find(path, NS)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def parse_ubl(data: bytes, name: str) -> list[InvoiceRow]:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ImportFailed(name, [f"refused: {exc.__class__.__name__} (DTDs and entities are not allowed)"]) from None
    except SafeET.ParseError as exc:
        raise ImportFailed(name, [f"not well-formed XML: {exc}"]) from None
    if root.tag == f"{{{NS['inv']}}}Invoice":
        return [_invoice(root, name)]
    local = root.tag.rsplit("}", 1)[-1]
    raise ImportFailed(name, [f"root element is {local!r}; expected a UBL 2.1 Invoice"])


def _invoice(root: Element, name: str) -> InvoiceRow:
    problems: list[str] = []

    def need(path: str) -> str:
        value = _text(root, path)
        if value is None:
            problems.append(f"{path} is missing")
            return ""
        return value

    number = need("cbc:ID")
    issue_text = need("cbc:IssueDate")
    due_text = _text(root, "cbc:DueDate") or _text(root, "cac:PaymentMeans/cbc:PaymentDueDate")
    currency_text = _text(root, "cbc:DocumentCurrencyCode") or "EUR"
    payable = need("cac:LegalMonetaryTotal/cbc:PayableAmount")
    party = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    if party is None:
        problems.append("cac:AccountingCustomerParty/cac:Party is missing")
        party = Element("none")
    ref = (
        _text(party, "cac:PartyIdentification/cbc:ID")
        or _text(party, "cbc:EndpointID")
        or _text(party, "cac:PartyLegalEntity/cbc:CompanyID")
        or _text(party, "cac:PartyTaxScheme/cbc:CompanyID")
    )
    customer_name = _text(party, "cac:PartyName/cbc:Name") or _text(party, "cac:PartyLegalEntity/cbc:RegistrationName")
    if ref is None:
        problems.append("cac:AccountingCustomerParty has no identifier (PartyIdentification/ID or EndpointID)")
    issue = due = None
    amount = 0
    currency = "EUR"
    try:
        issue = dt.date.fromisoformat(issue_text) if issue_text else None
        due = dt.date.fromisoformat(due_text) if due_text else None
    except ValueError as exc:
        problems.append(f"date: {exc}")
    try:
        amount = _amount(payable) if payable else 0
        currency = parse_currency(currency_text)
    except MoneyError as exc:
        problems.append(f"cac:LegalMonetaryTotal/cbc:PayableAmount or currency {exc}")
    if payable and amount <= 0:
        problems.append(
            "cac:LegalMonetaryTotal/cbc:PayableAmount must be greater than zero (credit notes are not imported)"
        )
    if issue and due and due < issue:
        problems.append("cbc:DueDate is before cbc:IssueDate")
    if problems or issue is None or ref is None:
        raise ImportFailed(name, [f"Invoice {number or '?'}: {p}" for p in problems])
    email = _text(party, "cac:Contact/cbc:ElectronicMail")
    return InvoiceRow(
        where=f"Invoice {number}", number=number, customer_external_ref=ref, customer_name=customer_name,
        customer_email=email, customer_kind="business", customer_locale=None, issue_date=issue, due_date=due,
        amount_cents=amount, currency=currency, open_cents=None,
        payment_reference=_text(root, "cac:PaymentMeans/cbc:PaymentID"), description=_text(root, "cbc:Note"),
    )
