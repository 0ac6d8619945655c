"""Request and response shapes. Money travels as two-decimal strings; ORM objects never leave."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from msgspec import UNSET, Struct, UnsetType

from domain.models import Customer, Invoice, Organisation, Payment, PaymentAllocation
from domain.money import format_amount
from domain.statement import Statement


class CustomerCreate(Struct):
    name: str
    external_ref: str | None = None
    email: str | None = None
    phone: str | None = None
    kind: str = "business"
    locale: str = "nl"
    payment_term_days: int | None = None
    policy_id: str | None = None
    address: str | None = None


class CustomerPatch(Struct):
    name: str | UnsetType = UNSET
    external_ref: str | UnsetType | None = UNSET
    email: str | UnsetType | None = UNSET
    phone: str | UnsetType | None = UNSET
    kind: str | UnsetType = UNSET
    locale: str | UnsetType = UNSET
    payment_term_days: int | UnsetType | None = UNSET
    policy_id: str | UnsetType | None = UNSET
    address: str | UnsetType | None = UNSET

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

    @classmethod
    def of(cls, c: Customer) -> CustomerRead:
        return cls(
            id=c.id, external_ref=c.external_ref, name=c.name, email=c.email, phone=c.phone,
            kind=c.kind, locale=c.locale, payment_term_days=c.payment_term_days,
            policy_id=c.policy_id, address=c.address, created_at=c.created_at,
        )


class InvoiceCreate(Struct):
    number: str
    issue_date: dt.date
    amount: str
    currency: str = "EUR"
    customer_id: str | None = None
    customer_external_ref: str | None = None
    due_date: dt.date | None = None
    open_amount: str | None = None
    payment_reference: str | None = None
    description: str | None = None
    pdf_url: str | None = None


class InvoiceBulk(Struct):
    items: list[dict[str, Any]]


class PauseRequest(Struct):
    until: dt.date
    reason: str | None = None


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
    amount: str


class PaymentCreate(Struct):
    customer_id: str
    amount: str
    currency: str = "EUR"
    received_on: dt.date | None = None
    reference: str | None = None
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

    @classmethod
    def of(cls, s: Statement) -> StatementRead:
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
            customer=CustomerRead.of(s.customer),
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
    expires_in_days: int = 30


class PortalLinkRead(Struct):
    url: str
    expires_at: dt.datetime


class RevokeRead(Struct):
    revoked: bool
    link_version: int


class Page(Struct):
    items: list[Any]
    next_cursor: str | None


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


class OrganisationRead(Struct):
    """The organisation's own details, as its e-mails, letters and portal show them."""

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

    @classmethod
    def of(cls, o: Organisation) -> OrganisationRead:
        return cls(
            id=o.id, slug=o.slug, name=o.name, email=o.email, phone=o.phone, address=o.address, iban=o.iban,
            kvk_number=o.kvk_number, vat_number=o.vat_number, enterprise_number=o.enterprise_number,
            country=o.country or "NL", created_at=o.created_at,
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
