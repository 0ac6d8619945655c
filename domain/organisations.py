"""Organisations: the creditors, each isolated from every other."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import apikeys
from domain.errors import Conflict, NotFound, ValidationError
from domain.events import record
from domain.models import Organisation
from domain.phones import to_e164
from domain.policies import seed_default_policy

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:63].strip("-") or "org"


def create(session: Session, name: str, slug: str | None = None) -> tuple[Organisation, apikeys.IssuedKey]:
    """A new organisation with the default dunning policy and a first, full-access API key."""
    name = name.strip()
    if not name:
        raise ValidationError("name must not be empty", "name")
    slug = slug.strip().lower() if slug else slugify(name)
    if not _SLUG.match(slug):
        raise ValidationError(f"slug {slug!r} must be lower-case letters, digits and dashes (at most 64)", "slug")
    if session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
        raise Conflict(f"an organisation with slug {slug!r} already exists", "slug")
    org = Organisation(name=name, slug=slug)
    session.add(org)
    session.flush()
    seed_default_policy(session, org.id)
    key = apikeys.issue(session, org.id, ["*"], name="first key")
    record(session, org.id, "organisation.created", org, slug=slug)
    return org, key


def by_slug(session: Session, slug: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise NotFound(f"no organisation with slug {slug!r}", "org")
    return org


# --- the organisation's own details ------------------------------------------------

COUNTRIES = ("NL", "BE")
DETAILS = ("name", "email", "phone", "address", "iban", "kvk_number", "vat_number", "enterprise_number", "country")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KVK = re.compile(r"^[0-9]{8}$")


def _iban(value: str) -> str:
    from stdnum import iban
    from stdnum.exceptions import ValidationError as Invalid

    try:
        return str(iban.validate(value))
    except Invalid as exc:
        raise ValidationError(f"{value!r} is not a valid IBAN ({exc})", "iban") from None


def _vat(value: str) -> str:
    from stdnum.eu import vat
    from stdnum.exceptions import ValidationError as Invalid

    try:
        return str(vat.validate(value))
    except Invalid as exc:
        raise ValidationError(
            f"{value!r} is not a valid EU VAT number with its country prefix, such as NL123456789B01 ({exc})",
            "vat_number",
        ) from None


def _enterprise(value: str) -> str:
    from stdnum.be import vat
    from stdnum.exceptions import ValidationError as Invalid

    try:
        number = str(vat.validate(value))
    except Invalid as exc:
        raise ValidationError(
            f"{value!r} is not a valid Belgian enterprise number, such as 0403.170.701 ({exc})", "enterprise_number"
        ) from None
    return f"{number[:4]}.{number[4:7]}.{number[7:]}"


def _phone(value: str, country: str) -> str:
    return to_e164(value, country, "phone")


def clean_details(changes: dict[str, Any], country: str = "NL") -> dict[str, Any]:
    """``changes`` validated and normalised: IBAN and VAT number compact, the phone in E.164,
    the enterprise number as 0123.456.789. An empty string clears a detail (not the name)."""
    out: dict[str, Any] = {}
    for field, raw in changes.items():
        if field not in DETAILS:
            raise ValidationError(f"unknown detail {field!r}", field)
        if raw is not None and not isinstance(raw, str):
            raise ValidationError(f"{field} must be a string", field)
        value = (raw or "").strip()
        if field == "address":
            value = "\n".join(line.strip() for line in value.replace("\r\n", "\n").split("\n") if line.strip())
        if field == "name":
            if not value:
                raise ValidationError("name must not be empty", "name")
            if len(value) > 200:
                raise ValidationError("name is longer than 200 characters", "name")
            out[field] = value
            continue
        if field == "country":
            if value.upper() not in COUNTRIES:
                raise ValidationError(f"country {raw!r} must be one of {', '.join(COUNTRIES)}", "country")
            out[field] = country = value.upper()
            continue
        if not value:
            out[field] = None
            continue
        if field == "email":
            if len(value) > 254 or not _EMAIL.match(value):
                raise ValidationError(f"{value!r} is not an e-mail address", "email")
        elif field == "address":
            if len(value) > 500:
                raise ValidationError("address is longer than 500 characters", "address")
        elif field == "iban":
            value = _iban(value)
        elif field == "vat_number":
            value = _vat(value)
        elif field == "enterprise_number":
            value = _enterprise(value)
        elif field == "kvk_number":
            compact = re.sub(r"[\s.]", "", value)
            if not _KVK.match(compact):
                raise ValidationError(f"{value!r} is not a KvK number: 8 digits, such as 12345678", "kvk_number")
            value = compact
        out[field] = value
    if out.get("phone"):
        out["phone"] = _phone(out["phone"], country)
    return out


def update(session: Session, org: Organisation, changes: dict[str, Any]) -> Organisation:
    """Set the organisation's own details (all validated before any is changed)."""
    cleaned = clean_details(changes, str(changes.get("country") or org.country or "NL").upper()[:2])
    changed = {k: v for k, v in cleaned.items() if getattr(org, k) != v}
    for field, value in changed.items():
        setattr(org, field, value)
    if changed:
        session.flush()
        record(session, org.id, "organisation.updated", org, fields=sorted(changed))
    return org


# --- what the organisation's messages need and it has not set ------------------------------


@dataclass(frozen=True)
class MissingDetail:
    """A detail the organisation's reminders need and that is not set: said by ``settle org
    create``/``update``, ``settle run`` and ``GET``/``PATCH /organisation`` (``warnings``), never
    refused, since an organisation is set up in steps."""

    field: str
    code: str
    message: str


def missing_details(org: Organisation) -> list[MissingDetail]:
    """The details the law or the debtor needs on this organisation's reminders that it lacks.

    A Belgian creditor's first reminder to a consumer must give its enterprise number (art. XIX.2
    §1 WER, Book XIX of the Code of Economic Law, in force 1 September 2023): without it the
    reminder does not start the waiting period that damages need. Without an IBAN no e-mail or
    letter can tell a debtor where to transfer, and none carries the scan-to-pay code."""
    out: list[MissingDetail] = []
    if (org.country or "NL") == "BE" and not org.enterprise_number:
        out.append(MissingDetail(
            "enterprise_number", "enterprise_number_missing",
            "a Belgian creditor's reminders to consumers must state its enterprise number (art. XIX.2 WER)",
        ))  # fmt: skip
    if not org.iban:
        out.append(MissingDetail(
            "iban", "iban_missing",
            "reminders and letters show no account to transfer to and no scan-to-pay code without an IBAN",
        ))  # fmt: skip
    return out


def lacking(session: Session, org_id: str | None = None) -> list[tuple[Organisation, list[MissingDetail]]]:
    """Every organisation (or ``org_id``) with a detail missing, in one query: what ``settle run``
    warns about before it sends."""
    stmt = select(Organisation).where(
        ((Organisation.country == "BE") & Organisation.enterprise_number.is_(None)) | Organisation.iban.is_(None)
    )
    if org_id is not None:
        stmt = stmt.where(Organisation.id == org_id)
    return [(org, missing_details(org)) for org in session.scalars(stmt.order_by(Organisation.slug))]
