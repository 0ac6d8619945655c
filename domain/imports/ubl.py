"""UBL 2.1 invoices and credit notes, the e-invoice format of PEPPOL that Dutch accounting packages export.

Parsed with defusedxml: a file with a DTD or external entities is refused.

A credit note is never a debt: a ``CreditNote`` document, an ``Invoice`` whose
``InvoiceTypeCode`` is a credit-note code of UNTDID 1001 (381, 396, 532 …), or an
``Invoice`` with a negative ``PayableAmount`` becomes a row of kind ``credit_note``
(the customer's credit, see ``invoices._credit``). A prepaid invoice (nothing
payable, the total prepaid) is imported as a paid invoice; a document with
nothing payable at all is skipped and reported.
"""

from __future__ import annotations

import datetime as dt
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from domain.imports.invoices import ImportFailed, InvoiceRow, check_day
from domain.money import MoneyError, parse_amount, parse_currency
from domain.organisations import COUNTRIES
from domain.payment_reference import is_valid_ogm, reference_kind

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
# UNTDID 1001 document types that are credit notes (the EN 16931 / Peppol BIS 3 credit-note list).
CREDIT_NOTE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})
MAX_NUMBER = 64  # Invoice.number
MAX_IDENTIFIER = 100  # Customer.external_ref


def _text(el: Element, path: str) -> str | None:
    found = el.find(path, NS)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def _texts(el: Element, path: str) -> list[str]:
    return [f.text.strip() for f in el.findall(path, NS) if f.text and f.text.strip()]


def parse_ubl(data: bytes, name: str) -> list[InvoiceRow]:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ImportFailed(name, [f"refused: {exc.__class__.__name__} (DTDs and entities are not allowed)"]) from None
    except SafeET.ParseError as exc:
        raise ImportFailed(name, [f"not well-formed XML: {exc}"]) from None
    except (LookupError, ValueError, RecursionError) as exc:  # an unknown encoding, nesting too deep
        raise ImportFailed(name, [f"not readable XML: {exc}"]) from None
    if root.tag == f"{{{NS['inv']}}}Invoice":
        return [_document(root, name, "Invoice")]
    if root.tag == f"{{{NS['cn']}}}CreditNote":
        return [_document(root, name, "CreditNote")]
    local = str(root.tag).rsplit("}", 1)[-1]
    raise ImportFailed(name, [f"root element is {local!r}; expected a UBL 2.1 Invoice or CreditNote"])


