"""Payments a debtor starts from the portal, and how a provider's answer registers them.

``start`` records what the debtor chose to pay: a ``Payment`` in status
``pending`` for the open amount of the chosen invoices, with the provider
named and the invoices kept in ``requested_invoice_ids``. The edge then asks
the provider (``domain.gateway``) for a checkout and ``attach``-es it.

``apply_status`` is the one door through which a provider's verdict (webhook,
return page, the sandbox) enters. It converges: statuses only move up
``pending`` < ``failed``/``canceled``/``expired`` < ``paid``, whatever order
the notices arrive in, and the move is a compare-and-set in the database, so
of two concurrent notices exactly one wins. The first time a payment becomes
``paid`` it is allocated to the chosen invoices (oldest first; whatever is no
longer open stays on the payment as unallocated credit), events are recorded
and one thank-you e-mail is queued in the outbox. Never twice.

``apply_reversals`` is the way back: a refund or a charge-back takes money
back from a paid payment. What was never allocated goes first; then the
allocations are undone newest invoice first, the invoices reopen and their
dunning track resumes where it stood (a step that fell due meanwhile comes on
the next run). The provider's running totals make it converge the same way:
only the growth over what was already taken back moves money.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from domain import arrangements, outbox
from domain.dunning.messages import Rendered
from domain.errors import ValidationError
from domain.events import record
from domain.gateway import PROVIDERS, Checkout, ProviderStatus
from domain.invoices import UNSETTLED
from domain.locales import language
from domain.models import Customer, Invoice, Organisation, OutboxMessage, Payment, PaymentAllocation, utcnow
from domain.payment_reference import reference_kind
from domain.payments import open_invoices, settle
from domain.policies import policy_for, schedule

RANK = {"pending": 0, "failed": 1, "canceled": 1, "expired": 1, "paid": 2}


@dataclass(frozen=True)
class ReceiptLine:
    number: str
    currency: str
    paid_cents: int
    open_cents: int  # still open on the invoice after this payment


@dataclass(frozen=True)
class Receipt:
    """What a thank-you e-mail says."""

    org: Organisation
    customer: Customer
    payment: Payment
    lines: list[ReceiptLine]
    unallocated_cents: int
    as_of: dt.date
    portal_url: str

    @property
    def locale(self) -> str:
        return language(self.customer.locale)


class ReceiptComposer(Protocol):
    """Supplied by the caller: a portal link and the words of a thank-you e-mail."""

    def portal_url(self, session: Session, customer: Customer) -> str: ...

    def thank_you(self, receipt: Receipt) -> Rendered: ...


def payable(session: Session, customer: Customer) -> list[Invoice]:
    """The customer's invoices with something open, oldest first."""
    return list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.org_id == customer.org_id,
                Invoice.customer_id == customer.id,
                Invoice.status.in_(UNSETTLED),
                Invoice.open_cents > 0,
            )
            .order_by(Invoice.due_date, Invoice.issue_date, Invoice.number)
        )
    )


def chosen(session: Session, customer: Customer, invoice_ids: list[str]) -> list[Invoice]:
    """The invoices a debtor chose, each checked to be an open invoice of *this* customer.

    None chosen means everything open except what the debtor disputes. The message
    never says whether an id exists elsewhere."""
    candidates = payable(session, customer)
    if not invoice_ids:
        picked = [inv for inv in candidates if inv.status != "disputed"] or candidates
    else:
        by_id = {inv.id: inv for inv in candidates}
        unknown = [i for i in invoice_ids if i not in by_id]
        if unknown:
            raise ValidationError("choose among your open invoices", "invoice_ids")
        wanted = set(invoice_ids)
        picked = [inv for inv in candidates if inv.id in wanted]
    if not picked:
        raise ValidationError("there is nothing open to pay", "invoice_ids")
    if len({inv.currency for inv in picked}) > 1:
        raise ValidationError("pay invoices in different currencies one currency at a time", "invoice_ids")
    return picked


def description(org: Organisation, invoices: list[Invoice]) -> str:
    """``Org: F-1, F-2``: what the payer sees at the provider and on a bank statement. An invoice with
    a Belgian structured communication names it (``F-1 +++123/4567/89002+++``), so the creditor's
    bookkeeping finds the invoice in the provider's payout as in a bank transfer."""
    numbers = ", ".join(
        f"{inv.number} {inv.payment_reference}" if reference_kind(inv.payment_reference or "") == "ogm" else inv.number
        for inv in invoices
    )
    text = f"{org.name}: {numbers}"
    return text if len(text) <= 200 else text[:197] + "..."


