"""Customers, their account statement and their portal links."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from api import idempotency
from api.auth import Auth
from api.pagination import page
from api.schemas import (
    CustomerCreate,
    CustomerPatch,
    CustomerRead,
    Page,
    PortalLinkCreate,
    PortalLinkRead,
    RevokeRead,
    StatementRead,
)
from domain import customers, portal_links, statement
from domain.errors import ValidationError
from domain.models import Customer


class CustomerController(Controller):
    path = "/customers"
    tags = ["customers"]

    @post("/", opt={"scope": "customers:write"}, sync_to_thread=True, status_code=201)
    def create(self, request: Request[Any, Any, Any], db: Session, auth: Auth, data: CustomerCreate) -> Response[Any]:
        """Create a customer (the debtor). ``external_ref`` is unique per organisation."""

        def action() -> tuple[int, Any]:
            fields = {f: getattr(data, f) for f in data.__struct_fields__}
            return 201, CustomerRead.of(customers.create(db, auth.org_id, **fields))

        return idempotency.run(request, db, auth, data, action)

    @get("/", opt={"scope": "customers:read"}, sync_to_thread=True)
    def list_customers(
        self, db: Session, auth: Auth, external_ref: str | None = None, cursor: str | None = None,
        limit: int | None = None,
    ) -> Page:
        stmt = select(Customer).where(Customer.org_id == auth.org_id)
        if external_ref is not None:
            stmt = stmt.where(Customer.external_ref == external_ref)
        rows, nxt = page(db, stmt, Customer.id, cursor, limit)
        return Page(items=[CustomerRead.of(c) for c in rows], next_cursor=nxt)

    @get("/{customer_id:str}", opt={"scope": "customers:read"}, sync_to_thread=True)
    def get_customer(self, db: Session, auth: Auth, customer_id: str) -> CustomerRead:
        return CustomerRead.of(customers.get(db, auth.org_id, customer_id))

    @patch("/{customer_id:str}", opt={"scope": "customers:write"}, sync_to_thread=True)
    def update(self, db: Session, auth: Auth, customer_id: str, data: CustomerPatch) -> CustomerRead:
        """Change only the fields sent; ``null`` clears an optional field."""
        customer = customers.update(db, auth.org_id, customer_id, data.changes())
        db.commit()
        return CustomerRead.of(customer)

    @get("/{customer_id:str}/statement", opt={"scope": "customers:read"}, sync_to_thread=True)
    def get_statement(self, db: Session, auth: Auth, customer_id: str, as_of: dt.date | None = None) -> StatementRead:
        """Open invoices with fees, costs and interest shown apart, and totals per currency."""
        customer = customers.get(db, auth.org_id, customer_id)
        return StatementRead.of(statement.read(db, customer, as_of or dt.date.today()).statement)

    @post("/{customer_id:str}/portal-links", opt={"scope": "customers:write"}, sync_to_thread=True, status_code=201)
    def create_link(
        self, request: Request[Any, Any, Any], db: Session, auth: Auth, settings: Settings,
        customer_id: str, data: PortalLinkCreate | None = None,
    ) -> Response[Any]:
        """A signed link to the customer's portal, valid ``expires_in_days`` (1 to 365, default 30)."""
        body = data or PortalLinkCreate()
        customer = customers.get(db, auth.org_id, customer_id)
        if not 1 <= body.expires_in_days <= portal_links.MAX_DAYS:
            raise ValidationError(f"expires_in_days must be between 1 and {portal_links.MAX_DAYS}", "expires_in_days")
        settings.require_secret()

        def action() -> tuple[int, Any]:
            link = portal_links.issue(
                db, customer, secret_keys=settings.secret_keys, base_url=settings.base_url,
                now=dt.datetime.now(dt.UTC), expires_in_days=body.expires_in_days,
            )
            return 201, PortalLinkRead(url=link.url, expires_at=link.expires_at)

        return idempotency.run(request, db, auth, body, action)

    @post(
        "/{customer_id:str}/portal-links/revoke", opt={"scope": "customers:write"}, sync_to_thread=True, status_code=200
    )
    def revoke_links(self, request: Request[Any, Any, Any], db: Session, auth: Auth, customer_id: str) -> Response[Any]:
        """Invalidate every portal link issued to this customer so far."""
        customer = customers.get(db, auth.org_id, customer_id)

        def action() -> tuple[int, Any]:
            return 200, RevokeRead(revoked=True, link_version=portal_links.revoke_all(db, customer))

        return idempotency.run(request, db, auth, None, action)
