"""The account statement: what a customer owes today, invoice by invoice.

Principal, collection costs, step fees and statutory interest are shown
separately, because Dutch law requires a debtor to see what each part is
before being asked to pay it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from domain import letters
from domain.arrangement_models import LIVE, Arrangement, ArrangementTerms
from domain.invoices import UNSETTLED
from domain.models import Customer, DebtorRequest, Invoice, Letter, Payment, ProviderAccount


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """What a statement shows of an open invoice: plain columns, read without the ORM."""

    id: str
    number: str
    issue_date: dt.date
    due_date: dt.date
    currency: str
    amount_cents: int
    open_cents: int
    fees_cents: int
    costs_cents: int
    interest_cents: int
    status: str
    paused_until: dt.date | None
    payment_reference: str | None
    pdf_url: str | None
    notice_sent_on: dt.date | None = None
    costs_due_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class RecentPayment:
    id: str
    amount_cents: int
    currency: str
    status: str
    received_on: dt.date | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PortalLetter:
    """A formal notice the debtor can open as the PDF that was posted (``domain.letters``)."""

    id: str
    kind: str
    letter_date: dt.date
    posted_on: dt.date | None


@dataclass(frozen=True, slots=True)
class TermsRow:
    """An organisation's payment-plan terms as read (``domain.arrangements.Terms.of`` takes it):
    the default row has no ``policy_id``, a policy's own row overrides it for its customers."""

    policy_id: str | None
    allowed: bool
    min_balance_cents: int
    max_instalments: int
    max_term_months: int
    min_instalment_cents: int
    intervals: list[str]
    first_within_days: int
    outside: str
    reminder_days_before: int
    missed_after_days: int
    broken_after_days: int


@dataclass(frozen=True, slots=True)
class RecentRequest:
    id: str
    kind: str
    status: str
    requested_date: dt.date | None
    invoice_ids: list[str]
    created_at: dt.datetime


@dataclass(frozen=True)
class StatementLine:
    invoice: Invoice | OpenInvoice
    days_overdue: int
    principal_open_cents: int
    extras_open_cents: int


@dataclass
class CurrencyTotal:
    currency: str
    principal_cents: int = 0
    costs_cents: int = 0
    fees_cents: int = 0
    interest_cents: int = 0
    total_cents: int = 0


@dataclass
class Statement:
    customer: Customer
    as_of: dt.date
    lines: list[StatementLine] = field(default_factory=list)
    totals: dict[str, CurrencyTotal] = field(default_factory=dict)
    # Money received that settles no invoice, per currency: a payment for invoices that were
    # meanwhile paid another way, an overpayment. The customer's, never lost.
    credits: dict[str, int] = field(default_factory=dict)


def split_open(invoice: Invoice | OpenInvoice) -> tuple[int, int]:
    """Split what is open into principal and extras (fees, costs, interest).

    Art. 6:44 BW: a payment goes first to costs, then to interest, then to the
    principal, so extras are the first thing a payment clears.
    """
    extras = invoice.fees_cents + invoice.costs_cents + invoice.interest_cents
    paid = invoice.amount_cents + extras - invoice.open_cents
    extras_open = max(0, extras - paid)
    return invoice.open_cents - extras_open, extras_open


def build(session: Session, customer: Customer, as_of: dt.date) -> Statement:
    invoices = session.scalars(
        select(Invoice)
        .where(
            Invoice.org_id == customer.org_id,
            Invoice.customer_id == customer.id,
            Invoice.status.in_(UNSETTLED),
            Invoice.open_cents > 0,
        )
        .order_by(Invoice.due_date, Invoice.number)
    )
    return assemble(customer, as_of, invoices, credits(session, customer))


def assemble(customer: Customer, as_of: dt.date, invoices: Iterable[Invoice | OpenInvoice],
             credit: dict[str, int]) -> Statement:  # fmt: skip
    """The statement of ``invoices`` (open ones, in the order shown) and the customer's credit."""
    statement = Statement(customer=customer, as_of=as_of)
    for inv in invoices:
        principal, extras = split_open(inv)
        statement.lines.append(
            StatementLine(
                invoice=inv,
                days_overdue=max(0, (as_of - inv.due_date).days),
                principal_open_cents=principal,
                extras_open_cents=extras,
            )
        )
        total = statement.totals.setdefault(inv.currency, CurrencyTotal(inv.currency))
        total.principal_cents += principal
        if extras:
            # Extras still open are reported in the order they were charged.
            total.fees_cents += min(inv.fees_cents, extras)
            rest = extras - min(inv.fees_cents, extras)
            total.costs_cents += min(inv.costs_cents, rest)
            total.interest_cents += rest - min(inv.costs_cents, rest)
        total.total_cents += inv.open_cents
    statement.credits = credit
    return statement


