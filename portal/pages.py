"""Rendering portal pages: the shared Jinja environment, the words, and an HTML response."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import MediaType, Response

from adapters.rendering import environment
from portal.i18n import Translator


def render_html(template: str, *, lang: str, country: str | None = None, **context: Any) -> str:
    """The page in ``lang``; ``country`` (the debtor's, when known) picks a country's own words."""
    return environment().get_template(template).render(lang=lang, t=Translator(lang, country), **context)


def render(
    template: str,
    *,
    lang: str,
    country: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[Any]:
    return Response(
        render_html(template, lang=lang, country=country, **context),
        status_code=status,
        media_type=MediaType.HTML,
        headers=headers,
    )


def today() -> dt.date:
    return dt.date.today()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