def _date(problems: list[str], element: str, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return check_day(dt.date.fromisoformat(text), element)
    except ValueError as exc:
        problems.append(f"{element}: {exc}")
        return None


def _money(problems: list[str], element: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_amount(text, allow_negative=True)
    except MoneyError as exc:
        problems.append(f"{element} {exc}")
        return None


def _reference_kind(root: Element, payment_id: str, currency: str) -> str | None:
    """A 16-digit PaymentID is a Dutch betalingskenmerk (checked as such) on a Dutch invoice: paid
    to an NL IBAN, or from a supplier in the Netherlands. Elsewhere (a Norwegian KID) it is kept
    unchecked, as any reference that is neither a betalingskenmerk nor an RF reference.

    A Belgian structured communication (OGM) is kept and becomes the invoice's structured
    reference, stored ``+++123/4567/89002+++``: written with ``+++``/``***`` or slashes it is
    checked as one anywhere (``domain.invoices``); as twelve bare digits it is one on a Belgian
    invoice (paid to a BE IBAN, or from a supplier in Belgium) when its check digits are right."""
    accounts = _texts(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")
    country = _text(root, "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode")

    def of(code: str) -> bool:
        return any(a.replace(" ", "").upper().startswith(code) for a in accounts) or (country or "").upper() == code

    compact = payment_id.strip()
    if compact.isdigit() and len(compact) == 12 and of("BE") and is_valid_ogm(compact):
        return "ogm"
    if reference_kind(payment_id) != "betalingskenmerk":
        return None
    return None if of("NL") and currency == "EUR" else "free"


def _document(root: Element, name: str, doc: str) -> InvoiceRow:
    problems: list[str] = []

    def need(path: str) -> str:
        value = _text(root, path)
        if value is None:
            problems.append(f"{path} is missing")
            return ""
        return value

    number = need("cbc:ID")
    if len(number) > MAX_NUMBER:
        problems.append(f"cbc:ID is longer than {MAX_NUMBER} characters")
    type_code = _text(root, "cbc:InvoiceTypeCode" if doc == "Invoice" else "cbc:CreditNoteTypeCode")
    issue = _date(problems, "cbc:IssueDate", need("cbc:IssueDate") or None)
    due_element = "cbc:DueDate" if _text(root, "cbc:DueDate") else "cac:PaymentMeans/cbc:PaymentDueDate"
    due = _date(problems, due_element, _text(root, "cbc:DueDate") or _text(root, "cac:PaymentMeans/cbc:PaymentDueDate"))
    currency = "EUR"
    try:
        currency = parse_currency(_text(root, "cbc:DocumentCurrencyCode") or "EUR")
    except MoneyError as exc:
        problems.append(f"cbc:DocumentCurrencyCode {exc}")
    totals = "cac:LegalMonetaryTotal"
    payable = _money(problems, f"{totals}/cbc:PayableAmount", need(f"{totals}/cbc:PayableAmount") or None)
    prepaid = _money(problems, f"{totals}/cbc:PrepaidAmount", _text(root, f"{totals}/cbc:PrepaidAmount"))
    inclusive = _money(problems, f"{totals}/cbc:TaxInclusiveAmount", _text(root, f"{totals}/cbc:TaxInclusiveAmount"))

    party = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    if party is None:
        problems.append("cac:AccountingCustomerParty/cac:Party is missing")
        party = Element("none")
    # Looked up in this order; the accounting package's own customer number (PartyIdentification)
    # is the external_ref a new customer gets.
    endpoint = _texts(party, "cbc:EndpointID")
    own = _texts(party, "cac:PartyIdentification/cbc:ID")
    vat = _texts(party, "cac:PartyTaxScheme/cbc:CompanyID")
    company = _texts(party, "cac:PartyLegalEntity/cbc:CompanyID")
    refs = tuple(dict.fromkeys(r for r in [*endpoint, *own, *vat, *company] if len(r) <= MAX_IDENTIFIER))
    external_ref = next((r for r in [*own, *endpoint, *vat, *company] if r in refs), None)
    customer_name = _text(party, "cac:PartyName/cbc:Name") or _text(party, "cac:PartyLegalEntity/cbc:RegistrationName")
    if customer_name is not None and len(customer_name) > 200:
        problems.append("cac:AccountingCustomerParty: the name is longer than 200 characters")
    customer_country = (_text(party, "cac:PostalAddress/cac:Country/cbc:IdentificationCode") or "").upper()
    email = _text(party, "cac:Contact/cbc:ElectronicMail")
    if email is not None and len(email) > 254:
        problems.append("cac:AccountingCustomerParty cac:Contact/cbc:ElectronicMail is longer than 254 characters")
    phone = _text(party, "cac:Contact/cbc:Telephone")
    if phone is not None and len(phone) > 50:
        problems.append("cac:AccountingCustomerParty cac:Contact/cbc:Telephone is longer than 50 characters")
    if not refs and not customer_name:
        problems.append("cac:AccountingCustomerParty has neither an identifier (EndpointID, PartyIdentification, "
                        "VAT or company id) nor a name (PartyName/Name, PartyLegalEntity/RegistrationName)")

    kind = "invoice"
    amount = payable or 0
    open_cents: int | None = None
    credit = doc == "CreditNote" or (type_code or "") in CREDIT_NOTE_CODES
    if payable is not None:
        if credit and payable < 0:
            problems.append(f"{totals}/cbc:PayableAmount is negative on a credit note ({doc}, type code "
                            f"{type_code or 'none'}): a credit of a credit is not imported")
        elif credit or payable < 0:
            kind, amount = "credit_note", abs(payable)
            if amount == 0:
                kind = "nothing_payable"
        elif payable == 0:
            # Prepaid: the total was paid in advance. A paid invoice, if there was anything to pay.
            amount = prepaid if prepaid and prepaid > 0 else (inclusive if inclusive and inclusive > 0 else 0)
            kind, open_cents = ("invoice", 0) if amount > 0 else ("nothing_payable", None)
    if kind == "invoice" and issue and due and due < issue:
        problems.append(f"{due_element} is before cbc:IssueDate")
    if problems or issue is None:
        label = "Invoice" if doc == "Invoice" and kind != "credit_note" else "credit note"
        raise ImportFailed(name, [f"{label} {number or '?'}: {p}" for p in problems])
    payment_id = _text(root, "cac:PaymentMeans/cbc:PaymentID")
    billing = _text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID")
    label = "credit note" if kind == "credit_note" else doc
    return InvoiceRow(
        where=f"{label} {number}", number=number, customer_external_ref=external_ref, customer_name=customer_name,
        customer_email=email, customer_kind="business", customer_locale=None, issue_date=issue,
        due_date=due if kind == "invoice" else None, amount_cents=amount, currency=currency, open_cents=open_cents,
        payment_reference=payment_id, description=_text(root, "cbc:Note"), kind=kind, billing_reference=billing,
        customer_refs=refs, reference_kind=_reference_kind(root, payment_id, currency) if payment_id else None,
        match_by_name=True, customer_phone=phone,
        customer_country=customer_country if customer_country in COUNTRIES else None,
    )  # fmt: skip