def credits(session: Session, customer: Customer) -> dict[str, int]:
    """The customer's unallocated credit per currency (see ``Statement.credits``)."""
    rows = session.execute(
        select(Payment.currency, func.sum(Payment.unallocated_cents))
        .where(
            Payment.org_id == customer.org_id,
            Payment.customer_id == customer.id,
            Payment.status == "paid",
            Payment.unallocated_cents > 0,
        )
        .group_by(Payment.currency)
    )
    return {currency: int(cents) for currency, cents in rows}


# --- the portal's read model: everything the statement page shows, in one query ---------------


@dataclass(frozen=True, slots=True)
class ProviderSetting:
    """An organisation's account at a payment provider, as the pay buttons need it (no secrets)."""

    provider: str
    methods: list[str]
    enabled: bool
    has_key: bool


@dataclass
class StatementView:
    statement: Statement
    payments: list[RecentPayment]
    requests: list[RecentRequest]
    providers: list[ProviderSetting]
    # What the portal shows beside the statement: the live payment plan's id (its schedule is read
    # only when there is one), the plan terms, the formal notices to open as PDF.
    plan_id: str | None = None
    terms: list[TermsRow] = field(default_factory=list)
    letters: list[PortalLetter] = field(default_factory=list)


_S, _T, _D, _TS, _N = String(), Text(), Date(), DateTime(timezone=True), BigInteger()


def _row(kind: str, id_: Any = None, s: tuple[Any, ...] = (), d: tuple[Any, ...] = (), n: tuple[Any, ...] = (),
         ts: Any = None) -> list[Any]:  # fmt: skip
    """One arm of the union: the same columns in every arm (texts, dates, numbers, a time).

    A real column is typed on the Python side only (``type_coerce``: SQLite turns
    ``CAST(… AS DATE)`` into a number); a placeholder is a typed ``CAST(NULL AS …)``, since
    PostgreSQL makes an untyped NULL in a sub-select text."""

    def col(value: Any, kind: Any) -> Any:
        return cast(null(), kind) if value is None else type_coerce(value, kind)

    def pad(values: tuple[Any, ...], width: int, kind: Any) -> list[Any]:
        return [col(v, kind) for v in (*values, *[None] * (width - len(values)))]

    columns = [literal(kind, _S), col(id_, _S), *pad(s, 6, _T), *pad(d, 5, _D), *pad(n, 9, _N), col(ts, _TS)]
    return [c.label(f"c{i}") for i, c in enumerate(columns)]  # named, so no two NULLs share a name


@functools.cache
def _query() -> Any:
    """The read model's statement, built once: its parameters are bound per call."""
    org, customer = bindparam("org", "", _S), bindparam("customer", "", _S)  # bound per call in ``read``
    mine_inv = (Invoice.org_id == org, Invoice.customer_id == customer)
    mine_pay = (Payment.org_id == org, Payment.customer_id == customer)
    inv = select(*_row(
        "i", Invoice.id,
        s=(Invoice.number, Invoice.currency, Invoice.status, Invoice.payment_reference, Invoice.pdf_url),
        d=(Invoice.issue_date, Invoice.due_date, Invoice.paused_until, Invoice.notice_sent_on, Invoice.costs_due_on),
        n=(Invoice.amount_cents, Invoice.open_cents, Invoice.fees_cents, Invoice.costs_cents, Invoice.interest_cents),
    )).where(*mine_inv, Invoice.status.in_(UNSETTLED), Invoice.open_cents > 0)  # fmt: skip
    pay = (
        select(*_row("p", Payment.id, s=(Payment.currency, Payment.status), d=(Payment.received_on,),
                     n=(Payment.amount_cents,), ts=Payment.created_at))
        .where(*mine_pay, Payment.status.in_(("paid", "pending")))
        .order_by(Payment.created_at.desc(), Payment.id.desc()).limit(bindparam("payments", 0, _N)).subquery()
    )  # fmt: skip
    req = (
        select(*_row("r", DebtorRequest.id, s=(DebtorRequest.kind, DebtorRequest.status,
                                                cast(DebtorRequest.invoice_ids, _T)),
                     d=(DebtorRequest.requested_date,), ts=DebtorRequest.created_at))
        .where(DebtorRequest.org_id == org, DebtorRequest.customer_id == customer)
        .order_by(DebtorRequest.created_at.desc(), DebtorRequest.id.desc())
        .limit(bindparam("requests", 0, _N)).subquery()
    )  # fmt: skip
    cred = (
        select(*_row("c", s=(Payment.currency,), n=(cast(func.sum(Payment.unallocated_cents), _N),)))
        .where(*mine_pay, Payment.status == "paid", Payment.unallocated_cents > 0)
        .group_by(Payment.currency)
    )
    # The pay buttons: read in the same round trip rather than cached, so a provider switched
    # on or off (API, CLI, another worker) shows on the next view in every process.
    prov = select(*_row("v", ProviderAccount.provider, s=(cast(ProviderAccount.methods, _T),),
                        n=(case((ProviderAccount.enabled.is_(True), 1), else_=0),
                           case((ProviderAccount.api_key.is_not(None), 1), else_=0)))
                  ).where(ProviderAccount.org_id == org)  # fmt: skip
    # The payment plan running or proposed (its schedule is a second query, only when there is
    # one), the plan terms (a few rows an organisation), the formal notices the debtor can open.
    plan = select(*_row("a", Arrangement.id)).where(
        Arrangement.org_id == org, Arrangement.customer_id == customer, Arrangement.status.in_(LIVE))
    flag = case((ArrangementTerms.allowed.is_(True), 1), else_=0)
    terms = select(*_row(
        "t", ArrangementTerms.policy_id, s=(cast(ArrangementTerms.intervals, _T), ArrangementTerms.outside),
        n=(flag, ArrangementTerms.min_balance_cents, ArrangementTerms.max_instalments, ArrangementTerms.max_term_months,
           ArrangementTerms.min_instalment_cents, ArrangementTerms.first_within_days,
           ArrangementTerms.reminder_days_before, ArrangementTerms.missed_after_days,
           ArrangementTerms.broken_after_days),
    )).where(ArrangementTerms.org_id == org)  # fmt: skip
    notices = select(*_row("l", Letter.id, s=(Letter.kind,), d=(Letter.letter_date, Letter.posted_on))).where(
        Letter.org_id == org, Letter.customer_id == customer, Letter.kind.in_(letters.PORTAL_KINDS))
    return union_all(inv, select(pay), select(req), cred, prov, plan, terms, notices)


