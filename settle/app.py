"""The ASGI application: API, portal and webhooks over one database."""

from __future__ import annotations

from collections.abc import Iterator

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.db import make_engine, make_sessionmaker
from adapters.settings import Settings, get_settings
from api.docs import ReferencePage
from api.errors import EXCEPTION_HANDLERS
from api.router import API_PREFIX, build_router
from portal import routes as portal


def provide_db(state: State) -> Iterator[Session]:
    """One session per request; handlers commit explicitly, anything else is rolled back."""
    factory: sessionmaker[Session] = state.sessionmaker
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Litestar:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    state = State({"settings": settings, "engine": engine, "sessionmaker": make_sessionmaker(engine)})

    def on_shutdown(app: Litestar) -> None:
        if engine is not app.state.get("external_engine"):
            app.state.engine.dispose()

    return Litestar(
        route_handlers=[build_router(), *portal.route_handlers()],
        dependencies={
            "db": Provide(provide_db),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        exception_handlers=portal.html_for_portal(EXCEPTION_HANDLERS),
        before_send=[portal.portal_headers],
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
        on_shutdown=[on_shutdown],
        debug=False,
    )


def asgi_factory() -> Litestar:
    """Entry point for ``uvicorn --factory settle.app:asgi_factory``."""
    return create_app()
