"""``POST /portal/arrangements``: a debtor proposes a payment plan from the statement.

``action=preview`` shows the schedule the choices make (dates and amounts that add up to the
cent) and, when the plan is outside the terms but may wait for a decision, says so;
``action=confirm`` makes the plan (``domain.arrangements.propose``): accepted at once within
the terms (the page then shows it with the first instalment's pay button, and an e-mail
confirms it), or waiting for the back office, who decides through the API (the debtor gets an
e-mail then). With htmx the section is swapped in place (and the summary and invoices out of
band, since what is payable changed); without JavaScript the same by a normal form post.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.response import Redirect
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import arrangements
from domain.errors import Conflict, ValidationError
from portal import pages
from portal.account import FORM, Form, is_htmx, page, value, values, visit
from portal.arrangement_view import PlanForm
from portal.arrangement_view import context as plan_context
from portal.delivery import deliver_soon
from portal.i18n import Translator
from portal.session import check_csrf
from portal.views import statement_context

FIELDS = ("invoice_ids", "instalments", "interval", "first_due_date", "customer_id")


class ArrangementController(Controller):
    path = "/portal/arrangements"
    include_in_schema = False

    @post("/", sync_to_thread=True, status_code=200)
    def propose(self, request: Request[Any, Any, Any], wdb: Session, settings: Settings,
                data: Form = FORM) -> Response[Any]:  # fmt: skip
        """Preview or confirm a plan; see the module docstring."""
        visitor = visit(request, wdb, settings)
        check_csrf(request, data, visitor.session.csrf)
        today = pages.today()
        form = PlanForm(invoice_ids=values(data, "invoice_ids"), instalments=value(data, "instalments"),
                        interval=value(data, "interval"), first_due_date=value(data, "first_due_date"))  # fmt: skip
        confirm = value(data, "action") == "confirm"
        made = None
        status = 200
        t = Translator(visitor.lang)
        try:
            count, first = _parse(form)
            found = arrangements.preview(wdb, visitor.customer, invoice_ids=form.invoice_ids, instalments=count,
                                         first_due_date=first, interval=form.interval, as_of=today)  # fmt: skip
            refused = found.outside and (found.terms.outside == "not_offered"
                                         or any(o.code == "not_allowed" for o in found.outside))  # fmt: skip
            if refused:
                for o in found.outside:
                    form.errors.setdefault(o.field, f"{t('plan_err_' + o.field)} ({t('plan_why_' + o.code)})")
                status = 422
            elif confirm:
                made = arrangements.propose(
                    wdb, visitor.customer, invoice_ids=form.invoice_ids, instalments=count, first_due_date=first,
                    interval=form.interval, as_of=today, origin="portal", actor=f"customer:{visitor.customer.id}",
                )  # fmt: skip
            else:
                form.preview = found
        except (ValidationError, Conflict) as exc:
            field = exc.field if exc.field in FIELDS else "instalments"
            form.errors[field] = t("plan_err_" + field)
            status = 422
        if status != 200:
            wdb.rollback()
            form.preview = None
        task = None
        if made is not None:
            if made.status == "accepted":
                arrangements.notify_decision(wdb, made, request.app.state.mailer, today)
            wdb.commit()
            task = deliver_soon(request.app.state.courier, visitor.org.id)
            if not is_htmx(request):
                response: Response[Any] = Redirect("/portal#arrangement", status_code=303)
                response.background = task
                return response
        ctx = statement_context(wdb, settings, visitor.customer, visitor.org, today)
        ctx.update(plan_context(wdb, visitor.customer, visitor.org, today, ctx["lines"],
                                form=None if made is not None else form, made=made))  # fmt: skip
        wdb.rollback()
        if is_htmx(request):
            response = page(settings, visitor, "portal/_arrangement.html.j2", status=status, oob=made is not None,
                            **ctx)  # fmt: skip
        else:
            response = page(settings, visitor, "portal/statement.html.j2", status=status, **ctx)
        response.background = task
        return response


def _parse(form: PlanForm) -> tuple[int, dt.date]:
    try:
        count = int(form.instalments)
    except ValueError:
        raise ValidationError("choose a number of instalments", "instalments") from None
    if form.interval not in arrangements.INTERVALS:
        raise ValidationError("choose weekly or monthly", "interval")
    try:
        first = dt.date.fromisoformat(form.first_due_date)
    except ValueError:
        raise ValidationError("choose a date for the first instalment", "first_due_date") from None
    return count, first