@functools.lru_cache(maxsize=8)
def _compiled(dialect: Any) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
    """The statement as the driver's SQL, compiled once per dialect: building and cache-keying
    a five-arm union on every view cost ten times the query itself."""
    compiled = _query().compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return compiled.string, compiled.construct_params(), compiled.positiontup


def _day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _moment(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def read(session: Session, customer: Customer, as_of: dt.date, *, payments: int = 5,
         requests: int = 10) -> StatementView:  # fmt: skip
    """The statement with the latest ``payments`` and ``requests``, in one round trip.

    A UNION ALL of five arms with one column layout: the open invoices, the recent payments,
    the recent requests, the credit per currency and the provider accounts. The page is what
    most debtors open the morning after a run; eight ORM queries per view were most of its
    time. Driver values come back raw (SQLite gives dates as text), hence ``_day``/``_moment``."""
    connection = session.connection()
    sql, defaults, positions = _compiled(connection.dialect)
    values = {**defaults, "org": customer.org_id, "customer": customer.id, "payments": payments,
              "requests": requests}  # fmt: skip
    params: Any = tuple(values[name] for name in positions) if positions is not None else values
    rows = connection.exec_driver_sql(sql, params).all()
    open_invoices: list[OpenInvoice] = []
    recent_payments: list[RecentPayment] = []
    recent_requests: list[RecentRequest] = []
    credit: dict[str, int] = {}
    settings: list[ProviderSetting] = []
    plan_id: str | None = None
    terms: list[TermsRow] = []
    notices: list[PortalLetter] = []
    for k, id_, s1, s2, s3, s4, s5, _s6, d1, d2, d3, d4, d5, n1, n2, n3, n4, n5, n6, n7, n8, n9, ts in rows:
        if k == "i":
            open_invoices.append(OpenInvoice(id_, s1, _day(d1), _day(d2), s2, n1, n2, n3, n4, n5, s3,  # type: ignore[arg-type]
                                             _day(d3), s4, s5, _day(d4), _day(d5)))  # fmt: skip
        elif k == "p":
            recent_payments.append(RecentPayment(id_, n1, s1, s2, _day(d1), _moment(ts)))
        elif k == "r":
            ids = json.loads(s3) if s3 else []
            recent_requests.append(RecentRequest(id_, s1, s2, _day(d1), [str(i) for i in ids], _moment(ts)))
        elif k == "c":
            credit[s1] = int(n1)
        elif k == "v":
            settings.append(ProviderSetting(id_, [str(m) for m in json.loads(s1 or "[]")], bool(n1), bool(n2)))
        elif k == "a":
            plan_id = id_
        elif k == "t":
            terms.append(TermsRow(id_, bool(n1), n2, n3, n4, n5, [str(i) for i in json.loads(s1 or "[]")], n6, s2,
                                  n7, n8, n9))  # fmt: skip
        else:
            notices.append(PortalLetter(id_, s1, _day(d1), _day(d2)))  # type: ignore[arg-type]
    open_invoices.sort(key=lambda i: (i.due_date, i.number))
    recent_payments.sort(key=lambda p: (p.created_at, p.id), reverse=True)
    recent_requests.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    notices.sort(key=lambda letter: (letter.letter_date, letter.id), reverse=True)
    return StatementView(assemble(customer, as_of, open_invoices, credit), recent_payments, recent_requests,
                         settings, plan_id, terms, notices)  # fmt: skip
