"""``/portal``: the statement, paying, the payment return page, and the debtor's requests."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.db import finish_reading
from adapters.rendering import long_date
from adapters.settings import Settings
from domain import arrangements, checkout, customers, debtor_requests
from domain.errors import ValidationError
from domain.gateway import CheckoutHints, GatewayError, ProviderState
from domain.models import DebtorRequest, Invoice, Payment, PaymentAllocation
from portal import gateways, pages
from portal.callbacks import register
from portal.delivery import deliver_soon
from portal.errors import PageNotFound
from portal.i18n import LANGS, Translator
from portal.security import limited
from portal.session import (
    Visitor,
    check_csrf,
    clear_session_cookie,
    require,
    revoke,
    set_session_cookie,
    with_lang,
)
from portal.views import RespondForm, statement_context

Form = dict[str, Any]
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


def values(form: Form, name: str) -> list[str]:
    """A repeatable form field as a list of non-empty strings."""
    raw = form.get(name)
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    return [str(v).strip() for v in items if str(v).strip()]


def value(form: Form, name: str) -> str:
    found = values(form, name)
    return found[0] if found else ""


def visit(request: Request[Any, Any, Any], db: Session, settings: Settings) -> Visitor:
    """The session's visitor, with ``?lang=`` applied (and remembered in the cookie)."""
    visitor = require(request, db, settings, pages.now())
    asked = request.query_params.get("lang")
    if asked in LANGS and asked != visitor.session.lang:
        visitor.session = with_lang(visitor.session, asked)
        visitor.lang = asked
        visitor.renew_cookie = True
    return visitor


def page(settings: Settings, visitor: Visitor, template: str, *,
         status: int = 200, **context: Any) -> Response[Any]:  # fmt: skip
    country = customers.country_of(visitor.customer, visitor.org)
    response = pages.render(template, lang=visitor.lang, country=country, status=status, csrf=visitor.session.csrf,
                            org_name=visitor.org.name, signed_in=True, **context)  # fmt: skip
    if visitor.renew_cookie:
        set_session_cookie(response, settings, visitor.session, pages.now())
    response.headers["Vary"] = "HX-Request, Cookie"
    return response


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


