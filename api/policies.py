"""Dunning policies and their steps, and which customers they apply to."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from msgspec import Meta, Struct
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api import docs, idempotency
from api.auth import Auth
from api.docs import responses
from api.pagination import Cursor, Limit, page
from domain import customers as customers_mod
from domain.dunning.rules import STEP_KINDS
from domain.errors import NotFound, ValidationError
from domain.events import record
from domain.models import Customer, Policy
from domain.money import MoneyError, format_amount, parse_amount
from domain.organisations import COUNTRIES
from domain.policies import CHANNELS, StepSpec, replace_steps, reschedule_open, validate_applies_to


class StepIn(Struct):
    kind: Annotated[str, Meta(extra_json_schema={"extra": {"enum": list(STEP_KINDS)}})]
    days_after_due: Annotated[int, Meta(extra_json_schema={"extra": {"minimum": -60, "maximum": 730}})] | None = None
    days_after_previous: Annotated[int, Meta(extra_json_schema={"extra": {"minimum": 1, "maximum": 730}})] | None = None
    channel: Annotated[str, Meta(extra_json_schema={"extra": {"enum": list(CHANNELS)}})] | None = None
    fee: Annotated[str, Meta(pattern=r"^[0-9]{1,9}(\.[0-9]{1,2})?$", examples=["15.00"])] | None = None
    template: str | None = None


class PolicyIn(Struct):
    name: Annotated[str, Meta(pattern=r"\S", max_length=200, examples=["Zakelijk"])]
    steps: Annotated[list[StepIn], Meta(min_length=1, description="In order; each later than the one before")]
    applies_to: dict[str, Any] | None = None
    # bounded: an integer the database cannot hold was a 500 (found by the contract test)
    priority: Annotated[int, Meta(ge=-1_000_000, le=1_000_000, description="Lower wins first")] = 100
    is_default: bool = False
    customer_ids: list[str] | None = None
    law: Annotated[
        str | None,
        Meta(description="NL or BE: the law this policy applies (costs, interest, terms); null: the organisation's "
             "country", extra_json_schema={"extra": {"enum": [*COUNTRIES, None]}}),
    ] = None


class StepOut(Struct):
    position: int
    kind: str
    days_after_due: int
    channel: str
    fee: str
    template: str | None


class PolicyOut(Struct):
    id: str
    name: str
    is_default: bool
    priority: int
    applies_to: dict[str, Any]
    steps: list[StepOut]
    customer_ids: list[str]
    created_at: dt.datetime
    law: str | None = None


class PolicyPage(Struct):
    items: list[PolicyOut]
    next_cursor: str | None


def _specs(steps: list[StepIn]) -> list[StepSpec]:
    from domain.policies import DEFAULT_CHANNEL

    specs: list[StepSpec] = []
    previous = 0
    for i, s in enumerate(steps):
        field = f"steps[{i}]"
        if s.days_after_due is None and s.days_after_previous is None:
            raise ValidationError("give days_after_due or days_after_previous", f"{field}.days_after_due")
        if s.days_after_due is not None:
            days = s.days_after_due
        else:
            assert s.days_after_previous is not None
            if s.days_after_previous <= 0:
                raise ValidationError("days_after_previous must be positive", f"{field}.days_after_previous")
            days = previous + s.days_after_previous
        try:
            fee = parse_amount(s.fee) if s.fee is not None else 0
        except MoneyError as exc:
            raise ValidationError(f"fee {exc}", f"{field}.fee") from None
        channel = s.channel or DEFAULT_CHANNEL.get(s.kind, "email")
        specs.append(StepSpec(s.kind, days, channel, fee, s.template))
        previous = days
    return specs


def _out(db: Session, p: Policy) -> PolicyOut:
    ids = list(db.scalars(select(Customer.id).where(Customer.org_id == p.org_id, Customer.policy_id == p.id)))
    return PolicyOut(
        id=p.id, name=p.name, is_default=p.is_default, priority=p.priority, applies_to=p.applies_to or {},
        steps=[StepOut(s.position, s.kind, s.days_after_due, s.channel, format_amount(s.fee_cents), s.template)
               for s in p.steps],
        customer_ids=sorted(ids), created_at=p.created_at, law=p.law,
    )


def _apply(db: Session, auth: Auth, policy: Policy, data: PolicyIn) -> None:
    if not data.name.strip():
        raise ValidationError("name must not be empty", "name")
    policy.name = data.name.strip()
    policy.priority = data.priority
    policy.applies_to = validate_applies_to(data.applies_to or {})
    if data.law is not None and data.law not in COUNTRIES:
        raise ValidationError(f"law must be one of {', '.join(COUNTRIES)} or null (the organisation's)", "law")
    policy.law = data.law
    replace_steps(policy, _specs(data.steps))
    if data.is_default and not policy.is_default:
        db.execute(update(Policy).where(Policy.org_id == auth.org_id, Policy.id != policy.id).values(is_default=False))
    elif not data.is_default and policy.is_default:
        raise ValidationError("make another policy the default first", "is_default")
    policy.is_default = data.is_default
    if data.customer_ids is not None:
        for i, cid in enumerate(data.customer_ids):
            try:
                customers_mod.get(db, auth.org_id, cid)
            except NotFound:
                raise ValidationError(f"no customer {cid!r}", f"customer_ids[{i}]") from None
        db.flush()
        released = set(db.scalars(select(Customer.id).where(
            Customer.org_id == auth.org_id, Customer.policy_id == policy.id, Customer.id.not_in(data.customer_ids))))
        db.execute(update(Customer).where(Customer.id.in_(released)).values(policy_id=None))
        if data.customer_ids:
            db.execute(update(Customer).where(Customer.org_id == auth.org_id, Customer.id.in_(data.customer_ids))
                       .values(policy_id=policy.id))
        db.expire_all()
        # Customers put on or taken off the policy walk their new policy's days from now on.
        for customer in db.scalars(select(Customer).where(Customer.id.in_(released | set(data.customer_ids)))):
            reschedule_open(db, customer)


def _get(db: Session, org_id: str, policy_id: str) -> Policy:
    policy = db.get(Policy, policy_id)
    if policy is None or policy.org_id != org_id:
        raise NotFound(f"no policy {policy_id!r}", "policy_id")
    return policy


class PolicyController(Controller):
    path = "/policies"
    tags = ["policies"]

    @get("/", opt={"scope": "policies:read"}, sync_to_thread=True, summary="List dunning policies",
         responses=responses(PolicyPage, docs.page_of(docs.POLICY), description="A page of policies"))
    def list_policies(self, db: Session, auth: Auth, cursor: Cursor = None, limit: Limit = None) -> PolicyPage:
        """The organisation's policies, oldest first, with their steps and the customers put on them."""
        rows, nxt = page(db, select(Policy).where(Policy.org_id == auth.org_id), Policy.id, cursor, limit)
        return PolicyPage(items=[_out(db, p) for p in rows], next_cursor=nxt)

    @post("/", opt={"scope": "policies:write"}, sync_to_thread=True, status_code=201, summary="Create a policy",
          responses=responses(PolicyOut, docs.POLICY, 409, 413, status=201, description="The policy"))
    def create(self, request: Request[Any, Any, Any], db: Session, auth: Auth, data: PolicyIn) -> Response[Any]:
        """A policy: ordered steps (``days_after_due``, or ``days_after_previous``), a rule in
        ``applies_to`` (``customer_kind``, ``segment`` new/loyal, ``loyal_after``) and/or ``customer_ids``."""

        def action() -> tuple[int, Any]:
            policy = Policy(org_id=auth.org_id, name=data.name, is_default=False, priority=data.priority)
            db.add(policy)
            _apply(db, auth, policy, data)
            db.flush()
            record(db, auth.org_id, "policy.created", policy, actor=auth.actor)
            return 201, _out(db, policy)

        return idempotency.run(request, db, auth, data, action)

    @get("/{policy_id:str}", opt={"scope": "policies:read"}, sync_to_thread=True, summary="Read a policy",
         responses=responses(PolicyOut, docs.POLICY, 404, description="The policy"))
    def get_policy(self, db: Session, auth: Auth, policy_id: str) -> PolicyOut:
        """The policy, its steps in order and the customers put on it by id."""
        return _out(db, _get(db, auth.org_id, policy_id))

    @put("/{policy_id:str}", opt={"scope": "policies:write"}, sync_to_thread=True, summary="Replace a policy",
         responses=responses(PolicyOut, docs.POLICY, 404, 409, 413, description="The policy as replaced"))
    def replace(self, db: Session, auth: Auth, policy_id: str, data: PolicyIn) -> PolicyOut:
        """Replace the policy. Steps an invoice already took are never taken again."""
        policy = _get(db, auth.org_id, policy_id)
        _apply(db, auth, policy, data)
        db.flush()
        record(db, auth.org_id, "policy.updated", policy, actor=auth.actor)
        out = _out(db, policy)
        db.commit()
        return out
