"""Letters by post: the list, one letter as PDF, and marking a day's batch posted."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from msgspec import Struct
from sqlalchemy.orm import Session

from adapters import pdf
from adapters.db import finish_reading
from api import idempotency
from api.auth import Auth
from api.docs import error_response, page_of, responses
from api.errors import json_error
from api.pagination import Cursor, Limit, page
from domain import letters
from domain.errors import NotFound
from domain.models import Letter

LetterStatus = Literal["pending", "posted"]


class LetterOut(Struct):
    id: str
    customer_id: str
    kind: str
    date: dt.date
    status: str
    pages: int | None
    invoice_ids: list[str]
    invoice_numbers: list[str]
    posted_on: dt.date | None
    pdf_url: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: Letter) -> LetterOut:
        return cls(
            id=row.id, customer_id=row.customer_id, kind=row.kind, date=row.letter_date, status=row.status,
            pages=row.pages, invoice_ids=list(row.invoice_ids or []), invoice_numbers=list(row.invoice_numbers or []),
            posted_on=row.posted_on, pdf_url=f"/api/v1/letters/{row.id}.pdf", created_at=row.created_at,
        )  # fmt: skip


class LetterPage(Struct):
    items: list[LetterOut]
    next_cursor: str | None


class MarkPosted(Struct):
    date: dt.date
    posted_on: dt.date | None = None  # default: today


class PostedOut(Struct):
    date: dt.date
    posted_on: dt.date
    posted: int
    already_posted: int
    waiting_periods_moved: int


LETTER: dict[str, Any] = {
    "id": "let_01JNQ43E1W", "customer_id": "cus_01JNQ43E1W", "kind": "formal_notice", "date": "2026-06-01",
    "status": "pending", "pages": 2, "invoice_ids": ["inv_01JNQ43E1W"], "invoice_numbers": ["F-2026-0042"],
    "posted_on": None, "pdf_url": "/api/v1/letters/let_01JNQ43E1W.pdf", "created_at": "2026-06-01T06:00:00Z",
}  # fmt: skip
POSTED: dict[str, Any] = {"date": "2026-06-01", "posted_on": "2026-06-02", "posted": 12, "already_posted": 0,
                          "waiting_periods_moved": 3}

_PDF = ResponseSpec(data_container=bytes, media_type="application/pdf", description="The letter as PDF (A4)",
                    generate_examples=False)  # fmt: skip


class LetterController(Controller):
    path = "/letters"
    tags = ["letters"]

    @get("/", opt={"scope": "letters:read"}, sync_to_thread=True, summary="List letters",
         responses=responses(LetterPage, page_of(LETTER), description="A page of letters, oldest first"))
    def list_letters(self, db: Session, auth: Auth, date: dt.date | None = None, status: LetterStatus | None = None,
                     cursor: Cursor = None, limit: Limit = None) -> LetterPage:  # fmt: skip
        """The letters to print and post: ``date`` the day's print batch, ``status`` pending or posted."""
        rows, nxt = page(db, letters.listed(db, auth.org_id, day=date, status=status), Letter.id, cursor, limit)
        return LetterPage(items=[LetterOut.of(r) for r in rows], next_cursor=nxt)

    @get("/{letter_pdf:str}", opt={"scope": "letters:read"}, sync_to_thread=True, summary="One letter as PDF",
         media_type="application/pdf", responses={200: _PDF, 404: error_response(404)})
    def letter_pdf(self, db: Session, auth: Auth,
                   letter_pdf: Annotated[str, Parameter(description="The letter's id and `.pdf`: `let_….pdf`")]
                   ) -> Response[bytes]:  # fmt: skip
        """The letter as it is printed: A4, the address in the DIN 5008 window, the EPC QR code to pay."""
        letter_id, dot, suffix = letter_pdf.rpartition(".")
        if not dot or suffix != "pdf":
            raise NotFound(f"no letter {letter_pdf!r} (ask for LETTER_ID.pdf)", "letter_id")
        row = letters.get(db, auth.org_id, letter_id)
        html = letters.html_of(db, row)
        finish_reading(db)  # read: the connection goes back before the PDF is laid out
        try:
            made = pdf.render(html)
        except pdf.PdfUnavailable as exc:
            return json_error(503, exc.message, None, exc.code, headers={"Retry-After": "3600"})
        return Response(content=made.data, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{row.id}.pdf"'})  # fmt: skip

    @post("/mark-posted", opt={"scope": "letters:write"}, sync_to_thread=True, status_code=200,
          summary="Mark a day's letters posted",
          responses=responses(PostedOut, POSTED, 409, 413, description="How many letters were marked posted"))
    def mark_posted(self, request: Request[Any, Any, Any], db: Session, auth: Auth, data: MarkPosted
                    ) -> Response[Any]:  # fmt: skip
        """The print batch of ``date`` went to the post on ``posted_on`` (default today, not before
        ``date``): its letters count as sent then, and a waiting period that counts from posting (a
        consumer's fourteen days) starts then. Marking the same day again changes nothing."""

        def action() -> tuple[int, Any]:
            today = dt.date.today()
            done = letters.mark_posted(db, auth.org_id, data.date, posted_on=data.posted_on or today, today=today,
                                       actor=auth.actor)  # fmt: skip
            return 200, PostedOut(done.day, done.posted_on, done.posted, done.already, done.terms_moved)

        return idempotency.run(request, db, auth, data, action)