class AccountController(Controller):
    path = "/portal"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def statement(self, request: Request[Any, Any, Any], db: Session, settings: Settings) -> Response[Any]:
        """The account statement: what is open and why, pay it, or tell us why not."""
        visitor = visit(request, db, settings)
        sent = None
        sent_id = request.query_params.get("sent")
        if sent_id:
            found = db.get(DebtorRequest, sent_id)
            if found is not None and found.customer_id == visitor.customer.id:
                sent = found
        ctx = statement_context(db, settings, visitor.customer, visitor.org, pages.today(),
                                sent=sent)
        finish_reading(db)  # everything is read: the connection goes back before the page is rendered
        return page(settings, visitor, "portal/statement.html.j2", **ctx)

    @post("/pay", sync_to_thread=True, status_code=303, middleware=limited("pay"))
    def pay(self, request: Request[Any, Any, Any], wdb: Session, settings: Settings,
            data: Form = FORM) -> Response[Any]:  # fmt: skip
        """Start a payment of the chosen invoices (none: everything open) and go to the provider's checkout."""
        visitor = visit(request, wdb, settings)
        check_csrf(request, data, visitor.session.csrf)
        available = gateways.available(wdb, settings, visitor.org)
        provider = value(data, "provider") or (available[0] if len(available) == 1 else "")
        gateway = gateways.gateway(wdb, settings, visitor.org, provider) if provider in available else None
        try:
            if gateway is None:
                raise ValidationError("this payment method is not available", "provider")
            instalment = value(data, "instalment_id")
            if instalment:  # a payment plan's instalment: exactly what is still due on it
                ids, cents = arrangements.instalment_payment(wdb, visitor.customer, instalment)
                payment = checkout.start(wdb, visitor.customer, ids, provider, amount_cents=cents)
            else:
                payment = checkout.start(wdb, visitor.customer,
                                         payable_ids(wdb, visitor, values(data, "invoice_ids")), provider)  # fmt: skip
        except ValidationError as exc:
            wdb.rollback()
            ctx = statement_context(wdb, settings, visitor.customer, visitor.org, pages.today(),
                                    pay_error=pay_error_key(exc))  # fmt: skip
            return page(settings, visitor, "portal/statement.html.j2", status=422, **ctx)
        wdb.commit()  # the payment exists before any provider hears of it
        base = settings.base_url
        try:
            found = gateway.create_checkout(
                payment, payment.amount_cents, payment.currency, payment.reference or "",
                return_url=f"{base}/portal/payments/{payment.id}",
                webhook_url=f"{base}/webhooks/{provider}/{visitor.org.slug}",
                hints=CheckoutHints(checkout.structured_reference(wdb, payment),
                                    customers.country_of(visitor.customer, visitor.org), visitor.lang),
            )  # fmt: skip
        except GatewayError as exc:
            checkout.fail_start(wdb, payment, str(exc))
            wdb.commit()
            return page(settings, visitor, "portal/message.html.j2", status=502,
                        title_key="provider_down", body_key="provider_down_body")  # fmt: skip
        checkout.attach(wdb, payment, found)
        wdb.commit()
        return Redirect(found.checkout_url, status_code=303)

    @get("/payments/{payment_id:str}", sync_to_thread=True)
    def payment(self, request: Request[Any, Any, Any], db: Session, wdb: Session, settings: Settings,
                payment_id: str) -> Response[Any]:  # fmt: skip
        """Where the provider sends the payer back: the status, refreshed with htmx until it is final.

        While the payment is pending it asks the provider rather than wait for the webhook. A payer
        who cancelled at the provider (``?cancelled=1``) has the checkout closed there, so the page
        can say so at once instead of waiting for a checkout that will never be paid."""
        visitor = visit(request, db, settings)
        found = db.get(Payment, payment_id)
        if found is None or found.org_id != visitor.org.id or found.customer_id != visitor.customer.id:
            raise PageNotFound()
        task = None
        gateway = gateways.gateway(db, settings, visitor.org, found.provider) if found.provider else None
        if found.status == "pending" and gateway is not None and found.provider_payment_id:
            finish_reading(db)  # no snapshot, nor connection, held while the provider is on the line
            ask = gateway.cancel if request.query_params.get("cancelled") == "1" else gateway.fetch
            try:
                state: ProviderState | None = ask(found.provider_payment_id)
            except GatewayError:
                state = None
            if state is not None and (state.status != "pending" or state.reversals):
                found = wdb.get_one(Payment, found.id)
                if register(wdb, request.app.state.mailer, found, state, pages.today()):
                    task = deliver_soon(request.app.state.courier, visitor.org.id)
                wdb.commit()
        template = "portal/_payment_status.html.j2" if is_htmx(request) else "portal/payment.html.j2"
        receipt = receipt_context(db, settings, visitor, found)
        finish_reading(db)  # this page polls every few seconds while a payment is pending
        response = page(settings, visitor, template, payment=found, **receipt)
        response.background = task
        return response

    @post("/requests", sync_to_thread=True, status_code=303)
    def respond(self, request: Request[Any, Any, Any], wdb: Session, settings: Settings,
                data: Form = FORM) -> Response[Any]:  # fmt: skip
        """A dispute, an extension or a promise to pay. htmx gets the form back in place; without
        JavaScript the browser is sent back to the statement, which shows the confirmation."""
        visitor = visit(request, wdb, settings)
        check_csrf(request, data, visitor.session.csrf)
        kind = value(data, "kind")
        form = RespondForm(kind=kind, invoice_ids=values(data, "invoice_ids"),
                           reason=value(data, "reason"), date=value(data, f"date_{kind}") or value(data, "date"),
                           message=value(data, "message")[:4000])  # fmt: skip
        today = pages.today()
        try:
            day = parse_date(form.date) if form.date else None
            created = debtor_requests.create(
                wdb, visitor.customer, kind=form.kind, invoice_ids=form.invoice_ids, message=form.message,
                reason=form.reason or None, date=day, as_of=today,
            )  # fmt: skip
        except ValidationError as exc:
            wdb.rollback()
            field = exc.field if exc.field in FIELDS else "kind"
            form.errors[field] = error_text(field, exc.message, visitor.lang)
            ctx = statement_context(wdb, settings, visitor.customer, visitor.org, today, form=form)
            template = "portal/_respond.html.j2" if is_htmx(request) else "portal/statement.html.j2"
            return page(settings, visitor, template, status=422, **ctx)
        acknowledged = debtor_requests.acknowledge(wdb, created, request.app.state.mailer, pages.now())
        wdb.commit()
        task = deliver_soon(request.app.state.courier, visitor.org.id) if acknowledged is not None else None
        if not is_htmx(request):
            response: Response[Any] = Redirect(f"/portal?sent={created.id}#respond", status_code=303)
        else:
            # The summary (total, 'pay everything'), the invoices and the requests come along out
            # of band: what is payable changed, and every amount on the page says so at once.
            ctx = statement_context(wdb, settings, visitor.customer, visitor.org, today, sent=created)
            response = page(settings, visitor, "portal/_respond.html.j2", status=200, oob=True, **ctx)
        response.background = task
        return response

    @post("/sign-out", sync_to_thread=True, status_code=200)
    def sign_out(self, request: Request[Any, Any, Any], wdb: Session, settings: Settings,
                 data: Form = FORM) -> Response[Any]:  # fmt: skip
        """End the session on the server too: a copy of the cookie no longer opens the portal."""
        visitor = visit(request, wdb, settings)
        check_csrf(request, data, visitor.session.csrf)
        revoke(wdb, visitor.session, pages.now())
        response = pages.render("portal/message.html.j2", lang=visitor.lang, title_key="signed_out_title",
                                body_key="signed_out_body")  # fmt: skip
        clear_session_cookie(response, settings)
        return response


