"""Bank statements in, and the lines that still need a person."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from msgspec import Struct
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import docs, idempotency
from api.auth import Auth
from api.docs import responses
from api.pagination import Cursor, Limit, page
from api.schemas import Amount
from domain import reconcile
from domain.bank import MAX_BYTES, StatementError
from domain.errors import ValidationError
from domain.models import BankTransaction, Organisation
from domain.money import MoneyError, format_amount, parse_amount
from domain.payments import AllocationRequest

STATUSES = ("unmatched", "matched", "outgoing", "returned")
TransactionStatus = Literal["unmatched", "matched", "outgoing", "returned"]


class BalanceWarningOut(Struct):
    kind: str  # does_not_add_up | opening_is_not_previous_closing
    position: int  # the statement's place in the file, from 1
    statement: str | None
    number: str | None
    account: str | None
    difference: str
    message: str


class ReferenceProblemOut(Struct):
    """An unmatched line whose reference says why it matched nothing."""

    code: str  # ogm_check_digit: a Belgian structured communication with wrong check digits
    reference: str
    message: str
    transaction_id: str | None


class ImportOut(Struct):
    statements: int
    lines: int
    new: int
    duplicates: int
    credits: int
    matched: int
    unmatched: int
    matched_amount: str
    warnings: list[BalanceWarningOut] = []
    problems: list[ReferenceProblemOut] = []


class Candidate(Struct):
    invoice_id: str
    number: str
    customer_id: str
    open_amount: str
    due_date: dt.date


class TransactionOut(Struct):
    id: str
    status: str
    booking_date: dt.date
    amount: str
    currency: str
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str | None
    structured_reference: str | None
    payment_id: str | None
    candidates: list[Candidate]
    # Why an unmatched line matched nothing, when its reference says so (``ogm_check_digit``).
    unmatched_reason: str | None = None
    unmatched_message: str | None = None


class TransactionPage(Struct):
    items: list[TransactionOut]
    next_cursor: str | None


class AllocationIn(Struct):
    invoice_id: str
    amount: Amount


class MatchIn(Struct):
    customer_id: str | None = None
    invoice_ids: list[str] | None = None
    allocations: list[AllocationIn] | None = None


def _out(db: Session, tx: BankTransaction) -> TransactionOut:
    cands = reconcile.candidates(db, tx) if tx.status == "unmatched" else []
    problems = reconcile.reference_problems(tx.remittance, tx.structured_reference) if tx.status == "unmatched" else []
    return TransactionOut(
        id=tx.id,
        status=tx.status,
        booking_date=tx.booking_date,
        amount=format_amount(tx.amount_cents),
        currency=tx.currency,
        counterparty_name=tx.counterparty_name,
        counterparty_iban=tx.counterparty_iban,
        remittance=tx.remittance,
        structured_reference=tx.structured_reference,
        payment_id=tx.payment_id,
        candidates=[Candidate(i.id, i.number, i.customer_id, format_amount(i.open_cents), i.due_date) for i in cands],
        unmatched_reason=problems[0].code if problems else None,
        unmatched_message="; ".join(p.message for p in problems) or None,
    )


async def provide_file(request: Request[Any, Any, Any]) -> bytes:
    """The raw request body: a statement file is not JSON."""
    return await request.body()


class BankController(Controller):
    tags = ["bank"]
    dependencies = {"file": Provide(provide_file)}

    @post(
        "/bank-statements",
        opt={"scope": "bank:write", "body_field": "file"},
        sync_to_thread=True,
        status_code=201,
        # The parsers' own limit, so the API and `settle import bank` refuse the same files; a larger
        # body answers 413 "<filename>: the file is larger than 50 MB" (see api.errors.on_too_large).
        request_max_body_size=MAX_BYTES,
        summary="Import a bank statement file",
        operation_class=docs.StatementFileOperation,
        responses={
            **responses(ImportOut, docs.IMPORT, 409, 413, status=201, description="The file's new lines, imported"),
            **responses(ImportOut, {**docs.IMPORT, "new": 0, "duplicates": 12, "credits": 0, "matched": 0,
                                    "unmatched": 0, "matched_amount": "0.00"},
                        description="Imported before: nothing new"),
        },
    )
    def import_statement(
        self,
        request: Request[Any, Any, Any],
        db: Session,
        auth: Auth,
        file: bytes,
        filename: str = "upload",
        strict: bool = False,
    ) -> Response[Any]:
        """A CAMT.053 or MT940 file as the request body. Importing the same file again imports nothing.

        A statement that does not add up, or does not open at the previous statement's closing
        balance, is imported and listed in ``warnings``; with ``?strict=true`` the file is refused
        instead (422 naming the statement and the difference, nothing written)."""
        data = file
        if not data:
            raise ValidationError("the request body is empty: send the statement file as the body", "file")
        org = db.get_one(Organisation, auth.org_id)

        def action() -> tuple[int, Any]:
            try:
                s = reconcile.import_statement(db, org, data, filename, strict=strict)
            except StatementError as exc:
                raise ValidationError(str(exc), "file") from None
            return (201 if s.new else 200), ImportOut(
                statements=s.statements,
                lines=s.lines,
                new=s.new,
                duplicates=s.duplicates,
                credits=s.credits,
                matched=s.matched,
                unmatched=s.unmatched,
                matched_amount=format_amount(s.matched_cents),
                warnings=[
                    BalanceWarningOut(w.kind, w.position, w.statement_id, w.number, w.account,
                                      format_amount(w.difference_cents), w.message)
                    for w in s.warnings
                ],
                problems=[ReferenceProblemOut(p.code, p.reference, p.message, p.transaction_id) for p in s.problems],
            )  # fmt: skip

        body: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest()} | ({"strict": True} if strict else {})
        return idempotency.run(request, db, auth, body, action)

    @get("/bank-transactions", opt={"scope": "bank:read"}, sync_to_thread=True, summary="List bank transactions",
         responses=responses(TransactionPage, docs.page_of(docs.TRANSACTION), description="A page of transactions"))
    def list_transactions(
        self, db: Session, auth: Auth, status: TransactionStatus | None = None, cursor: Cursor = None,
        limit: Limit = None,
    ) -> TransactionPage:
        """Bank lines oldest first; ``status=unmatched`` are those waiting for a person, with candidates."""
        stmt = select(BankTransaction).where(BankTransaction.org_id == auth.org_id)
        if status is not None:
            if status not in STATUSES:
                raise ValidationError(f"status must be one of {', '.join(STATUSES)}", "status")
            stmt = stmt.where(BankTransaction.status == status)
        rows, nxt = page(db, stmt, BankTransaction.id, cursor, limit)
        return TransactionPage(items=[_out(db, tx) for tx in rows], next_cursor=nxt)

    @post(
        "/bank-transactions/{transaction_id:str}/match",
        opt={"scope": "bank:write"},
        sync_to_thread=True,
        status_code=200,
        summary="Match a bank transaction by hand",
        responses=responses(TransactionOut, {**docs.TRANSACTION, "status": "matched", "candidates": [],
                                             "payment_id": docs.PAYMENT["id"]},
                            404, 409, 413, description="The transaction, matched"),
    )
    def match(
        self, request: Request[Any, Any, Any], db: Session, auth: Auth, transaction_id: str, data: MatchIn
    ) -> Response[Any]:
        """Settle an unmatched credit by hand: to ``invoice_ids`` (oldest first), to explicit
        ``allocations``, or as a credit on ``customer_id``."""
        allocations: list[AllocationRequest] | None = None
        if data.allocations is not None:
            allocations = []
            for i, a in enumerate(data.allocations):
                try:
                    allocations.append(AllocationRequest(a.invoice_id, parse_amount(a.amount, allow_zero=False)))
                except MoneyError as exc:
                    raise ValidationError(f"amount {exc}", f"allocations[{i}].amount") from None
        tx = db.get(BankTransaction, transaction_id)
        if tx is not None and tx.org_id == auth.org_id and data.invoice_ids and allocations is None:
            allocations = reconcile.spread_over(db, auth.org_id, tx, data.invoice_ids)

        def action() -> tuple[int, Any]:
            done = reconcile.match_by_hand(
                db, auth.org_id, transaction_id, customer_id=data.customer_id, allocations=allocations, actor=auth.actor
            )
            return 200, _out(db, done)

        return idempotency.run(request, db, auth, data, action)
