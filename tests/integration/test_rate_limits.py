"""The portal's rate limits on Litestar's ``RateLimitMiddleware``: the 429 page with ``Retry-After``
from one app's memory store, and one count shared by two real ``settle serve`` processes on Redis.

Redis runs on 127.0.0.1:6379 (``.ci/run`` starts it); ``SETTLE_TEST_REDIS_URL`` points elsewhere.
Each test uses a namespace of its own in database 15 and deletes it afterwards.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy.orm import Session

from adapters.settings import Settings, SettingsError
from adapters.stores import SweptMemoryStore, make_store
from tests.conftest import SECRET
from tests.integration import portal_helpers as h
from tests.integration.test_cli_serve_and_demo import free_port, started
from tests.integration.test_foundation_cli import _env, run

REDIS_URL = "redis://127.0.0.1:6379/15"


def retry_after(response: Any) -> int:
    value = response.headers["retry-after"]
    assert value.isdigit() and int(value) >= 1, value
    return int(value)


# --- one app, the memory store ------------------------------------------------------------


def test_the_store_is_in_memory_unless_redis_is_set(settings: Settings) -> None:
    assert isinstance(make_store(settings), SweptMemoryStore)


def test_opening_links_over_the_limit_answers_429_with_retry_after(client: Any, db: Session) -> None:
    answers = [client.get(f"/p/nonsense-{i}", follow_redirects=False) for i in range(20)]
    assert [r.status_code for r in answers] == [404] * 20  # under the limit: the page itself
    assert [r.headers["ratelimit-remaining"] for r in answers[-2:]] == ["1", "0"]
    over = client.get("/p/nonsense", follow_redirects=False)
    assert over.status_code == 429 and retry_after(over) <= 60
    assert over.headers["content-type"].startswith("text/html") and "Even geduld" in over.text
    assert client.get("/portal", follow_redirects=False).status_code == 403  # other routes are not limited


def test_the_429_page_speaks_the_debtors_language(client: Any, db: Session) -> None:
    for i in range(20):
        client.get(f"/p/x{i}")
    english = client.get("/p/x", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 429 and "Please wait a moment" in english.text and retry_after(english) >= 1
    assert "Even geduld" in client.get("/p/x?lang=nl").text


def test_starting_payments_over_the_limit_answers_429_with_retry_after(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)  # one link opened: not a payment
    codes = [h.pay(client, page, [w.ids[0]]).status_code for _ in range(10)]
    assert codes == [303] * 10
    over = h.pay(client, page, [w.ids[0]])
    assert over.status_code == 429 and retry_after(over) <= 60 and "Even geduld" in over.text
    assert len(h.payments(db, w.customer)) == 10


def test_asking_for_fresh_links_waits_up_to_ten_minutes(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    expired = h.token(db, settings, w.customer, days=1, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    csrf = h.csrf(client.get(f"/p/{expired}").text)
    codes = [client.post("/p/renew", data={"csrf_token": csrf, "token": expired}).status_code for _ in range(5)]
    assert codes == [200] * 5
    over = client.post("/p/renew", data={"csrf_token": csrf, "token": expired})
    assert over.status_code == 429 and 60 < retry_after(over) <= 600
    assert over.headers["ratelimit-policy"] == "5; w=600"


# --- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis://", "redis://h:port/0",
                                 "redis://127.0.0.1:6379/zero"])  # fmt: skip
def test_a_bad_redis_url_is_a_settings_error_naming_the_variable(url: str) -> None:
    with pytest.raises(SettingsError, match="SETTLE_REDIS_URL"):
        Settings.from_env({"SETTLE_REDIS_URL": url})


def test_redis_urls_are_read() -> None:
    assert Settings.from_env({}).redis_url is None
    assert Settings.from_env({"SETTLE_REDIS_URL": " "}).redis_url is None
    tls = Settings.from_env({"SETTLE_REDIS_URL": "rediss://:pw@cache.internal:6380/2"})
    assert tls.redis_url == "rediss://:pw@cache.internal:6380/2" and tls.redis_namespace == "settle"


def test_serve_refuses_a_bad_redis_url_with_exit_2(scratch_database: Any) -> None:
    env = _env(scratch_database(), SETTLE_SECRET_KEYS="serve-test-secret", SETTLE_REDIS_URL="http://127.0.0.1:6379")
    refused = run("serve", "--port", str(free_port()), env=env)
    assert refused.returncode == 2, refused.stderr
    assert "SETTLE_REDIS_URL" in refused.stderr and "redis://" in refused.stderr


def test_serve_refuses_a_redis_it_cannot_reach_with_exit_2(scratch_database: Any) -> None:
    env = _env(scratch_database(), SETTLE_SECRET_KEYS="serve-test-secret",
               SETTLE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/15")  # fmt: skip
    refused = run("serve", "--port", str(free_port()), env=env)
    assert refused.returncode == 2, refused.stderr
    assert "SETTLE_REDIS_URL: cannot reach Redis" in refused.stderr


# --- two processes, one Redis -----------------------------------------------------------


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    """A namespace of this test's own in the test Redis; deleted afterwards."""
    url = os.environ.get("SETTLE_TEST_REDIS_URL", REDIS_URL)
    namespace = f"settle_test_{uuid.uuid4().hex[:12]}"

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:  # a missing Redis is a broken test machine, not a skipped test
        pytest.fail(f"Redis is not reachable at {url} ({exc}): start it as .ci/run does")
    try:
        yield namespace
    finally:  # RedisStore keys are "<namespace>:<key>"
        for key in client.scan_iter(match=f"{namespace}:*"):
            client.delete(key)
        client.close()


