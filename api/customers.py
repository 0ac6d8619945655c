"""Customers, their account statement and their portal links."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from api import docs, idempotency
from api.arrangements import read_many as read_arrangements
from api.auth import Auth
from api.docs import responses
from api.pagination import Cursor, Limit, page
from api.schemas import (
    CustomerCreate,
    CustomerPage,
    CustomerPatch,
    CustomerRead,
    PortalLinkCreate,
    PortalLinkRead,
    RevokeRead,
    StatementRead,
)
from domain import arrangements, customers, portal_links, statement
from domain.errors import ValidationError
from domain.models import Customer, Organisation


class CustomerController(Controller):
    path = "/customers"
    tags = ["customers"]

    @post("/", opt={"scope": "customers:write"}, sync_to_thread=True, status_code=201, summary="Create a customer",
          responses=responses(CustomerRead, docs.CUSTOMER, 409, 413, status=201, description="The customer"))
    def create(self, request: Request[Any, Any, Any], db: Session, auth: Auth, data: CustomerCreate) -> Response[Any]:
        """Create a customer (the debtor). ``external_ref`` is unique per organisation."""

        def action() -> tuple[int, Any]:
            fields = {f: getattr(data, f) for f in data.__struct_fields__}
            made = customers.create(db, auth.org_id, **fields)
            return 201, CustomerRead.of(made, db.get_one(Organisation, auth.org_id))

        return idempotency.run(request, db, auth, data, action)

    @get("/", opt={"scope": "customers:read"}, sync_to_thread=True, summary="List customers",
         responses=responses(CustomerPage, docs.page_of(docs.CUSTOMER), description="A page of customers"))
    def list_customers(
        self, db: Session, auth: Auth, external_ref: str | None = None, cursor: Cursor = None, limit: Limit = None,
    ) -> CustomerPage:
        """Customers oldest first, ``limit`` at a time; ``external_ref`` finds the one with that reference."""
        stmt = select(Customer).where(Customer.org_id == auth.org_id)
        if external_ref is not None:
            stmt = stmt.where(Customer.external_ref == external_ref)
        rows, nxt = page(db, stmt, Customer.id, cursor, limit)
        org = db.get_one(Organisation, auth.org_id)
        return CustomerPage(items=[CustomerRead.of(c, org) for c in rows], next_cursor=nxt)

    @get("/{customer_id:str}", opt={"scope": "customers:read"}, sync_to_thread=True, summary="Read a customer",
         responses=responses(CustomerRead, docs.CUSTOMER, 404, description="The customer"))
    def get_customer(self, db: Session, auth: Auth, customer_id: str) -> CustomerRead:
        """The customer by Settle's id (``GET /customers?external_ref=`` finds one by your reference)."""
        return CustomerRead.of(customers.get(db, auth.org_id, customer_id), db.get_one(Organisation, auth.org_id))

    @patch("/{customer_id:str}", opt={"scope": "customers:write"}, sync_to_thread=True, summary="Change a customer",
           responses=responses(CustomerRead, docs.CUSTOMER, 404, 409, 413, description="The customer as changed"))
    def update(self, db: Session, auth: Auth, customer_id: str, data: CustomerPatch) -> CustomerRead:
        """Change only the fields sent; ``null`` clears an optional field."""
        customer = customers.update(db, auth.org_id, customer_id, data.changes())
        db.commit()
        return CustomerRead.of(customer, db.get_one(Organisation, auth.org_id))

    @get("/{customer_id:str}/statement", opt={"scope": "customers:read"}, sync_to_thread=True,
         summary="A customer's account statement",
         responses=responses(StatementRead, docs.STATEMENT, 404, description="The statement on as_of"))
    def get_statement(self, db: Session, auth: Auth, customer_id: str, as_of: dt.date | None = None) -> StatementRead:
        """Open invoices with fees, costs and interest shown apart, and totals per currency."""
        customer = customers.get(db, auth.org_id, customer_id)
        read = StatementRead.of(statement.read(db, customer, as_of or dt.date.today()).statement,
                                db.get_one(Organisation, auth.org_id))  # fmt: skip
        read.arrangements = read_arrangements(db, auth.org_id, arrangements.of_customer(db, auth.org_id, customer.id))
        return read

    @post("/{customer_id:str}/portal-links", opt={"scope": "customers:write"}, sync_to_thread=True, status_code=201,
          summary="Issue a portal link",
          responses=responses(PortalLinkRead, docs.PORTAL_LINK, 404, 409, 413, status=201, description="The link"))
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
        "/{customer_id:str}/portal-links/revoke", opt={"scope": "customers:write"}, sync_to_thread=True,
        status_code=200,
        summary="Revoke a customer's portal links",
        responses=responses(RevokeRead, docs.REVOKED, 404, 409, description="Every link issued so far is void"),
    )
    def revoke_links(self, request: Request[Any, Any, Any], db: Session, auth: Auth, customer_id: str) -> Response[Any]:
        """Invalidate every portal link issued to this customer so far."""
        customer = customers.get(db, auth.org_id, customer_id)

        def action() -> tuple[int, Any]:
            return 200, RevokeRead(revoked=True, link_version=portal_links.revoke_all(db, customer))

        return idempotency.run(request, db, auth, None, action)
