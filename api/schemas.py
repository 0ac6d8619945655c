"""Request and response shapes. Money travels as two-decimal strings; ORM objects never leave."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from api.arrangements import ArrangementRead
from domain import organisations
from domain.customers import country_of
from domain.models import Customer, Invoice, Organisation, Payment, PaymentAllocation
from domain.money import CURRENCIES, format_amount
from domain.statement import Statement

# The constraints the API enforces, declared so the schema says them (a value of the right type
# outside them is a 422 naming the field). Rules no schema can say (an id that must exist, a date
# after today, a check digit) stay the domain's, and are 422s (or 404/409) as well.
Name = Annotated[str, Meta(pattern=r"\S", max_length=200, examples=["Bakkerij Jansen B.V."],
                           description="Not empty or only spaces")]  # fmt: skip
ExternalRef = Annotated[str, Meta(max_length=100, examples=["C-1001"], description="Your own reference, unique")]
# Checked by the domain (an address with one @ and a dot after it; "" clears it), declared as an e-mail here.
Email = Annotated[str, Meta(max_length=254, examples=["ap@jansen.example"],
                            extra_json_schema={"extra": {"format": "email"}})]
Kind = Literal["business", "consumer"]
Locale = Literal["nl", "fr", "en"]  # domain.locales.LANGUAGES (tests/unit/test_locales.py keeps them equal)
Country = Annotated[Literal["NL", "BE"], Meta(description="NL or BE; null: the organisation's country")]
TermDays = Annotated[int, Meta(ge=0, le=365, description="Days from issue to due date when an invoice names none")]
# A positive amount of at most two decimals, as a string: "1250.00", "0.50", "17".
Amount = Annotated[str, Meta(pattern=r"^([1-9][0-9]{0,11}(\.[0-9]{1,2})?|0\.([1-9][0-9]?|0[1-9]))$",
                             examples=["1234.56"], description="A positive decimal, at most two decimals")]  # fmt: skip
OpenAmount = Annotated[str, Meta(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$", examples=["1234.56"],
                                 description="A decimal string, at most two decimals, not above amount")]  # fmt: skip
Currency = Annotated[str, Meta(examples=["EUR"], extra_json_schema={"extra": {"enum": sorted(CURRENCIES)}},
                               description="An ISO 4217 code Settle supports")]  # fmt: skip
InvoiceNumber = Annotated[str, Meta(pattern=r"\S", max_length=64, examples=["F-2026-0042"])]


class CustomerCreate(Struct):
    name: Name
    external_ref: ExternalRef | None = None
    email: Email | None = None
    phone: Annotated[str, Meta(max_length=50)] | None = None
    kind: Kind = "business"
    locale: Locale = "nl"
    payment_term_days: TermDays | None = None
    policy_id: str | None = None
    address: Annotated[str, Meta(max_length=500)] | None = None
    country: Country | None = None
    regular_supply: bool = False
    sms_opt_out: Annotated[bool, Meta(description="No text messages to this customer (a STOP reply sets it)")] = False


class CustomerPatch(Struct):
    name: Name | UnsetType = UNSET
    external_ref: ExternalRef | UnsetType | None = UNSET
    email: Email | UnsetType | None = UNSET
    phone: Annotated[str, Meta(max_length=50)] | UnsetType | None = UNSET
    kind: Kind | UnsetType = UNSET
    locale: Locale | UnsetType = UNSET
    payment_term_days: TermDays | UnsetType | None = UNSET
    policy_id: str | UnsetType | None = UNSET
    address: Annotated[str, Meta(max_length=500)] | UnsetType | None = UNSET
    country: Country | UnsetType | None = UNSET
    regular_supply: bool | UnsetType = UNSET
    sms_opt_out: bool | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not UNSET}


class CustomerRead(Struct):
    id: str
    external_ref: str | None
    name: str
    email: str | None
    phone: str | None
    kind: str
    locale: str
    payment_term_days: int | None
    policy_id: str | None
    address: str | None
    created_at: dt.datetime
    # The country that applies: the customer's own, else the organisation's (``country_inherited``:
    # none of its own, so it follows the organisation's if that changes).
    country: str = "NL"
    country_inherited: bool = True
    regular_supply: bool = False
    sms_opt_out: bool = False

    @classmethod
    def of(cls, c: Customer, org: Organisation) -> CustomerRead:
        return cls(
            id=c.id, external_ref=c.external_ref, name=c.name, email=c.email, phone=c.phone,
            kind=c.kind, locale=c.locale, payment_term_days=c.payment_term_days,
            policy_id=c.policy_id, address=c.address, created_at=c.created_at,
            country=country_of(c, org), country_inherited=c.country is None, regular_supply=bool(c.regular_supply),
            sms_opt_out=bool(c.sms_opt_out),
        )


class InvoiceCreate(Struct):
    number: InvoiceNumber
    issue_date: dt.date
    amount: Amount
    currency: Currency = "EUR"
    customer_id: str | None = None
    customer_external_ref: ExternalRef | None = None
    due_date: dt.date | None = None
    open_amount: OpenAmount | None = None
    payment_reference: Annotated[str, Meta(max_length=40, examples=["RF18539007547034"])] | None = None
    description: Annotated[str, Meta(max_length=1000)] | None = None
    pdf_url: Annotated[str, Meta(max_length=500, pattern=r"^https?://[^\s]+$")] | None = None


class InvoiceBulk(Struct):
    items: Annotated[list[dict[str, Any]], Meta(min_length=1, max_length=1000,
                                                description="Invoices as for POST /invoices, 1 to 1000")]  # fmt: skip


class PauseRequest(Struct):
    until: Annotated[dt.date, Meta(description="A date after today")]
    reason: Annotated[str, Meta(max_length=500)] | None = None


class DunningRead(Struct):
    stage: str | None
    step: int
    next_action_on: dt.date | None
    paused_until: dt.date | None
    pause_reason: str | None


class InvoiceRead(Struct):
    id: str
    customer_id: str
    number: str
    issue_date: dt.date
    due_date: dt.date
    amount: str
    currency: str
    open_amount: str
    status: str
    payment_reference: str | None
    description: str | None
    pdf_url: str | None
    paid_on: dt.date | None
    fees: str
    costs: str
    interest: str
    dunning: DunningRead
    created_at: dt.datetime

    @classmethod
    def of(cls, i: Invoice, stage: str | None = None) -> InvoiceRead:
        return cls(
            id=i.id, customer_id=i.customer_id, number=i.number, issue_date=i.issue_date,
            due_date=i.due_date, amount=format_amount(i.amount_cents), currency=i.currency,
            open_amount=format_amount(i.open_cents), status=i.status,
            payment_reference=i.payment_reference, description=i.description, pdf_url=i.pdf_url,
            paid_on=i.paid_on, fees=format_amount(i.fees_cents), costs=format_amount(i.costs_cents),
            interest=format_amount(i.interest_cents),
            dunning=DunningRead(
                stage=stage, step=i.dunning_step, next_action_on=i.next_action_on,
                paused_until=i.paused_until, pause_reason=i.pause_reason,
            ),
            created_at=i.created_at,
        )


class BulkItemResult(Struct, omit_defaults=True):
    index: int
    ok: bool
    status: int
    invoice: InvoiceRead | None = None
    error: dict[str, Any] | None = None


class BulkResult(Struct):
    items: list[BulkItemResult]
    created: int
    failed: int


class AllocationIn(Struct):
    invoice_id: str
    amount: Amount


class PaymentCreate(Struct):
    customer_id: str
    amount: Amount
    currency: Currency = "EUR"
    received_on: dt.date | None = None
    reference: Annotated[str, Meta(max_length=140)] | None = None
    allocations: list[AllocationIn] | None = None


class AllocationRead(Struct):
    invoice_id: str
    amount: str


class PaymentRead(Struct):
    id: str
    customer_id: str
    amount: str
    currency: str
    status: str
    method: str
    provider: str | None
    received_on: dt.date | None
    reference: str | None
    unallocated_amount: str
    allocations: list[AllocationRead]
    created_at: dt.datetime
    provider_payment_id: str | None = None
    refunded_amount: str = "0.00"

    @classmethod
    def of(cls, p: Payment, allocations: list[PaymentAllocation]) -> PaymentRead:
        return cls(
            id=p.id, customer_id=p.customer_id, amount=format_amount(p.amount_cents),
            currency=p.currency, status=p.status, method=p.method, provider=p.provider,
            received_on=p.received_on, reference=p.reference,
            unallocated_amount=format_amount(p.unallocated_cents),
            allocations=[AllocationRead(a.invoice_id, format_amount(a.amount_cents)) for a in allocations],
            created_at=p.created_at, provider_payment_id=p.provider_payment_id,
            refunded_amount=format_amount(p.refunded_cents),
        )


class StatementLineRead(Struct):
    invoice_id: str
    number: str
    issue_date: dt.date
    due_date: dt.date
    days_overdue: int
    status: str
    currency: str
    amount: str
    open_amount: str
    principal_open: str
    fees: str
    costs: str
    interest: str
    payment_reference: str | None


class StatementTotal(Struct):
    currency: str
    principal: str
    fees: str
    costs: str
    interest: str
    total: str


class CreditRead(Struct):
    """Money received from the customer that settles no invoice (yet): paid twice, paid too much."""

    currency: str
    amount: str


class StatementRead(Struct):
    customer: CustomerRead
    as_of: dt.date
    invoices: list[StatementLineRead]
    totals: list[StatementTotal]
    currency: str | None
    total: str | None
    credits: list[CreditRead] = msgspec.field(default_factory=list)
    # the customer's payment plans, newest first (issue 17; ``GET /arrangements`` for all of them)
    arrangements: list[ArrangementRead] = msgspec.field(default_factory=list)

    @classmethod
    def of(cls, s: Statement, org: Organisation) -> StatementRead:
        totals = [
            StatementTotal(
                currency=t.currency, principal=format_amount(t.principal_cents),
                fees=format_amount(t.fees_cents), costs=format_amount(t.costs_cents),
                interest=format_amount(t.interest_cents), total=format_amount(t.total_cents),
            )
            for t in s.totals.values()
        ]
        single = totals[0] if len(totals) == 1 else None
        return cls(
            customer=CustomerRead.of(s.customer, org),
            as_of=s.as_of,
            invoices=[
                StatementLineRead(
                    invoice_id=ln.invoice.id, number=ln.invoice.number,
                    issue_date=ln.invoice.issue_date, due_date=ln.invoice.due_date,
                    days_overdue=ln.days_overdue, status=ln.invoice.status,
                    currency=ln.invoice.currency, amount=format_amount(ln.invoice.amount_cents),
                    open_amount=format_amount(ln.invoice.open_cents),
                    principal_open=format_amount(ln.principal_open_cents),
                    fees=format_amount(ln.invoice.fees_cents),
                    costs=format_amount(ln.invoice.costs_cents),
                    interest=format_amount(ln.invoice.interest_cents),
                    payment_reference=ln.invoice.payment_reference,
                )
                for ln in s.lines
            ],
            totals=totals,
            currency=single.currency if single else None,
            total=single.total if single else ("0.00" if not totals else None),
            credits=[CreditRead(cur, format_amount(cents)) for cur, cents in sorted(s.credits.items()) if cents],
        )


class PortalLinkCreate(Struct):
    # Declared, not enforced by the decoder: the handler's own 422 names the range.
    expires_in_days: Annotated[int, Meta(description="1 to 365 days",
                                         extra_json_schema={"extra": {"minimum": 1, "maximum": 365}})] = 30


class PortalLinkRead(Struct):
    url: str
    expires_at: dt.datetime


class RevokeRead(Struct):
    revoked: bool
    link_version: int


class Page(Struct):
    items: list[Any]
    next_cursor: str | None


# A page of each kind, so the schema names what ``items`` holds (``next_cursor``: null on the last page).
class CustomerPage(Struct):
    items: list[CustomerRead]
    next_cursor: str | None


class InvoicePage(Struct):
    items: list[InvoiceRead]
    next_cursor: str | None


class PaymentPage(Struct):
    items: list[PaymentRead]
    next_cursor: str | None


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


class DetailWarning(Struct):
    """A detail the organisation's reminders need and that is not set (``domain.organisations.missing_details``)."""

    field: str
    code: str
    message: str


