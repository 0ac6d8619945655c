"""Portal link tokens: signed, expiring, revocable, and signing keys can rotate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from itsdangerous import URLSafeSerializer
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


def test_links_signed_in_a_batch_are_the_tokens_the_serializer_makes() -> None:
    """``sign_many`` spells the serializer's tokens out by hand; they must stay the same tokens:
    ids as they are made, one whose JSON needs escaping, and one long and repetitive enough that
    the payload is compressed (the token then starts with a dot)."""
    holders = [
        Customer(id="cus_01m99bkgs1aepnvvcbnj1gam7s", org_id="org_01m99b8pgsh23kdbamz5dzcbzf", link_version=3),
        Customer(id='cus_"quoted"\\é', org_id="org_1", link_version=1),
        Customer(id="cus_" + "ab" * 60, org_id="org_" + "ab" * 20, link_version=12),
    ]
    keys = ("old", "newest")
    links = portal_links.sign_many(holders, secret_keys=keys, base_url="http://x/", now=NOW, expires_in_days=7)
    x = int((NOW + dt.timedelta(days=7)).timestamp())
    serializer = URLSafeSerializer(list(keys), salt=portal_links.SALT)
    expected = [serializer.dumps({"o": c.org_id, "c": c.id, "v": c.link_version, "x": x}) for c in holders]
    assert [link.token for link in links] == expected
    assert links[2].token.startswith(".")  # compressed
    assert links[0].url == f"http://x/p/{expected[0]}"
