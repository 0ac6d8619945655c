"""Turns a dunning decision into words: Jinja e-mails and letters, with a fresh portal link."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from jinja2 import Environment
from sqlalchemy.orm import Session

from adapters.rendering import environment
from adapters.settings import Settings
from domain import portal_links
from domain.dunning.messages import MessageContext, Rendered
from domain.models import Customer

STATEMENT_KINDS = ("statement_reminder", "final_reminder", "formal_notice", "collection_handover")


class _View:
    """What templates see as ``c``: the message context plus its language and layout choices."""

    def __init__(self, ctx: MessageContext) -> None:
        self._ctx = ctx
        self.locale = ctx.customer.locale if ctx.customer.locale in ("nl", "en") else "nl"
        self.show_statement = ctx.kind in STATEMENT_KINDS and len(ctx.statement) > len(ctx.lines)
        # The words: the step's own template if its policy names one (checked to exist when the
        # policy was saved), else the kind's. The layouts import it as ``words``.
        self.words = f"email/{self.locale}/{ctx.template or ctx.kind}.j2"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


@functools.cache
def _environment() -> Environment:
    """The shared environment without the per-render check of every template file's mtime:
    a run renders the same few templates for every message (seven lookups each)."""
    return environment().overlay(auto_reload=False)


class JinjaComposer:
    def __init__(self, settings: Settings, link_days: int = 30) -> None:
        self.settings = settings
        self.link_days = link_days
        self.env = _environment()

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

    def _subject(self, view: _View) -> str:
        module = self.env.get_template(view.words).module
        return " ".join(str(module.subject(view)).split())  # type: ignore[attr-defined]

    def email(self, ctx: MessageContext) -> Rendered:
        view = _View(ctx)
        return Rendered(
            subject=self._subject(view),
            text=self.env.get_template("email/layout.txt.j2").render(c=view),
            html=self.env.get_template("email/layout.html.j2").render(c=view),
        )

    def letter(self, ctx: MessageContext) -> Rendered:
        view = _View(ctx)
        html = self.env.get_template("letters/letter.html.j2").render(c=view)
        return Rendered(subject=self._subject(view), text="", html=html)