def payable_ids(db: Session, visitor: Visitor, chosen: list[str]) -> list[str]:
    """The invoices a payment from the portal is for. Invoices handed to a collection agency are
    paid to the agency: never chosen here, and not part of 'everything' (none chosen)."""
    handed = {inv.id for inv in checkout.payable(db, visitor.customer) if inv.status == "in_collection"}
    if not handed:
        return chosen
    if any(i in handed for i in chosen):
        raise ValidationError("choose among your open invoices", "invoice_ids")
    if chosen:
        return chosen
    rest = [inv.id for inv in checkout.payable(db, visitor.customer) if inv.status == "open"]
    if not rest:
        raise ValidationError("there is nothing open to pay", "invoice_ids")
    return rest


def receipt_context(db: Session, settings: Settings, visitor: Visitor, payment: Payment) -> dict[str, Any]:
    """What the return page shows beside the status: a paid payment's receipt (the thank-you
    e-mail's facts: amount, date, invoices, reference), or a way to try a failed one again."""
    ids = list(payment.requested_invoice_ids or [])
    lines: list[Any] = []
    if payment.status == "paid":
        lines = list(db.execute(
            select(Invoice.number, Invoice.currency, PaymentAllocation.amount_cents, Invoice.open_cents)
            .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
            .where(PaymentAllocation.payment_id == payment.id, PaymentAllocation.org_id == visitor.org.id)
            .order_by(Invoice.due_date, Invoice.number)
        ).all())  # fmt: skip
    retry: list[Invoice] = []
    provider = None
    if payment.status in ("failed", "canceled", "expired") and ids:
        wanted = set(ids)  # the same invoices again, as far as they are still open and payable here
        retry = [inv for inv in checkout.payable(db, visitor.customer) if inv.id in wanted and inv.status == "open"]
        offered = gateways.available(db, settings, visitor.org)
        provider = payment.provider if payment.provider in offered else (offered[0] if offered else None)
    return {
        "org": visitor.org,
        "customer": visitor.customer,
        "receipt_lines": lines,
        "retry_ids": [inv.id for inv in retry] if provider else [],
        "retry_cents": sum(inv.open_cents for inv in retry),
        "retry_provider": provider,
    }


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError("choose a date", "date") from None


FIELDS = ("kind", "invoice_ids", "reason", "date", "message")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def error_text(field: str, message: str, lang: str) -> str:
    """The debtor's words for what was wrong with a field of the request form."""
    t = Translator(lang)
    if field == "date":
        found = _ISO_DAY.search(message)
        if found:
            return t("err_date", limit=long_date(dt.date.fromisoformat(found.group()), lang))
        return t("err_date_plain")
    return t(f"err_{field}")


def pay_error_key(exc: ValidationError) -> str:
    if exc.field == "provider":
        return "err_provider"
    if "currenc" in exc.message:
        return "err_currency"
    if "nothing" in exc.message:
        return "err_nothing"
    return "err_invoice_ids"