def structured_reference(session: Session, payment: Payment) -> str | None:
    """The OGM of the invoices ``payment`` is for (comma-separated when several carry one; ``None``
    when none does), for the provider's metadata (``domain.gateway.CheckoutHints``)."""
    if not payment.requested_invoice_ids:
        return None
    refs = session.scalars(
        select(Invoice.payment_reference).where(
            Invoice.org_id == payment.org_id, Invoice.id.in_(payment.requested_invoice_ids)
        ).order_by(Invoice.due_date, Invoice.number)
    )
    ogms = [r for r in refs if r and reference_kind(r) == "ogm"]
    return ", ".join(ogms)[:500] or None


def start(
    session: Session, customer: Customer, invoice_ids: list[str], provider: str, *, amount_cents: int | None = None
) -> Payment:
    """A pending payment for the open amount of the chosen invoices, or for ``amount_cents`` of
    it (a payment plan's instalment: ``domain.arrangements.instalment_payment``)."""
    if provider not in PROVIDERS:
        raise ValidationError(f"provider must be one of {', '.join(PROVIDERS)}", "provider")
    invoices = chosen(session, customer, invoice_ids)
    org = session.get_one(Organisation, customer.org_id)
    open_total = sum(inv.open_cents for inv in invoices)
    if amount_cents is not None and not 0 < amount_cents <= open_total:
        raise ValidationError("the amount must be more than nothing and at most what is open", "amount")
    payment = Payment(
        org_id=customer.org_id,
        customer_id=customer.id,
        amount_cents=open_total if amount_cents is None else amount_cents,
        currency=invoices[0].currency,
        status="pending",
        method=provider,
        provider=provider,
        requested_invoice_ids=[inv.id for inv in invoices],
        unallocated_cents=0,
        refunded_cents=0,
        reference=description(org, invoices),
    )
    session.add(payment)
    session.flush()
    record(
        session, customer.org_id, "portal.payment_started", payment, actor=f"customer:{customer.id}",
        provider=provider, amount_cents=payment.amount_cents, currency=payment.currency,
        invoices=[inv.number for inv in invoices],
    )  # fmt: skip
    return payment


def attach(session: Session, payment: Payment, checkout: Checkout) -> None:
    payment.provider_payment_id = checkout.provider_payment_id
    payment.checkout_url = checkout.checkout_url
    record(session, payment.org_id, "payment.checkout_created", payment, provider=payment.provider,
           provider_payment_id=checkout.provider_payment_id)  # fmt: skip


def find(session: Session, org_id: str, provider: str, provider_payment_id: str) -> Payment | None:
    return session.scalar(
        select(Payment).where(
            Payment.org_id == org_id,
            Payment.provider == provider,
            Payment.provider_payment_id == provider_payment_id,
        )
    )