class OrganisationRead(Struct):
    """The organisation's own details, as its e-mails, letters and portal show them, and
    ``warnings``: what its reminders need that is not set yet (a Belgian creditor's enterprise
    number, the IBAN)."""

    id: str
    slug: str
    name: str
    email: str | None
    phone: str | None
    address: str | None
    iban: str | None
    kvk_number: str | None
    vat_number: str | None
    enterprise_number: str | None
    country: str
    created_at: dt.datetime
    warnings: list[DetailWarning] = []

    @classmethod
    def of(cls, o: Organisation) -> OrganisationRead:
        return cls(
            id=o.id, slug=o.slug, name=o.name, email=o.email, phone=o.phone, address=o.address, iban=o.iban,
            kvk_number=o.kvk_number, vat_number=o.vat_number, enterprise_number=o.enterprise_number,
            country=o.country or "NL", created_at=o.created_at,
            warnings=[DetailWarning(m.field, m.code, m.message) for m in organisations.missing_details(o)],
        )  # fmt: skip


class OrganisationPatch(Struct, forbid_unknown_fields=True):
    """Only the fields sent change; ``null`` or ``""`` clears one (not ``name`` or ``country``)."""

    name: str | UnsetType = UNSET
    email: str | UnsetType | None = UNSET
    phone: str | UnsetType | None = UNSET
    address: str | UnsetType | None = UNSET
    iban: str | UnsetType | None = UNSET
    kvk_number: str | UnsetType | None = UNSET
    vat_number: str | UnsetType | None = UNSET
    enterprise_number: str | UnsetType | None = UNSET
    country: str | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not UNSET}
