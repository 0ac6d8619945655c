"""The ASGI application: API, portal and webhooks over one database."""

from __future__ import annotations

import asyncio

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy import Engine

from adapters.composer import JinjaComposer
from adapters.db import RequestSessions, handler_executor, make_serving_engine, provide_reader, provide_writer
from adapters.portal_mail import PortalMailer
from adapters.settings import Settings, get_settings
from adapters.sms import provider_for
from adapters.stores import RATE_LIMIT_STORE, make_store
from api.docs import ReferencePage
from api.errors import EXCEPTION_HANDLERS
from api.nul import NulGuard
from api.router import API_PREFIX, build_router
from portal import routes as portal
from portal.delivery import Courier


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_composer(state: State) -> JinjaComposer:
    composer: JinjaComposer = state.composer
    return composer


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Litestar:
    settings = settings or get_settings()
    own_engine = engine is None
    engine = engine or make_serving_engine(settings.database_url)
    sessions = RequestSessions.on(engine)
    # The edges, built once and handed to every request (handlers never construct them).
    state = State({
        "settings": settings, "engine": engine, "sessions": sessions,
        "composer": JinjaComposer(settings), "mailer": PortalMailer(settings),
        "courier": Courier(sessions.writer, settings.mail_url, settings.mail_from),
        "sms": provider_for(settings),  # verifies the SMS provider's webhooks; None when none is set up
    })  # fmt: skip

    def on_startup(app: Litestar) -> None:
        # Sync handlers run here (Litestar uses the loop's default executor): a known number of
        # threads, sized with the pool (see ``adapters.db.RequestSessions``).
        asyncio.get_running_loop().set_default_executor(handler_executor())

    def on_shutdown(app: Litestar) -> None:
        sessions.close()
        if own_engine:
            engine.dispose()

    return Litestar(
        route_handlers=[build_router(), *portal.route_handlers()],
        dependencies={
            "db": Provide(provide_reader),
            "wdb": Provide(provide_writer),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "composer": Provide(provide_composer, sync_to_thread=False),
        },
        exception_handlers=portal.html_for_portal(EXCEPTION_HANDLERS),
        before_send=[portal.portal_headers],
        middleware=[NulGuard],  # NulGuard: a NUL in path, query or body is a 400
        stores={RATE_LIMIT_STORE: make_store(settings)},
        state=state,
        openapi_config=OpenAPIConfig(
            title="Settle back-office API",
            version="1.0.0",
            path=f"{API_PREFIX}/schema",
            description=(
                "Customers, invoices, payments, policies, requests, tasks, bank statements and reports "
                "of one organisation. Authenticate with `Authorization: Bearer <api key>`. Money is a "
                "two-decimal string with an ISO currency; every POST honours `Idempotency-Key`."
            ),
            components=Components(security_schemes={"BearerAuth": SecurityScheme(type="http", scheme="bearer")}),
            render_plugins=[ReferencePage(path="/docs")],
        ),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        debug=False,
    )


def asgi_factory() -> Litestar:
    """Entry point for ``uvicorn --factory settle.app:asgi_factory``."""
    return create_app()