def test_two_servers_on_one_redis_share_the_limit(
    database_url: str, engine: Any, db: Session, redis_namespace: str
) -> None:
    keys = redis.Redis.from_url(os.environ.get("SETTLE_TEST_REDIS_URL", REDIS_URL))
    settings = Settings(database_url=database_url, secret_keys=(SECRET,))
    w = h.world(db)
    good = h.token(db, settings, w.customer)
    env = _env(database_url, SETTLE_SECRET_KEYS=SECRET, SETTLE_REDIS_NAMESPACE=redis_namespace,
               SETTLE_REDIS_URL=os.environ.get("SETTLE_TEST_REDIS_URL", REDIS_URL))  # fmt: skip
    ports = free_port(), free_port()
    trust = ("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1")
    with (
        started("serve", "--host", "127.0.0.1", "--port", str(ports[0]), *trust, env=env),
        started("serve", "--host", "127.0.0.1", "--port", str(ports[1]), *trust, env=env),
        httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30) as a,
        httpx.Client(base_url=f"http://127.0.0.1:{ports[1]}", timeout=30) as b,
    ):
        debtor = {"X-Forwarded-For": "198.51.100.7"}  # the load balancer's word for the debtor's address
        opened = a.get(f"/p/{good}", headers=debtor, follow_redirects=False)
        assert opened.status_code == 303, opened.text
        codes = [(a if i % 2 else b).get(f"/p/nonsense-{i}", headers=debtor).status_code for i in range(19)]
        assert codes == [404] * 19  # twenty opens, split over the two servers
        for server in (b, a):
            over = server.get(f"/p/{good}", headers=debtor, follow_redirects=False)
            assert over.status_code == 429, over.text
            assert retry_after(over) <= 60 and "Even geduld" in over.text
        # Another address behind the same load balancer has a count of its own.
        other = b.get(f"/p/{good}", headers={"X-Forwarded-For": "198.51.100.8"}, follow_redirects=False)
        assert other.status_code == 303, other.text
    assert sorted(keys.scan_iter(match=f"{redis_namespace}:*")) == [
        f"{redis_namespace}:link:198.51.100.{n}".encode() for n in (7, 8)
    ]
    keys.close()


def test_serve_ignores_forwarded_addresses_unless_told_to_trust_them(scratch_database: Any) -> None:
    env = _env(scratch_database(), SETTLE_SECRET_KEYS="serve-test-secret")
    port = free_port()
    with (
        started("serve", "--host", "127.0.0.1", "--port", str(port), env=env),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        # A client naming another address each time is still one client: the peer, in memory.
        codes = [http.get(f"/p/x{i}", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(21)]
        assert codes == [404] * 20 + [429]


# --- counting is atomic; an unreachable Redis does not take the portal down -----------------


def test_concurrent_workers_on_one_redis_never_read_the_same_count(redis_namespace: str) -> None:
    """Two workers' stores, 60 hits at once: each hit gets its own number, so exactly the first
    twenty of a twenty-a-minute limit pass, however the hits interleave."""
    import anyio
    from litestar.stores.redis import RedisStore

    from adapters.stores import count_in_window

    url = os.environ.get("SETTLE_TEST_REDIS_URL", REDIS_URL)
    numbers: list[int] = []

    async def hits() -> None:
        workers = [RedisStore.with_client(url=url, namespace=redis_namespace) for _ in range(2)]
        locks = [anyio.Lock(), anyio.Lock()]  # each worker's own: they do not serialise across workers

        async def hit(i: int) -> None:
            count, reset_in = await count_in_window(workers[i % 2], "link:192.0.2.1", 60, locks[i % 2])
            assert 1 <= reset_in <= 60
            numbers.append(count)

        async with anyio.create_task_group() as tg:
            for i in range(60):
                tg.start_soon(hit, i)
        for store in workers:
            await store._redis.aclose()

    # In a thread of its own: a test before it in this worker may have left an event loop running here.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, hits).result()
    assert sorted(numbers) == list(range(1, 61))
    assert sum(1 for n in numbers if n <= 20) == 20


def test_an_unreachable_redis_lets_the_portal_answer_uncounted(
    engine: Any, settings: Settings, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis gone while serving: the limited route still answers its page (not a 500), and
    the outage is logged once, not once per request."""
    import dataclasses
    import logging

    from litestar.testing import TestClient

    from settle.app import create_app

    monkeypatch.setattr("portal.security._last_outage_logged", -1e9)  # no earlier outage in this process
    away = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/15")
    seen: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger("settle.portal").addHandler(handler)
    try:
        with TestClient(app=create_app(away, engine=engine), base_url="http://settle.test") as client:
            codes = [client.get(f"/p/nonsense-{i}").status_code for i in range(25)]
    finally:
        logging.getLogger("settle.portal").removeHandler(handler)
    assert codes == [404] * 25  # no 429 either: nothing could be counted
    outages = [r for r in seen if "rate limits are not counted" in r.getMessage()]
    assert len(outages) == 1
