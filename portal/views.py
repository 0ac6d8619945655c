"""What the statement page shows, gathered in a handful of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import customers, debtor_requests, providers, statement
from domain.models import Customer, DebtorRequest, Invoice, Organisation
from portal import gateways
from portal.arrangement_view import context as plan_context

RECENT_PAYMENTS = 5


@dataclass
class RespondForm:
    """The dispute / extension / promise form: values entered and what was wrong with them."""

    kind: str = ""
    invoice_ids: list[str] = field(default_factory=list)
    reason: str = ""
    date: str = ""
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)


PAYABLE_HERE = ("open",)  # disputed: on hold; in_collection: paid to the agency, not here


def pay_all_ids(lines: list[statement.StatementLine]) -> dict[str, list[str]]:
    """Per currency, the invoices 'pay everything' covers: the open ones, disputed ones and
    ones handed to a collection agency left out. The form sends exactly these ids, so the
    amount on its button is the amount the checkout charges."""
    out: dict[str, list[str]] = {}
    for ln in lines:
        if ln.invoice.status in PAYABLE_HERE:
            out.setdefault(ln.invoice.currency, []).append(ln.invoice.id)
    return out


def date_window(org: Organisation, lines: list[statement.StatementLine], as_of: dt.date) -> dict[str, dt.date]:
    """``min``/``max`` of the date inputs: only dates the server accepts (``debtor_requests.create``).
    An extension's latest date counts from the earliest due date of the invoices it can be about."""
    open_lines = [ln.invoice for ln in lines if ln.invoice.status in PAYABLE_HERE]
    days = dt.timedelta(days=org.max_extension_days)
    ext = min((inv.due_date for inv in open_lines), default=as_of) + days
    return {
        "min": as_of + dt.timedelta(days=1),
        "extension": ext,
        "promise": as_of + days,
    }


def statement_context(
    db: Session,
    settings: Settings,
    customer: Customer,
    org: Organisation,
    as_of: dt.date,
    *,
    form: RespondForm | None = None,
    sent: DebtorRequest | None = None,
    pay_error: str | None = None,
) -> dict[str, Any]:
    view = statement.read(db, customer, as_of, payments=RECENT_PAYMENTS)
    st, requests = view.statement, view.requests
    numbers = {ln.invoice.id: ln.invoice.number for ln in st.lines}
    missing = {i for r in requests for i in r.invoice_ids} - numbers.keys()
    if missing:  # a request about an invoice settled since: rare, one more query
        found = db.execute(select(Invoice.id, Invoice.number).where(Invoice.org_id == org.id, Invoice.id.in_(missing)))
        numbers.update({inv_id: number for inv_id, number in found})
    offer = gateways.offer(settings, view.providers)
    country = customers.country_of(customer, org)
    payable = pay_all_ids(st.lines)
    amounts = {ln.invoice.id: ln.invoice.open_cents for ln in st.lines}
    return plan_context(db, customer, org, as_of, st.lines, view=view) | {
        "org": org,
        "customer": customer,
        "as_of": as_of,
        "lines": st.lines,
        "totals": list(st.totals.values()),
        "pay_all": [(cur, ids, sum(amounts[i] for i in ids)) for cur, ids in payable.items()],
        "has_disputed": any(ln.invoice.status == "disputed" for ln in st.lines),
        "has_collection": any(ln.invoice.status == "in_collection" for ln in st.lines),
        "dates": date_window(org, st.lines, as_of),
        "payments": view.payments,
        "requests": requests,
        "numbers": numbers,
        # A Belgian debtor sees the providers that take Bancontact first, and Bancontact first in each.
        "providers": providers.providers_for(offer.providers, offer.methods, country),
        "provider_methods": {p: providers.methods_for(m, country) for p, m in offer.methods.items()},
        "form": form or RespondForm(),
        "sent": sent,
        "pay_error": pay_error,
        "max_extension_days": org.max_extension_days,
        "reasons": debtor_requests.REASONS,
        "kinds": debtor_requests.KINDS,
        "book_xix_until": book_xix_until(org, customer, st.lines, as_of),
        "letters": view.letters,  # the formal notices, as PDF
    }


def book_xix_until(org: Organisation, customer: Customer, lines: list[statement.StatementLine],
                   as_of: dt.date) -> dt.date | None:  # fmt: skip
    """The last day of a Belgian consumer's running waiting period after a first reminder (art. XIX.2
    WER), during which the consumer may ask for a payment plan; None when none runs. Read off the
    statement's open invoices: those reminded (``notice_sent_on``) whose damages are not charged yet
    and may be charged from a day after today (``costs_due_on``)."""
    if org.country != "BE" or customer.kind != "consumer":
        return None
    damages_from = max(
        (inv.costs_due_on for inv in (ln.invoice for ln in lines)
         if inv.status == "open" and inv.costs_cents == 0 and inv.notice_sent_on is not None
         and inv.costs_due_on is not None and inv.costs_due_on > as_of),
        default=None,
    )  # fmt: skip
    return damages_from - dt.timedelta(days=1) if damages_from is not None else None
