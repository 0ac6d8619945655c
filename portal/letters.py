"""``/portal/letters``: the debtor's own formal notice as the PDF that was posted.

Behind the same signed-link session as the statement: only the customer the session is for
sees its letters; any other id (another customer's, another organisation's, none) is the
portal's 404 page.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from sqlalchemy.orm import Session

from adapters import pdf
from adapters.db import finish_reading
from adapters.settings import Settings
from domain import letters
from domain.errors import NotFound
from portal.account import visit
from portal.errors import PageNotFound


class PortalLetterController(Controller):
    path = "/portal/letters"
    include_in_schema = False

    @get("/{letter_pdf:str}", sync_to_thread=True)
    def letter(self, request: Request[Any, Any, Any], db: Session, settings: Settings, letter_pdf: str
               ) -> Response[bytes]:  # fmt: skip
        """The formal notice the debtor was sent, as PDF."""
        visitor = visit(request, db, settings)
        letter_id, dot, suffix = letter_pdf.rpartition(".")
        try:
            if not dot or suffix != "pdf":
                raise NotFound("no such letter")
            row = letters.get(db, visitor.customer.org_id, letter_id)
        except NotFound:
            raise PageNotFound() from None
        if row.customer_id != visitor.customer.id or row.kind not in letters.PORTAL_KINDS:
            raise PageNotFound()
        html = letters.html_of(db, row)
        finish_reading(db)
        made = pdf.render(html)
        return Response(content=made.data, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{row.id}.pdf"'})  # fmt: skip
