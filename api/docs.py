"""A self-contained API reference page at ``/api/v1/docs``.

The usual OpenAPI viewers load their JavaScript from a CDN, which a
self-hosted Settle behind a firewall (and its strict CSP) cannot reach. This
page is rendered on the server from the same schema, with no script at all.
"""

from __future__ import annotations

import html
import inspect
from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Request, Response, Router, get
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import Example, OpenAPIMediaType, Operation, RequestBody, Schema

from api.errors import Error, error_body

# The error responses: every one is the ``Error`` component, ``{error, message, field}``.
# ``COMMON_ERRORS`` are documented on every operation (``api.router``); 404, 409 and 413 on
# the operations that answer them (``responses(...)`` below).
_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("The request is not of the documented shape: not JSON, a wrong type, a missing field, "
          "a NUL character", "the request body is not valid JSON: unexpected character at line 1, column 14 "
          "(byte 13)", "body"),
    401: ("No API key (send `Authorization: Bearer <key>`), or one that is invalid or revoked",
          "invalid or revoked API key", None),
    403: ("The API key lacks the scope this operation needs", "this API key lacks the scope invoices:write", None),
    404: ("No such resource in this organisation", "no customer 'cus_01J9Z3'", "customer_id"),
    409: ("A conflict with what is stored: a duplicate, an `Idempotency-Key` used for a different request, "
          "a state that no longer allows this", "this Idempotency-Key was used for a different request",
          "Idempotency-Key"),
    413: ("The body is larger than this operation accepts", "the request body is larger than 1 MB", "body"),
    422: ("A value of the right type that is refused: outside its declared bounds, or by the rules "
          "(an unknown customer reference, an amount that is not two decimals, ...)",
          "limit must be between 1 and 500", "limit"),
    429: ("Too many requests; retry after the `Retry-After` seconds", "too many requests", None),
    503: ("The database is busy; retry after the `Retry-After` seconds", "the database is busy; try again in a moment",
          None),
}  # fmt: skip
COMMON_ERRORS = (400, 401, 403, 422, 429, 503)


def error_response(status: int) -> ResponseSpec:
    description, message, field = _ERRORS[status]
    code = "database_busy" if status == 503 else None
    return ResponseSpec(
        data_container=Error, description=description, generate_examples=False,
        examples=[Example(summary=description.split(":")[0], value=error_body(status, message, field, code))],
    )  # fmt: skip


def common_error_responses() -> dict[int, ResponseSpec]:
    return {status: error_response(status) for status in COMMON_ERRORS}


def responses(model: Any, example: Any, *errors: int, status: int = 200,
              description: str = "Done") -> dict[int, ResponseSpec]:  # fmt: skip
    """The success response (``model``, with ``example``) and the operation's own ``errors``
    (404, 409, 413); the common ones are added router-wide."""
    ok = ResponseSpec(data_container=model, description=description, generate_examples=False,
                      examples=[Example(summary=description, value=example)])  # fmt: skip
    return {status: ok, **{code: error_response(code) for code in errors}}


def documented(router: Router) -> Router:
    """Router-wide documentation: every operation of ``router`` answers the common errors (an
    operation's own ``responses`` win), and its docstring is its description."""
    for route in router.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or not handler.include_in_schema:
                continue
            handler.responses = {**common_error_responses(), **(handler.responses or {})}
            if handler.description is None and handler.fn.__doc__:
                handler.description = inspect.cleandoc(handler.fn.__doc__)
    return router


@dataclass
class StatementFileOperation(Operation):
    """An operation whose body is a file, not JSON (``POST /bank-statements``): the body is read
    raw by a dependency, so Litestar does not see it; documented here."""

    def __post_init__(self) -> None:
        binary = OpenAPIMediaType(schema=Schema(type="string", format="binary"))  # type: ignore[arg-type]
        self.request_body = RequestBody(
            description="The statement file as it came from the bank: CAMT.053 (XML) or MT940, at most 50 MB",
            content={"application/octet-stream": binary, "application/xml": binary, "text/plain": binary},
            required=True,
        )  # fmt: skip


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"items": [item], "next_cursor": None}


