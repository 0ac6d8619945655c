"""Letters by post: the day's print batch, and the day it was posted.

Every letter the dunning run writes (a formal notice, a hand-over, any step a policy sends by
``letter``) is a ``Document`` with its HTML and a ``Letter`` row that puts it in the print batch
of its day. Printing the batch (``settle letters --date D``) renders the documents to one PDF;
marking it posted (``settle letters --mark-posted D``, ``POST /api/v1/letters/mark-posted``)
records the day it went to the post on each letter.

That day is what the law counts from. A letter counts as sent when it is posted, not when it
was written: ``mark_posted`` moves a consumer's fourteen-day term (art. 6:96 lid 6 BW, see
``domain.law.consumer_notice``) to count from the posting day when that is later than the day
planned, and ``posted_on`` gives other terms (the Belgian third working day after a paper
reminder, Book XIX WER) the date to count from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from domain.errors import NotFound, ValidationError
from domain.ids import new_id
from domain.law import be as be_law
from domain.law.consumer_notice import earliest_costs_date
from domain.models import Customer, Document, Event, Invoice, Letter, Organisation, OutboxMessage, utcnow
from domain.policies import PolicyBook

PENDING, POSTED = "pending", "posted"
NO_ADDRESS = 'data-address="missing"'  # what letters/letter.html.j2 marks a window without an address with
STATUSES = (PENDING, POSTED)


def parse_day(value: str, field: str) -> dt.date:
    """A ``YYYY-MM-DD`` day from the command line or a query; anything else names ``field``."""
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{value!r} is not a date of the form YYYY-MM-DD", field) from None


def row(
    *, org_id: str, customer_id: str, document_id: str, message_id: str | None, kind: str, letter_date: dt.date,
    invoice_ids: Sequence[str], invoice_numbers: Sequence[str], created_at: dt.datetime,
) -> dict[str, Any]:  # fmt: skip
    """The letter row for one letter document, to be inserted with the documents of a render."""
    return {
        "id": new_id("let"), "org_id": org_id, "customer_id": customer_id, "document_id": document_id,
        "message_id": message_id, "kind": kind, "letter_date": letter_date, "status": PENDING, "pages": None,
        "invoice_ids": list(invoice_ids), "invoice_numbers": list(invoice_numbers), "posted_on": None,
        "created_at": created_at,
    }  # fmt: skip


def insert_rows(conn: Any, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(Letter), list(rows))


def listed(session: Session, org_id: str, *, day: dt.date | None = None, status: str | None = None) -> Any:
    """The statement listing an organisation's letters (oldest first by id), filtered."""
    if status is not None and status not in STATUSES:
        raise ValidationError("status must be 'pending' or 'posted'", "status")
    stmt = select(Letter).where(Letter.org_id == org_id)
    if day is not None:
        stmt = stmt.where(Letter.letter_date == day)
    if status is not None:
        stmt = stmt.where(Letter.status == status)
    return stmt


def get(session: Session, org_id: str, letter_id: str) -> Letter:
    found = session.get(Letter, letter_id)
    if found is None or found.org_id != org_id:
        raise NotFound(f"no letter {letter_id!r}", "letter_id")
    return found


def html_of(session: Session, letter: Letter) -> str:
    return str(session.scalar(select(Document.html).where(Document.id == letter.document_id)))


# The letters a debtor can open on the portal as PDF (``domain.statement.read`` lists them): the
# formal notices, whose content the law prescribes; the hand-over notice goes to the agency's file.
PORTAL_KINDS = ("formal_notice",)


@dataclass(frozen=True)
class BatchLetter:
    """One letter of a print batch with what its manifest line says."""

    letter: Letter
    customer_name: str
    customer_ref: str | None
    html: str
    has_address: bool  # the letter was written with a postal address in its window


def batch(session: Session, org_id: str, day: dt.date) -> list[BatchLetter]:
    """The letters of ``day``, in print order (by customer name, then id): one query."""
    rows = session.execute(
        select(Letter, Customer.name, Customer.external_ref, Document.html)
        .join(Customer, Customer.id == Letter.customer_id)
        .join(Document, Document.id == Letter.document_id)
        .where(Letter.org_id == org_id, Letter.letter_date == day)
        .order_by(Customer.name, Letter.id)
    ).all()
    return [BatchLetter(letter, name, ref, html, NO_ADDRESS not in html) for letter, name, ref, html in rows]


_PAGES = update(Letter).where(Letter.id == bindparam("b_id")).values(pages=bindparam("b_pages"))


def record_pages(session: Session, pages: dict[str, int]) -> None:
    """Store each letter's page count (one statement for the batch)."""
    if pages:
        session.connection().execute(_PAGES, [{"b_id": k, "b_pages": v} for k, v in sorted(pages.items())])


@dataclass(frozen=True)
class Posted:
    day: dt.date
    posted_on: dt.date
    posted: int  # letters marked posted now
    already: int  # letters of the day posted before
    terms_moved: int  # consumers' invoices whose fourteen-day term now counts from posting


