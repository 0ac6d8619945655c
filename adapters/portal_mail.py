"""Words for the portal's own e-mails: the thank-you for a payment, a fresh link, and the
acknowledgement of a dispute, an extension or a promise, and a payment plan's e-mails.

Implements ``domain.checkout.ReceiptComposer``, ``domain.fresh_links.LinkComposer`` and
``domain.debtor_requests.AckComposer`` with the templates ``email/notice.{html,txt}.j2`` and
``email/<locale>/<kind>.j2``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from adapters.rendering import environment, words_template
from adapters.settings import Settings
from domain import portal_links
from domain.arrangement_models import Arrangement, ArrangementInstalment
from domain.checkout import Receipt
from domain.customers import country_of
from domain.dunning.messages import Rendered
from domain.locales import language
from domain.models import Customer, DebtorRequest, Invoice, Organisation


@dataclass
class Notice:
    """What the notice templates see as ``c``."""

    kind: str
    org: Organisation
    customer: Customer
    portal_url: str
    lines: list[Any] = field(default_factory=list)
    payment: Any = None
    unallocated_cents: int = 0
    as_of: dt.date | None = None
    request: DebtorRequest | None = None
    invoices: list[Invoice] = field(default_factory=list)
    # a payment plan's e-mails (domain.arrangements): the plan, its instalments, the one it is about
    arrangement: Any = None
    instalments: list[Any] = field(default_factory=list)
    instalment: Any = None

    @staticmethod
    def days(n: int) -> dt.timedelta:
        return dt.timedelta(days=n)

    @property
    def locale(self) -> str:
        return language(self.customer.locale)

    @property
    def country(self) -> str | None:
        return country_of(self.customer, self.org)

    words: str = ""  # the template with its words, set by ``PortalMailer.render`` (see ``words_template``)


class PortalMailer:
    def __init__(self, settings: Settings, link_days: int = 30) -> None:
        self.settings = settings
        self.link_days = link_days
        self.env = environment()

    def portal_url(self, session: Session, customer: Customer) -> str:
        link = portal_links.issue(
            session, customer, secret_keys=self.settings.secret_keys, base_url=self.settings.base_url,
            now=dt.datetime.now(dt.UTC), expires_in_days=self.link_days,
        )  # fmt: skip
        return link.url

    def render(self, notice: Notice) -> Rendered:
        notice.words = words_template(self.env, notice.locale, notice.country, notice.kind)
        words = self.env.get_template(notice.words).module
        subject = " ".join(str(words.subject(notice)).split())  # type: ignore[attr-defined]
        return Rendered(
            subject=subject,
            text=self.env.get_template("email/notice.txt.j2").render(c=notice),
            html=self.env.get_template("email/notice.html.j2").render(c=notice),
        )

    def thank_you(self, receipt: Receipt) -> Rendered:
        return self.render(
            Notice("thank_you", receipt.org, receipt.customer, receipt.portal_url, lines=list(receipt.lines),
                   payment=receipt.payment, unallocated_cents=receipt.unallocated_cents, as_of=receipt.as_of)
        )  # fmt: skip

    def fresh_link(self, org: Organisation, customer: Customer, url: str) -> Rendered:
        return self.render(Notice("portal_link", org, customer, url))

    def acknowledgement(self, org: Organisation, customer: Customer, request: DebtorRequest,
                        invoices: list[Invoice], url: str) -> Rendered:  # fmt: skip
        return self.render(Notice("request_received", org, customer, url, request=request, invoices=invoices))

    def arrangement_notice(self, kind: str, org: Organisation, customer: Customer, arrangement: Arrangement,
                           instalments: list[ArrangementInstalment], instalment: ArrangementInstalment | None,
                           url: str, as_of: dt.date) -> Rendered:  # fmt: skip
        """A payment plan's e-mail (``domain.arrangements.Composer``); its link opens the plan."""
        return self.render(Notice(kind, org, customer, f"{url}#arrangement", as_of=as_of, arrangement=arrangement,
                                  instalments=list(instalments), instalment=instalment))  # fmt: skip
