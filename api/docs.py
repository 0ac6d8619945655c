"""A self-contained API reference page at ``/api/v1/docs``.

The usual OpenAPI viewers load their JavaScript from a CDN, which a
self-hosted Settle behind a firewall (and its strict CSP) cannot reach. This
page is rendered on the server from the same schema, with no script at all.
"""

from __future__ import annotations

import html
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.openapi.plugins import OpenAPIRenderPlugin

_METHODS = ("get", "post", "put", "patch", "delete")
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#1a1a1a}"
    "h2{margin-top:2em;border-bottom:1px solid #ddd}code{background:#f4f4f4;padding:1px 4px}"
    ".op{margin:1em 0;padding:.5em 1em;border-left:4px solid #0b5cad}.m{font-weight:bold;text-transform:uppercase}"
    "table{border-collapse:collapse}td{padding:2px 8px;border-bottom:1px solid #eee;vertical-align:top}"
)


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


@get("/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> Response[Any]:
    """The OpenAPI 3 schema of the back-office API."""
    return Response(request.app.openapi_schema.to_schema(), media_type=MediaType.JSON)


@get("/docs", include_in_schema=False, sync_to_thread=False, media_type=MediaType.HTML)
def docs_page(request: Request[Any, Any, Any]) -> bytes:
    """The reference page, rendered from the schema."""
    return ReferencePage().render(request, request.app.openapi_schema.to_schema())
