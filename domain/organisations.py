"""Organisations: the creditors, each isolated from every other."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import apikeys
from domain.errors import Conflict, NotFound, ValidationError
from domain.events import record
from domain.models import Organisation
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
