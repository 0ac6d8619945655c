"""The ``/api/v1`` router: controllers, per-request session and API-key auth."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide

from adapters.db import provide_by_method
from api.arrangements import ArrangementController, ArrangementTermsController
from api.auth import provide_auth
from api.bank import BankController
from api.customers import CustomerController
from api.docs import docs_page, documented, openapi_json
from api.dunning import DunningController, EventController, TaskController
from api.errors import EXCEPTION_HANDLERS
from api.invoices import InvoiceController
from api.letters import LetterController
from api.organisation import OrganisationController
from api.payments import PaymentController
from api.policies import PolicyController
from api.providers import ProviderController
from api.reports import ReportController
from api.requests import RequestController

API_PREFIX = "/api/v1"


def build_router() -> Router:
    # ``documented``: the common error responses (400, 401, 403, 422, 429, 503) on every operation.
    return documented(Router(
        path=API_PREFIX,
        route_handlers=[
            openapi_json,
            docs_page,
            CustomerController,
            InvoiceController,
            PaymentController,
            PolicyController,
            TaskController,
            DunningController,
            EventController,
            ReportController,
            BankController,
            RequestController,
            ProviderController,
            OrganisationController,
            ArrangementController,
            ArrangementTermsController,
            LetterController,
        ],
        dependencies={"auth": Provide(provide_auth, sync_to_thread=True), "db": Provide(provide_by_method)},
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=1_000_000,
        security=[{"BearerAuth": []}],
    ))