# Examples of each answer, as the API writes them.
_AT = "2026-03-02T09:30:00.000000+00:00"
CUSTOMER: dict[str, Any] = {
    "id": "cus_01JNQ3Z8K4", "external_ref": "C-1001", "name": "Bakkerij Jansen B.V.",
    "email": "ap@jansen.example", "phone": "+31201234567", "kind": "business", "locale": "nl",
    "payment_term_days": 30, "policy_id": None, "address": "Dorpsstraat 1\n1234 AB Amsterdam", "created_at": _AT,
    "country": "NL", "country_inherited": True, "regular_supply": False,
    "sms_opt_out": False,
}  # fmt: skip
INVOICE: dict[str, Any] = {
    "id": "inv_01JNQ40B2S", "customer_id": CUSTOMER["id"], "number": "F-2026-0042", "issue_date": "2026-03-01",
    "due_date": "2026-03-31", "amount": "1234.56", "currency": "EUR", "open_amount": "1234.56", "status": "open",
    "payment_reference": "RF18539007547034", "description": "Levering maart", "pdf_url": None, "paid_on": None,
    "fees": "0.00", "costs": "0.00", "interest": "0.00",
    "dunning": {"stage": None, "step": 0, "next_action_on": "2026-04-07", "paused_until": None, "pause_reason": None},
    "created_at": _AT,
}  # fmt: skip
PAYMENT: dict[str, Any] = {
    "id": "pay_01JNQ41C7T", "customer_id": CUSTOMER["id"], "amount": "1234.56", "currency": "EUR",
    "status": "paid", "method": "bank_transfer", "provider": None, "received_on": "2026-03-20",
    "reference": "F-2026-0042", "unallocated_amount": "0.00",
    "allocations": [{"invoice_id": INVOICE["id"], "amount": "1234.56"}], "created_at": _AT,
    "provider_payment_id": None, "refunded_amount": "0.00",
}  # fmt: skip
POLICY: dict[str, Any] = {
    "id": "pol_01JNQ42D9V", "name": "Zakelijk", "is_default": True, "priority": 100,
    "applies_to": {"customer_kind": "business"},
    "steps": [{"position": 1, "kind": "reminder", "days_after_due": 7, "channel": "email", "fee": "0.00",
               "template": None},
              {"position": 2, "kind": "final_notice", "days_after_due": 21, "channel": "email", "fee": "0.00",
               "template": None}],
    "customer_ids": [], "created_at": _AT,
}  # fmt: skip
STATEMENT: dict[str, Any] = {
    "customer": CUSTOMER, "as_of": "2026-04-15",
    "invoices": [{"invoice_id": INVOICE["id"], "number": "F-2026-0042", "issue_date": "2026-03-01",
                  "due_date": "2026-03-31", "days_overdue": 15, "status": "open", "currency": "EUR",
                  "amount": "1234.56", "open_amount": "1234.56", "principal_open": "1234.56", "fees": "0.00",
                  "costs": "0.00", "interest": "0.00", "payment_reference": "RF18539007547034"}],
    "totals": [{"currency": "EUR", "principal": "1234.56", "fees": "0.00", "costs": "0.00", "interest": "0.00",
                "total": "1234.56"}],
    "currency": "EUR", "total": "1234.56", "credits": [],
}  # fmt: skip
PORTAL_LINK: dict[str, Any] = {"url": "https://pay.example.nl/portal/s/eyJjIjoi...", "expires_at": _AT}
REVOKED: dict[str, Any] = {"revoked": True, "link_version": 2}
BULK: dict[str, Any] = {
    "items": [{"index": 0, "ok": True, "status": 201, "invoice": INVOICE},
              {"index": 1, "ok": False, "status": 409,
               "error": error_body(409, "invoice number F-2026-0042 already exists", "number", "duplicate_number")}],
    "created": 1, "failed": 1,
}  # fmt: skip
TASK: dict[str, Any] = {
    "id": "tsk_01JNQ43E1W", "kind": "call", "title": "Bel Bakkerij Jansen over F-2026-0042", "status": "open",
    "customer_id": CUSTOMER["id"], "invoice_ids": [INVOICE["id"]], "due_on": "2026-04-22", "outcome": None,
    "note": None, "promised_on": None, "created_at": _AT, "completed_at": None,
}  # fmt: skip
PREVIEW: dict[str, Any] = {
    "as_of": "2026-04-15",
    "items": [{"customer_id": CUSTOMER["id"], "customer_name": "Bakkerij Jansen B.V.", "kind": "reminder",
               "channel": "email", "to": "ap@jansen.example", "invoices": ["F-2026-0042"], "skipped": []}],
    "examined": 1, "messages": 1, "tasks": 0, "skipped": 0,
    "arrangements": [{"kind": "instalment_reminder", "arrangement_id": "arr_01JNQ5A1B2", "customer_id": CUSTOMER["id"],
                      "customer_name": "Bakkerij Jansen B.V.", "to": "ap@jansen.example", "instalment": 2,
                      "amount": "33.33", "currency": "EUR"}],
}  # fmt: skip
EVENT: dict[str, Any] = {
    "id": "evt_01JNQ44F3X", "kind": "invoice.created", "subject_type": "invoice", "subject_id": INVOICE["id"],
    "actor": "api_key:key_01JNQ3", "data": {"number": "F-2026-0042"}, "occurred_at": _AT,
}  # fmt: skip
_AGING_LINE = {"currency": "EUR", "not_due": "0.00", "1_30": "1234.56", "31_60": "0.00", "61_90": "0.00",
               "over_90": "0.00", "total": "1234.56"}  # fmt: skip
