"""Portal link tokens: signed, expiring, revocable, and signing keys can rotate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from domain import portal_links
from domain.models import Base, Customer, Organisation

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Organisation(id="org_1", slug="acme", name="Acme"))
        s.add(Customer(id="cus_1", org_id="org_1", name="Jansen", link_version=1))
        s.flush()
        yield s


def _token(s: Session, keys: tuple[str, ...], now: dt.datetime = NOW, days: int = 30) -> str:
    customer = s.get_one(Customer, "cus_1")
    return portal_links.issue(s, customer, secret_keys=keys, base_url="http://x", now=now,
                              expires_in_days=days).token


def test_a_fresh_link_is_valid_and_a_tampered_one_unknown(session: Session) -> None:
    token = _token(session, ("k1",))
    assert portal_links.verify(session, token, secret_keys=("k1",), now=NOW).status == "valid"
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert portal_links.verify(session, tampered, secret_keys=("k1",), now=NOW).status == "unknown"
    assert portal_links.verify(session, "garbage", secret_keys=("k1",), now=NOW).status == "unknown"


def test_expiry_and_revocation(session: Session) -> None:
    token = _token(session, ("k1",), days=7)
    later = NOW + dt.timedelta(days=7, seconds=1)
    assert portal_links.verify(session, token, secret_keys=("k1",), now=later).status == "expired"
    portal_links.revoke_all(session, session.get_one(Customer, "cus_1"))
    assert portal_links.verify(session, token, secret_keys=("k1",), now=NOW).status == "revoked"
    assert portal_links.verify(session, _token(session, ("k1",)), secret_keys=("k1",), now=NOW).status == "valid"


def test_key_rotation_newest_signs_all_verify(session: Session) -> None:
    old = _token(session, ("old",))
    assert portal_links.verify(session, old, secret_keys=("old", "new"), now=NOW).status == "valid"
    rotated = _token(session, ("old", "new"))
    assert portal_links.verify(session, rotated, secret_keys=("new",), now=NOW).status == "valid"
    assert portal_links.verify(session, rotated, secret_keys=("old",), now=NOW).status == "unknown"
