"""Turns a dunning decision into words: Jinja e-mails and letters, with a fresh portal link."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from jinja2 import Environment, Template
from markupsafe import Markup
from sqlalchemy.orm import Session

from adapters import qr
from adapters.rendering import environment, money, words_template
from adapters.settings import Settings
from domain import epc_qr, portal_links, sms
from domain.customers import country_of
from domain.dunning.messages import MessageContext, Rendered
from domain.dunning.plan import STATEMENT_KINDS
from domain.locales import language
from domain.models import Customer


class _View:
    """What templates see as ``c``: the message context plus its language and layout choices."""

    def __init__(self, ctx: MessageContext, env: Environment) -> None:
        self._ctx = ctx
        # The context's fields as plain attributes (the templates read them dozens of times a
        # message; ``__getattr__`` is the slow path), its totals computed once.
        self.__dict__.update(vars(ctx))
        self.totals = ctx.totals
        self.statement_totals = ctx.statement_totals
        self.locale = language(ctx.customer.locale)
        # The debtor's country: where a language has a country's own words (``nl-BE``) they are used.
        self.country = country_of(ctx.customer, ctx.org)
        self.show_statement = ctx.kind in STATEMENT_KINDS and len(ctx.statement) > len(ctx.lines)
        # The words: the step's own template if its policy names one (checked to exist when the
        # policy was saved), else the kind's. The layouts import it as ``words``.
        self.words = words_template(env, self.locale, self.country, ctx.template or ctx.kind)
        # Scan to pay (EPC QR): the transfer this message asks for, if one can be asked for. Not
        # on a hand-over, which tells the debtor to pay the collection agency, not the creditor.
        self.epc = None if ctx.kind == "collection_handover" else transfer_of(ctx)
        self.epc_qr_img = self.portal_qr_img = self.epc_png = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def transfer_of(ctx: MessageContext) -> epc_qr.TransferRequest | None:
    """The EPC transfer for the invoices a message is about: their euro total to the
    organisation's IBAN, with their references (``domain.epc_qr.for_invoices``)."""
    euros = [ln for ln in ctx.lines if ln.currency == "EUR" and ln.open_cents > 0]
    return epc_qr.for_invoices(
        name=ctx.org.name, iban=ctx.org.iban, currency="EUR", amount_cents=sum(ln.open_cents for ln in euros),
        items=[(ln.payment_reference, ln.number) for ln in euros],
    )


@functools.cache
def _environment() -> Environment:
    """The shared environment without the per-render check of every template file's mtime:
    a run renders the same few templates for every message (seven lookups each)."""
    return environment().overlay(auto_reload=False)


class JinjaComposer:
    """Built once per process (the app, ``settle run``) with one environment; each template is
    looked up and compiled once and kept, so rendering a message is only rendering."""

    def __init__(self, settings: Settings, link_days: int = 30, env: Environment | None = None) -> None:
        self.settings = settings
        self.link_days = link_days
        self.env = env or _environment()
        self._templates: dict[str, Template] = {}
        self._modules: dict[str, Any] = {}

    def template(self, name: str) -> Template:
        found = self._templates.get(name)
        if found is None:
            found = self._templates[name] = self.env.get_template(name)
        return found

    def _module(self, name: str) -> Any:
        found = self._modules.get(name)
        if found is None:
            found = self._modules[name] = self.template(name).module
        return found

    def portal_url(self, session: Session, customer: Customer) -> str:
        link = portal_links.issue(
            session,
            customer,
            secret_keys=self.settings.secret_keys,
            base_url=self.settings.base_url,
            now=dt.datetime.now(dt.UTC),
            expires_in_days=self.link_days,
        )
        return link.url

    def links(self, customers: Sequence[Customer]) -> list[portal_links.Link]:
        """``portal_url``'s links for a batch of customers, signed at once and not recorded (the
        caller stores ``portal_links.issued_event`` of each with its batch)."""
        return portal_links.sign_many(
            customers,
            secret_keys=self.settings.secret_keys,
            base_url=self.settings.base_url,
            now=dt.datetime.now(dt.UTC),
            expires_in_days=self.link_days,
        )

    def sms_links(self, customers: Sequence[Customer]) -> list[portal_links.Link]:
        """Short portal links for text messages (``portal_links.sign_short``), not recorded."""
        return portal_links.sign_short(
            customers,
            secret_keys=self.settings.secret_keys,
            base_url=self.settings.base_url,
            now=dt.datetime.now(dt.UTC),
            expires_in_days=self.link_days,
        )

    def sms(self, ctx: MessageContext) -> Rendered:
        """The text message: the amount, the invoice numbers when they fit, and the (short)
        portal link, in the customer's language; the invoice numbers are left out when they
        would make it more than one segment (``domain.sms.segments``)."""
        locale = language(ctx.customer.locale)  # templates/sms/ has every language of domain.locales
        template = self.template(f"sms/{locale}.txt.j2")
        view = _View(ctx, self.env)
        total = " + ".join(money(t.open_cents, t.currency, locale) for t in view.totals)
        numbers = ", ".join(line.number for line in ctx.lines)
        name = " ".join(ctx.org.name.split())

        def words(sender: str, shown: str) -> str:
            return " ".join(template.render(c=view, sender=sender, total=total, numbers=shown).split())

        text = words(name, numbers)
        if not sms.fits_one(text):
            text = words(name, "")
        # Still too long: the organisation's name is cut short (at a word where it can), down to 20 characters.
        while not sms.fits_one(text) and len(name) > 20:
            counted = sms.segments(text)
            over = counted.units - (sms.GSM7_SINGLE if counted.encoding == "GSM-7" else sms.UCS2_SINGLE)
            cut = name[: max(20, len(name) - max(over, 1))].rstrip()
            if " " in cut and len(cut.rsplit(" ", 1)[0]) >= 20:
                cut = cut.rsplit(" ", 1)[0]
            name = cut
            text = words(name, "")
        return Rendered(subject="", text=text, html="")

    def _subject(self, view: _View) -> str:
        module = self._module(view.words)
        return " ".join(str(module.subject(view)).split())

    def email(self, ctx: MessageContext) -> Rendered:
        view = _View(ctx, self.env)
        if view.epc is not None:
            # An inline PNG; the transport sends it as a cid: part (adapters.mail).
            view.epc_png = qr.epc_png_data_uri(epc_qr.build_payload(view.epc))
        return Rendered(
            subject=self._subject(view),
            text=self.template("email/layout.txt.j2").render(c=view),
            html=self.template("email/layout.html.j2").render(c=view),
        )

    def letter(self, ctx: MessageContext) -> Rendered:
        view = _View(ctx, self.env)
        if view.epc is not None:
            view.epc_qr_img = Markup(qr.epc_img(epc_qr.build_payload(view.epc)))
        if ctx.portal_url:
            view.portal_qr_img = Markup(qr.link_img(ctx.portal_url))
        html = self.template("letters/letter.html.j2").render(c=view)
        return Rendered(subject=self._subject(view), text="", html=html)
