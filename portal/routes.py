"""Everything the portal adds to the app: its controllers, static files, headers and error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router

from portal import sandbox
from portal.account import AccountController
from portal.arrangements import ArrangementController
from portal.errors import html_for_portal
from portal.letters import PortalLetterController
from portal.links import LinkController
from portal.mailbox import MailboxController
from portal.security import portal_headers
from portal.sms_webhooks import SmsWebhookController
from portal.webhooks import WebhookController

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MAX_FORM = 64 * 1024
MAX_WEBHOOK = 1024 * 1024

__all__ = ["html_for_portal", "portal_headers", "route_handlers"]


def route_handlers() -> list[Any]:
    pages = Router(
        path="/",
        route_handlers=[LinkController, AccountController, ArrangementController, sandbox.SandboxController,
                        MailboxController, PortalLetterController],
        request_max_body_size=MAX_FORM,
        include_in_schema=False,
    )
    hooks = Router(
        path="/",
        route_handlers=[WebhookController, SmsWebhookController],
        request_max_body_size=MAX_WEBHOOK,
        include_in_schema=False,
    )
    static = create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False)
    return [pages, hooks, static]
