"""The OpenAPI document is the truth: schemathesis over every operation of ``/api/v1``.

The schema is loaded from the running app (``/api/v1/openapi.json``) and each operation is called
in process (ASGI) with a bounded number of generated requests, an API key with every scope, and
seeded data (a customer, an invoice, a policy) whose ids are used for half the path parameters, so
that requests reach the handlers' own checks and not only their 404. The checks:

- ``not_a_server_error``: no 5xx;
- ``response_schema_conformance``: every answer (errors too) matches the schema of its status;
- ``status_code_conformance``: no status code the operation does not document;
- ``positive_data_acceptance``: a request the schema calls valid is not refused with a 400 or 422
  (a 404 for an id that does not exist, or a 409 for a number already taken, is an answer).

Requests the schema calls invalid (negative mode) must be refused with a documented 4xx, never a 5xx.
SQLite by default, PostgreSQL when ``SETTLE_TEST_DATABASE_URL`` says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from adapters.settings import Settings
from settle.app import create_app
from tests.conftest import Api, Tenant

# Examples per operation and mode: bounded so the whole run stays well under two minutes on two cores.
EXAMPLES = int(os.environ.get("SETTLE_CONTRACT_EXAMPLES", "12"))
# Operations whose rules no JSON Schema can say: a schema-valid request may still be refused with
# the domain's 422 naming the field. Each names why; every other operation must accept what its
# schema calls valid (a 404 for an unknown id or a 409 for a taken number excepted).
RULES_BEYOND_THE_SCHEMA = {
    "POST /api/v1/invoices": "customer_id or customer_external_ref (one of two), dates in the accepted window, "
                             "due_date not before issue_date, open_amount not above amount, a payment reference's "
                             "check digit",
    "POST /api/v1/payments": "customer_id and the allocated invoices must exist (422 naming them), allocations "
                             "not above the amount, dates in the accepted window",
    "POST /api/v1/policies": "days_after_due or days_after_previous (one of two), each step later than the one "
                             "before, templates that exist, customer_ids that exist",
    "PUT /api/v1/policies/{policy_id}": "as POST /policies, and the default policy stays a default",
    "GET /api/v1/dunning/preview": "as_of in the accepted window (2000-01-01 to 2099-12-31)",
    "GET /api/v1/reports/aging": "as_of in the accepted window",
    "GET /api/v1/reports/dso": "as_of in the accepted window",
    "GET /api/v1/customers/{customer_id}/statement": "as_of in the accepted window",
    "GET /api/v1/events": "after/cursor must be an event id of this organisation, and not two different ones",
    "PATCH /api/v1/organisation": "IBAN, VAT, KvK, enterprise and phone numbers by their own check digits and formats",
    "POST /api/v1/bank-statements": "the body must be a CAMT.053 or MT940 file (a grammar, not a JSON Schema)",
    "POST /api/v1/bank-transactions/{transaction_id}/match": "the invoices and customer must exist, allocations "
                                                             "not above the transaction's amount",
    "POST /api/v1/invoices/{invoice_id}/pause": "until after today",
    "POST /api/v1/tasks/{task_id}/complete": "promised_on after today, and required for outcome promised",
    "POST /api/v1/requests/{request_id}/resolve": "new_due_date after today, only for accepting an extension",
    "POST /api/v1/customers": "policy_id must exist; the e-mail address as the domain reads it",
    "PATCH /api/v1/customers/{customer_id}": "policy_id must exist; name and kind cannot be null",
    "PUT /api/v1/providers/{provider}": "an api_key of the provider's own kind (Mollie test_/live_, Stripe sk_/rk_)",
    "POST /api/v1/arrangements": "customer_id and invoice_ids must exist and be open, first_due_date today or later "
                                 "and within a year, at least a cent per instalment",
    "POST /api/v1/letters/mark-posted": "posted_on not before the letters' date and not after today",
}  # fmt: skip
POSITIVE_CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, positive_data_acceptance]
NEGATIVE_CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture
def contract_app(engine: Any, settings: Settings, db: Session) -> Iterator[Litestar]:
    app = create_app(settings, engine=engine)
    yield app
    asgi.shutdown_lifespans()


def _positive_checks(label: str) -> list[Any]:
    if label in RULES_BEYOND_THE_SCHEMA:
        return [c for c in POSITIVE_CHECKS if c is not positive_data_acceptance]
    return POSITIVE_CHECKS


def _seed(client: Any, tenant: Tenant) -> dict[str, str]:
    """A customer with an invoice on a policy: the ids generated requests are pointed at."""
    api = Api(client, tenant)
    customer = api.customer(external_ref="C-1")
    invoice = api.invoice(customer["id"], "F-2026-001", amount="250.00")
    policy = api.post("/policies", json={"name": "Standaard", "steps": [{"kind": "reminder", "days_after_due": 7}],
                                         "customer_ids": [customer["id"]]})  # fmt: skip
    assert policy.status_code == 201, policy.text
    return {"customer_id": customer["id"], "invoice_id": invoice["id"], "policy_id": policy.json()["id"]}


def _describe(failure: Failure, case: Any, answer: str) -> str:
    return (f"{case.operation.label}: {failure.title}\n  {failure.message[:400]}\n  {case.as_curl_command()[:400]}"
            f"\n  -> {answer[:300]}")  # fmt: skip


def test_every_operation_keeps_to_its_documented_contract(
    client: Any, contract_app: Litestar, tenant: Tenant, db: Session
) -> None:
    ids = _seed(client, tenant)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", contract_app)
    # A NUL is refused before any handler (api.nul, a documented 400); the schema cannot say "no U+0000".
    # Strings are UTF-8 text: no lone surrogates (which no JSON decoder turns into a str).
    schema.config.generation.update(allow_x00=False, codec="utf-8")
    headers = {"Authorization": f"Bearer {tenant.key}"}
    found: dict[tuple[str, str], str] = {}

    def run(operation: Any, mode: GenerationMode, checks: list[Any]) -> None:
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode), seeded=st.booleans())
        def call(case: Any, seeded: bool) -> None:
            if seeded and mode is GenerationMode.POSITIVE:
                for name in case.path_parameters or {}:
                    if name in ids:
                        case.path_parameters[name] = ids[name]
            response = case.call(headers=headers)
            if (mode is GenerationMode.POSITIVE and operation.label in RULES_BEYOND_THE_SCHEMA
                    and response.status_code == 400):
                # The domain's rules answer 422; a 400 says the schema itself is wrong.
                found.setdefault((operation.label, "400 for a schema-valid request"),
                                 f"{operation.label}: 400 for a schema-valid request\n  {case.as_curl_command()[:400]}"
                                 f"\n  -> {response.text[:300]}")
            try:
                excluded = [c for c in POSITIVE_CHECKS if c not in checks]  # ``checks`` alone does not exclude
                case.validate_response(response, checks=checks, excluded_checks=excluded, headers=headers)
            except FailureGroup as group:
                for failure in group.exceptions:
                    found.setdefault((operation.label, failure.title), _describe(failure, case, response.text))
            except Failure as failure:
                found.setdefault((operation.label, failure.title), _describe(failure, case, response.text))

        call()

    for result in schema.get_all_operations():
        operation = result.ok()
        run(operation, GenerationMode.POSITIVE, _positive_checks(operation.label))
        run(operation, GenerationMode.NEGATIVE, NEGATIVE_CHECKS)

    assert not found, f"{len(found)} contract failures:\n" + "\n".join(found.values())
