"""Customers: the debtors an organisation invoices."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Conflict, NotFound, ValidationError
from domain.events import record
from domain.locales import LANGUAGES
from domain.models import Customer, Organisation, Policy
from domain.organisations import COUNTRIES
from domain.phones import to_e164
from domain.policies import reschedule_open

KINDS = ("business", "consumer")
LOCALES = LANGUAGES  # the languages a customer can read: nl, fr, en
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

EDITABLE = ("external_ref", "name", "email", "phone", "kind", "locale", "payment_term_days", "policy_id", "address",
            "country", "regular_supply", "sms_opt_out")


def country_of(customer: Customer | None, org: Organisation) -> str:
    """The customer's country (``NL`` or ``BE``), else the organisation's: a customer whose country is
    not set lives where its creditor does. The one place that resolves it (issue 16)."""
    own = customer.country if customer is not None else None
    return own or org.country or "NL"


def _country(value: object) -> str | None:
    """``NL`` or ``BE`` (any case, blanks aside); ``None`` or ``""`` clears it (the organisation's)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().upper() in COUNTRIES:
        return value.strip().upper()
    raise ValidationError(f"country must be one of {', '.join(COUNTRIES)} (or null for the organisation's), "
                          f"not {value!r}", "country")


def get(session: Session, org_id: str, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.org_id != org_id:
        raise NotFound(f"no customer {customer_id!r}", "customer_id")
    return customer


def by_external_ref(session: Session, org_id: str, external_ref: str) -> Customer | None:
    return session.scalar(
        select(Customer).where(Customer.org_id == org_id, Customer.external_ref == external_ref)
    )


def _validate(session: Session, org_id: str, values: dict[str, Any]) -> None:
    if "country" in values:
        values["country"] = _country(values["country"])
    if "regular_supply" in values and not isinstance(values["regular_supply"], bool):
        raise ValidationError("regular_supply must be true or false", "regular_supply")
    if "name" in values and not (values["name"] or "").strip():
        raise ValidationError("name must not be empty", "name")
    email = values.get("email")
    if email is not None and email != "" and not _EMAIL.match(email):
        raise ValidationError(f"{email!r} is not an e-mail address", "email")
    if "kind" in values and values["kind"] not in KINDS:
        raise ValidationError("kind must be 'business' or 'consumer'", "kind")
    if "locale" in values and values["locale"] not in LOCALES:
        raise ValidationError(f"locale must be one of {', '.join(LOCALES)}", "locale")
    term = values.get("payment_term_days")
    if term is not None and not 0 <= term <= 365:
        raise ValidationError("payment_term_days must be between 0 and 365", "payment_term_days")
    policy_id = values.get("policy_id")
    if policy_id is not None:
        policy = session.get(Policy, policy_id)
        if policy is None or policy.org_id != org_id:
            raise ValidationError(f"no policy {policy_id!r}", "policy_id")
    ref = values.get("external_ref")
    if ref is not None and len(ref) > 100:
        raise ValidationError("external_ref is longer than 100 characters", "external_ref")


def _clean_phone(session: Session, org_id: str, values: dict[str, Any], customer: Customer | None) -> None:
    """``phone`` as E.164 (``""`` clears it), read in the customer's country, else the organisation's."""
    if "phone" not in values:
        return
    raw = values["phone"]
    if raw is None or not str(raw).strip():
        values["phone"] = None
        return
    own = values.get("country", customer.country if customer is not None else None)
    country = own or country_of(None, session.get_one(Organisation, org_id))
    values["phone"] = to_e164(str(raw), country, "phone")


def _ensure_unique_ref(session: Session, org_id: str, ref: str | None, own_id: str | None) -> None:
    if ref is None:
        return
    other = by_external_ref(session, org_id, ref)
    if other is not None and other.id != own_id:
        raise Conflict(f"a customer with external_ref {ref!r} already exists", "external_ref")


def create(session: Session, org_id: str, **values: Any) -> Customer:
    values = {k: v for k, v in values.items() if k in EDITABLE}
    values.setdefault("kind", "business")
    values.setdefault("locale", "nl")
    if "name" not in values:
        raise ValidationError("name is required", "name")
    if values.get("email") == "":
        values["email"] = None
    _validate(session, org_id, values)
    _clean_phone(session, org_id, values, None)
    _ensure_unique_ref(session, org_id, values.get("external_ref"), None)
    customer = Customer(org_id=org_id, **values)
    session.add(customer)
    session.flush()
    record(session, org_id, "customer.created", customer)
    return customer


def update(session: Session, org_id: str, customer_id: str, changes: dict[str, Any]) -> Customer:
    customer = get(session, org_id, customer_id)
    changes = {k: v for k, v in changes.items() if k in EDITABLE}
    for required in ("name", "kind", "locale", "regular_supply"):
        if required in changes and changes[required] is None:
            raise ValidationError(f"{required} cannot be null", required)
    if changes.get("email") == "":
        changes["email"] = None
    _validate(session, org_id, changes)
    _clean_phone(session, org_id, changes, customer)
    if changes.get("sms_opt_out") is None:
        changes.pop("sms_opt_out", None)
    if "external_ref" in changes:
        _ensure_unique_ref(session, org_id, changes["external_ref"], customer.id)
    before = (customer.policy_id, customer.kind)
    for key, value in changes.items():
        setattr(customer, key, value)
    session.flush()
    if (customer.policy_id, customer.kind) != before:
        # Another policy may apply now: its next step decides when the open invoices are looked at.
        reschedule_open(session, customer)
    record(session, org_id, "customer.updated", customer, fields=sorted(changes))
    return customer