def mark_posted(session: Session, org_id: str, day: dt.date, *, posted_on: dt.date, today: dt.date,
                actor: str | None = None) -> Posted:  # fmt: skip
    """Mark the print batch of ``day`` posted on ``posted_on`` (the day it went to the post: not
    before ``day``, not after ``today``); idempotent (letters posted before keep their date). In
    the caller's transaction, a fixed number of statements.

    A formal notice to a consumer starts the fourteen-day term; when the letter is posted later
    than it was written, the first day costs may be charged moves to count from the posting day
    (``earliest_costs_date``), never earlier: for invoices still open, not yet charged costs and
    waiting for a later day than before.
    """
    if posted_on < day:
        raise ValidationError(f"posted_on {posted_on.isoformat()} is before the letters' date {day.isoformat()}",
                              "posted_on")  # fmt: skip
    if posted_on > today:
        raise ValidationError(f"posted_on {posted_on.isoformat()} is in the future", "posted_on")
    pending = list(
        session.execute(
            select(Letter.id, Letter.customer_id, Letter.kind, Letter.invoice_ids, OutboxMessage.channel)
            .outerjoin(OutboxMessage, OutboxMessage.id == Letter.message_id)
            .where(Letter.org_id == org_id, Letter.letter_date == day, Letter.status == PENDING)
            .with_for_update(of=Letter)
        ).all()
    )
    already = int(
        session.scalar(
            select(func.count()).select_from(Letter)
            .where(Letter.org_id == org_id, Letter.letter_date == day, Letter.status == POSTED)
        ) or 0
    )  # fmt: skip
    if not pending:
        return Posted(day, posted_on, 0, already, 0)
    ids = [r.id for r in pending]
    session.execute(
        update(Letter)
        .where(Letter.id.in_(ids), Letter.status == PENDING)
        .values(status=POSTED, posted_on=posted_on)
        .execution_options(synchronize_session=False)
    )
    moved = _move_terms(session, org_id, day, posted_on, pending)
    now = utcnow()
    session.execute(
        insert(Event),
        [
            {"org_id": org_id, "kind": "letter.posted", "subject_type": "letter", "subject_id": r.id, "actor": actor,
             "data": {"customer_id": r.customer_id, "kind": r.kind, "posted_on": posted_on.isoformat(),
                      "invoice_ids": list(r.invoice_ids or [])}, "occurred_at": now}
            for r in pending
        ],
    )  # fmt: skip
    return Posted(day, posted_on, len(ids), already, moved)


def _move_terms(session: Session, org_id: str, day: dt.date, posted_on: dt.date, pending: Sequence[Any]) -> int:
    """Terms that count from the letter's posting now count from ``posted_on`` (when that is
    later than the day they were planned from, ``day``); how many invoices' terms moved.

    * Dutch law, a formal notice: a consumer's fourteen days run from the day after receipt
      (art. 6:96 lid 6 BW, ``earliest_costs_date``).
    * Belgian law, a consumer's first reminder sent on paper (the message's channel ``letter``):
      the waiting period starts on the third working day after posting (art. XIX.2 WER,
      ``domain.law.be.waiting_period``), for the invoices this letter was the first reminder of.

    Which law is the customer's policy's, else the organisation's country (as the run decides).
    Only invoices still open, with no costs charged and a later day than planned move."""
    if posted_on <= day:
        return 0
    customer_ids = sorted({r.customer_id for r in pending})
    found = list(session.scalars(select(Customer).where(Customer.org_id == org_id, Customer.id.in_(customer_ids))))
    org = session.get_one(Organisation, org_id)
    book = PolicyBook.load(session, org_id, found)
    law = {c.id: (getattr(book.policy_for(c), "law", None) or org.country or "NL") for c in found}
    consumer = {c.id for c in found if c.kind == "consumer"}
    dutch = sorted({i for r in pending if r.kind == "formal_notice" and law.get(r.customer_id) == "NL"
                    for i in (r.invoice_ids or [])})  # fmt: skip
    belgian = sorted({i for r in pending if r.channel == "letter" and law.get(r.customer_id) == "BE"
                      and r.customer_id in consumer for i in (r.invoice_ids or [])})  # fmt: skip
    moved = 0
    for ids, new, extra in (
        (dutch, earliest_costs_date(posted_on), ()),
        (belgian, be_law.waiting_period(posted_on, "paper").damages_from, (Invoice.notice_sent_on == day,)),
    ):
        if not ids:
            continue
        result = session.execute(
            update(Invoice)
            .where(Invoice.org_id == org_id, Invoice.id.in_(ids), Invoice.status == "open", Invoice.costs_cents == 0,
                   Invoice.costs_due_on.is_not(None), Invoice.costs_due_on < new, *extra)
            .values(costs_due_on=new, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        moved += int(getattr(result, "rowcount", 0) or 0)
    return moved


def posted_on(session: Session, org_id: str, invoice_ids: Sequence[str], kinds: Sequence[str] | None = None
              ) -> dict[str, dt.date]:  # fmt: skip
    """Per invoice, the day its latest posted letter (of ``kinds``) went to the post: what a term
    that counts from posting counts from. Invoices without a posted letter are absent. One query."""
    if not invoice_ids:
        return {}
    stmt = select(Letter.invoice_ids, Letter.posted_on).where(Letter.org_id == org_id, Letter.status == POSTED)
    if kinds is not None:
        stmt = stmt.where(Letter.kind.in_(kinds))
    wanted = set(invoice_ids)
    out: dict[str, dt.date] = {}
    for ids, day in session.execute(stmt):
        for i in ids or []:
            if i in wanted and day is not None and (i not in out or day > out[i]):
                out[i] = day
    return out
