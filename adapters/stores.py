"""The app's key/value store (Litestar's ``Store``): rate-limit counters today.

In memory by default, so one process counts on its own. With ``SETTLE_REDIS_URL`` set it is
Redis, so every worker of ``settle serve --workers N`` and every machine behind the load
balancer counts together. Made once per app in ``create_app`` and handed to Litestar's
``stores=``, which opens and closes it with the app's lifespan.
"""

from __future__ import annotations

import time
from datetime import timedelta

import anyio
from litestar.serialization import decode_json, encode_json
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.exceptions import RedisError

from adapters.settings import Settings

# The store name Litestar's ``RateLimitConfig`` looks up by default.
RATE_LIMIT_STORE = "rate_limit"


class SweptMemoryStore(MemoryStore):
    """A ``MemoryStore`` that drops expired keys every ``sweep_every`` writes.

    ``MemoryStore`` forgets an expired key only when it is read again; a key per client address
    would otherwise pile up for every address that came by once."""

    __slots__ = ("_writes", "sweep_every")

    def __init__(self, sweep_every: int = 10_000) -> None:
        super().__init__()
        self.sweep_every = sweep_every
        self._writes = 0

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        await super().set(key, value, expires_in)
        self._writes += 1
        if self._writes >= self.sweep_every:
            self._writes = 0
            await self.delete_expired()


class StoreUnavailable(Exception):
    """The shared store could not be reached while counting (Redis down or unreachable)."""


async def count_in_window(store: Store, key: str, window: int, lock: anyio.Lock) -> tuple[int, int]:
    """Count one more hit on ``key`` in a fixed window of ``window`` seconds: the hit's number
    in its window, and the seconds until the window ends.

    On Redis it is one transaction (``INCR``, ``EXPIRE … NX`` so only the window's first hit sets
    the end, ``TTL``), so concurrent workers never read the same count; in memory, one process's
    own, the caller's lock serialises the read and the write."""
    if isinstance(store, RedisStore):
        name = store._make_key(key)
        try:
            async with store._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window, nx=True)
                pipe.ttl(name)
                count, _, ttl = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
        return int(count), max(1, int(ttl))
    async with lock:
        now = int(time.time())
        cached = await store.get(key)
        found = decode_json(value=cached) if cached else None
        if not isinstance(found, dict) or found.get("reset", 0) <= now:
            found = {"count": 0, "reset": now + window}
        found["count"] += 1
        await store.set(key, encode_json(found), expires_in=max(1, found["reset"] - now))
        return int(found["count"]), max(1, found["reset"] - now)


def make_store(settings: Settings) -> Store:
    """Redis under ``settings.redis_namespace`` when ``SETTLE_REDIS_URL`` is set, else memory."""
    if settings.redis_url is None:
        return SweptMemoryStore()
    return RedisStore.with_client(url=settings.redis_url, namespace=settings.redis_namespace)


def unreachable(settings: Settings) -> str | None:
    """Why the store cannot be used, or ``None``: ``settle serve`` says so before it starts."""
    if settings.redis_url is None:
        return None
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        where = settings.redis_url.split("@")[-1]
        return f"SETTLE_REDIS_URL: cannot reach Redis at {where}: {exc}"
    finally:
        client.close()
    return None