AGING: dict[str, Any] = {
    "as_of": "2026-04-15", "buckets": ["not_due", "1_30", "31_60", "61_90", "over_90"], "totals": [_AGING_LINE],
    "customers": [{**_AGING_LINE, "customer_id": CUSTOMER["id"], "customer_name": "Bakkerij Jansen B.V."}],
}  # fmt: skip
DSO: dict[str, Any] = {"as_of": "2026-04-15", "period_days": 90,
                       "items": [{"currency": "EUR", "receivables": "1234.56", "sales": "3703.68", "dso": "30.0"}]}
BEHAVIOUR: dict[str, Any] = {
    "customer_id": CUSTOMER["id"], "paid_invoices": 8, "average_days_late": "3.5", "on_time_ratio": "0.75",
    "reminders_needed": 2, "open_invoices": 1, "segment": "loyal",
}  # fmt: skip
IMPORT: dict[str, Any] = {
    "statements": 1, "lines": 12, "new": 12, "duplicates": 0, "credits": 9, "matched": 8, "unmatched": 1,
    "matched_amount": "9876.54", "warnings": [], "problems": [],
}  # fmt: skip
TRANSACTION: dict[str, Any] = {
    "id": "btx_01JNQ45G5Y", "status": "unmatched", "booking_date": "2026-03-20", "amount": "1234.56",
    "currency": "EUR", "counterparty_name": "BAKKERIJ JANSEN BV", "counterparty_iban": "NL91ABNA0417164300",
    "remittance": "factuur 2026-0042", "structured_reference": None, "payment_id": None,
    "candidates": [{"invoice_id": INVOICE["id"], "number": "F-2026-0042", "customer_id": CUSTOMER["id"],
                    "open_amount": "1234.56", "due_date": "2026-03-31"}],
    "unmatched_reason": None, "unmatched_message": None,
}  # fmt: skip
REQUEST: dict[str, Any] = {
    "id": "req_01JNQ46H7Z", "customer_id": CUSTOMER["id"], "kind": "extension", "status": "open",
    "reason": None, "message": "Kunnen we twee weken later betalen?", "requested_date": "2026-04-14",
    "invoice_ids": [INVOICE["id"]], "invoice_numbers": ["F-2026-0042"], "decision_note": None,
    "new_due_date": None, "created_at": _AT, "resolved_at": None,
}  # fmt: skip
PROVIDER: dict[str, Any] = {
    "provider": "mollie", "enabled": True, "methods": ["ideal", "bancontact"], "api_key_set": True,
    "webhook_secret_set": False, "webhook_url": "https://pay.example.nl/webhooks/mollie/acme", "mode": "test",
}  # fmt: skip

_METHODS = ("get", "post", "put", "patch", "delete")
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#1a1a1a}"
    "h2{margin-top:2em;border-bottom:1px solid #ddd}code{background:#f4f4f4;padding:1px 4px}"
    ".op{margin:1em 0;padding:.5em 1em;border-left:4px solid #0b5cad}.m{font-weight:bold;text-transform:uppercase}"
    "table{border-collapse:collapse}td{padding:2px 8px;border-bottom:1px solid #eee;vertical-align:top}"
)