def _claim(session: Session, payment: Payment, status: ProviderStatus) -> bool:
    """Move the status up, once: a compare-and-set that only one concurrent caller wins."""
    while RANK[status] > RANK.get(payment.status, 0):
        current = payment.status
        moved = session.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.status == current)
            .values(status=status, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            set_committed_value(payment, "status", status)
            return True
        session.refresh(payment)  # someone else moved it meanwhile: look again
    return False


def apply_status(
    session: Session, payment: Payment, status: ProviderStatus, as_of: dt.date, *, composer: ReceiptComposer
) -> bool:
    """Register what the provider says about ``payment``; ``True`` if anything changed."""
    if status not in RANK:
        raise ValidationError(f"unknown payment status {status!r}", "status")
    if not _claim(session, payment, status):
        return False
    if status != "paid":
        record(session, payment.org_id, f"payment.{status}", payment, provider=payment.provider)
        return True
    payment.received_on = as_of
    lines = _allocate(session, payment)
    arrangements.settle_paid(session, payment.org_id, [payment.customer_id], as_of)  # a plan's instalments
    record(
        session, payment.org_id, "payment.paid", payment, provider=payment.provider,
        amount_cents=payment.amount_cents, unallocated_cents=payment.unallocated_cents,
        allocated=[{"invoice": ln.number, "amount_cents": ln.paid_cents} for ln in lines],
    )  # fmt: skip
    _thank(session, payment, lines, as_of, composer)
    return True


def _allocate(session: Session, payment: Payment) -> list[ReceiptLine]:
    """Settle the requested invoices oldest first; the rest stays as unallocated credit."""
    wanted = set(payment.requested_invoice_ids or [])
    remaining = payment.amount_cents
    lines: list[ReceiptLine] = []
    for invoice in open_invoices(session, payment.org_id, payment.customer_id, payment.currency):
        if invoice.id not in wanted or remaining == 0:
            continue
        cents = min(remaining, invoice.open_cents)
        settle(session, invoice, cents, payment)
        remaining -= cents
        lines.append(ReceiptLine(invoice.number, invoice.currency, cents, invoice.open_cents))
    payment.unallocated_cents = remaining
    return lines


def _thank(
    session: Session, payment: Payment, lines: list[ReceiptLine], as_of: dt.date, composer: ReceiptComposer
) -> OutboxMessage:
    customer = session.get_one(Customer, payment.customer_id)
    org = session.get_one(Organisation, payment.org_id)
    receipt = Receipt(org=org, customer=customer, payment=payment, lines=lines,
                      unallocated_cents=payment.unallocated_cents, as_of=as_of,
                      portal_url=composer.portal_url(session, customer))  # fmt: skip
    rendered = composer.thank_you(receipt)
    message = outbox.add(
        session, org_id=org.id, customer_id=customer.id, kind="thank_you", key=outbox.thank_you_key(payment.id),
        to=customer.email, subject=rendered.subject, text=rendered.text, html=rendered.html,
    )  # fmt: skip
    record(session, org.id, "payment.thanked", payment, message_id=message.id)
    return message


def fail_start(session: Session, payment: Payment, reason: str) -> None:
    """The provider would not open a checkout: the payment fails before anyone paid."""
    if payment.status == "pending":
        payment.status = "failed"
        record(session, payment.org_id, "payment.failed", payment, provider=payment.provider, reason=reason[:500])


def apply_reversals(session: Session, payment: Payment, reversals: Mapping[str, int], as_of: dt.date) -> bool:
    """Take back what the provider refunded or lost to a charge-back; ``True`` if anything moved.

    ``reversals`` are running totals per provider reference (see ``domain.gateway``). Only a paid
    payment has anything to take back; the total never exceeds the amount paid."""
    while payment.status == "paid":
        known: dict[str, int] = {k: int(v) for k, v in (payment.reversals or {}).items()}
        merged = dict(known)
        for ref, cents in reversals.items():
            if cents > merged.get(ref, 0):
                merged[ref] = int(cents)
        total = min(sum(merged.values()), payment.amount_cents)
        before = payment.refunded_cents
        if total <= before:
            return False
        moved = session.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.refunded_cents == before)
            .values(refunded_cents=total, reversals=merged, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            session.refresh(payment)  # another notice took something back meanwhile: look again
            continue
        set_committed_value(payment, "refunded_cents", total)
        set_committed_value(payment, "reversals", merged)
        reopened = _take_back(session, payment, total - before, as_of)
        record(
            session, payment.org_id, "payment.reversed", payment, provider=payment.provider,
            reversed_cents=total - before, refunded_cents=total,
            references=sorted(ref for ref in merged if merged[ref] != known.get(ref, 0)),
            reopened=[{"invoice": inv.number, "amount_cents": cents} for inv, cents in reopened],
        )  # fmt: skip
        return True
    return False


def _take_back(session: Session, payment: Payment, cents: int, as_of: dt.date) -> list[tuple[Invoice, int]]:
    """Undo ``cents`` of ``payment``: its unallocated credit first, then its allocations, newest
    invoice first, each undone by a negative allocation so the history stays readable."""
    from_credit = min(cents, payment.unallocated_cents)
    payment.unallocated_cents -= from_credit
    cents -= from_credit
    if cents == 0:
        return []
    net: dict[str, int] = {}
    for alloc in session.scalars(select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id)):
        net[alloc.invoice_id] = net.get(alloc.invoice_id, 0) + alloc.amount_cents
    invoices = session.scalars(
        select(Invoice)
        .where(Invoice.id.in_([i for i, c in net.items() if c > 0]))
        .order_by(Invoice.due_date.desc(), Invoice.issue_date.desc(), Invoice.number.desc())
        .with_for_update()
    ).all()
    reopened: list[tuple[Invoice, int]] = []
    customer = session.get_one(Customer, payment.customer_id)
    policy = policy_for(session, customer) if invoices else None
    for invoice in invoices:
        if cents == 0:
            break
        back = min(cents, net[invoice.id])
        session.add(PaymentAllocation(org_id=payment.org_id, payment_id=payment.id, invoice_id=invoice.id,
                                      amount_cents=-back))  # fmt: skip
        invoice.open_cents += back
        cents -= back
        if invoice.status == "paid":
            invoice.status = "open"
            invoice.paid_on = None
            schedule(invoice, policy)
        record(session, payment.org_id, "invoice.reopened", invoice, payment_id=payment.id, amount_cents=back,
               as_of=as_of.isoformat())  # fmt: skip
        reopened.append((invoice, back))
    return reopened