def _example(op: dict[str, Any]) -> str | None:
    """The first example of the operation's success answer, as indented JSON."""
    import json

    for status in ("200", "201"):
        examples = op.get("responses", {}).get(status, {}).get("content", {}).get("application/json", {}).get(
            "examples", {})  # fmt: skip
        for example in examples.values():
            if "value" in example:
                return json.dumps(example["value"], indent=2, ensure_ascii=False)
    return None


def _ref_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"list of {_ref_name(schema.get('items'))}"
    return str(schema.get("type", ""))


def _fields(components: dict[str, Any], name: str) -> str:
    schema = components.get(name)
    if not schema or "properties" not in schema:
        return ""
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{html.escape(prop)}</code>{' *' if prop in required else ''}</td>"
        f"<td>{html.escape(_ref_name(spec) or ', '.join(_ref_name(s) for s in spec.get('oneOf', [])))}</td></tr>"
        for prop, spec in schema["properties"].items()
    )
    return f"<table>{rows}</table>"


class ReferencePage(OpenAPIRenderPlugin):
    def __init__(self, path: str = "/docs") -> None:
        super().__init__(path=path)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        info = openapi_schema.get("info", {})
        components = openapi_schema.get("components", {}).get("schemas", {})
        by_tag: dict[str, list[str]] = {}
        for path, item in sorted(openapi_schema.get("paths", {}).items()):
            for method in _METHODS:
                op = item.get(method)
                if not op:
                    continue
                tag = (op.get("tags") or ["other"])[0]
                body_ref = _ref_name(
                    op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
                )
                params = ", ".join(
                    f"<code>{html.escape(p['name'])}</code>" for p in op.get("parameters", []) if p.get("in") == "query"
                )
                parts = [
                    f'<div class="op"><span class="m">{method}</span> <code>{html.escape(path)}</code>',
                    f"<p>{html.escape(op.get('summary', ''))}</p>",
                ]
                if op.get("description"):
                    parts.append(f"<p>{html.escape(op['description'])}</p>")
                if params:
                    parts.append(f"<p>Query: {params}</p>")
                if body_ref:
                    parts.append(f"<p>Body: <code>{html.escape(body_ref)}</code></p>{_fields(components, body_ref)}")
                example = _example(op)
                if example is not None:
                    parts.append(f"<details><summary>Example answer</summary><pre>{html.escape(example)}</pre>"
                                 "</details>")
                parts.append("</div>")
                by_tag.setdefault(tag, []).append("".join(parts))
        sections = "".join(f"<h2>{html.escape(tag)}</h2>{''.join(ops)}" for tag, ops in sorted(by_tag.items()))
        page = (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(info.get('title', ''))}"
            f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(info.get('title', ''))}</h1>"
            f"<p>{html.escape(info.get('description', ''))}</p>"
            f"<p>Machine-readable schema: <a href='/api/v1/openapi.json'>openapi.json</a></p>{sections}</body></html>"
        )
        return page.encode()


def strict_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """Say ``additionalProperties: false`` for the request bodies that refuse unknown fields
    (msgspec ``forbid_unknown_fields``), which Litestar's generator does not."""
    import msgspec

    from api import arrangements, schemas

    found = document.get("components", {}).get("schemas", {})
    for name, value in [*vars(schemas).items(), *vars(arrangements).items()]:
        if (isinstance(value, type) and issubclass(value, msgspec.Struct) and name in found
                and value.__struct_config__.forbid_unknown_fields):  # fmt: skip
            found[name]["additionalProperties"] = False
    return document


@get("/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> Response[Any]:
    """The OpenAPI 3 schema of the back-office API."""
    return Response(strict_bodies(request.app.openapi_schema.to_schema()), media_type=MediaType.JSON)


@get("/docs", include_in_schema=False, sync_to_thread=False, media_type=MediaType.HTML)
def docs_page(request: Request[Any, Any, Any]) -> bytes:
    """The reference page, rendered from the schema."""
    return ReferencePage().render(request, request.app.openapi_schema.to_schema())
