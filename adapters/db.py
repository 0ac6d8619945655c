"""Engines and sessions. One session is one unit of work: callers commit explicitly.

Serving (``RequestSessions``) follows one rule that makes a lock-up impossible: a
pool connection is only ever waited for by a thread that holds nothing, and a
connection is always given back by a path that waits for nothing. See
``RequestSessions`` for why that had to be said out loud.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy.exc
from litestar import Request
from litestar.datastructures import State
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# A sync handler runs on one of these many threads per serving process. Python holds the GIL, so
# more would only queue inside the pool instead of in the executor, where a waiting request holds
# no connection. Each request may hold two sessions (a reader and a writer), hence the pool size.
HANDLER_THREADS = 8
POOL_SIZE = 2 * HANDLER_THREADS + 4
POOL_TIMEOUT = 10  # seconds; then 503 with Retry-After (``adapters.db.is_busy``)
SERVING_BUSY_TIMEOUT = 10  # seconds a SQLite writer waits for the lock while serving


def make_engine(url: str, *, busy_timeout: float = 30, **kwargs: Any) -> Engine:
    """An engine for ``url``. ``busy_timeout`` is how long a SQLite writer waits for the lock."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's begin() emit BEGIN so that we control locking ourselves.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_serving_engine(url: str) -> Engine:
    """The engine of a serving process: a pool sized to the handler threads (see ``HANDLER_THREADS``)
    that gives up after ``POOL_TIMEOUT`` instead of the 30 s default, and a SQLite writer that
    waits ``SERVING_BUSY_TIMEOUT`` for the lock."""
    return make_engine(url, busy_timeout=SERVING_BUSY_TIMEOUT, pool_size=POOL_SIZE, max_overflow=0,
                       pool_timeout=POOL_TIMEOUT)  # fmt: skip


def handler_executor() -> concurrent.futures.ThreadPoolExecutor:
    """The threads sync handlers run on; installed as the loop's default executor at start-up."""
    return concurrent.futures.ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="settle-handler")


def make_sessionmaker(engine: Engine, *, writer: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``. ``writer=True`` takes SQLite's write lock at BEGIN
    (``BEGIN IMMEDIATE``), so a transaction that reads in order to write cannot
    be overtaken by another writer between its read and its write."""
    if writer and engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_immediate=True)
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


def finish_reading(session: Session) -> None:
    """End a read-only session's transaction and give its connection back, before the answer is
    rendered or encoded: with a COMMIT, not the ROLLBACK that ``close`` sends.

    psycopg 3 forgets its prepared statements at every ROLLBACK (``Connection._rollback_gen``
    clears them), so a pool whose connections only ever roll back prepares nothing, and
    PostgreSQL parses and plans every query of every request. The statement page's read model, a
    UNION ALL of eight arms, cost PostgreSQL about 2 ms of CPU a view that way. On SQLite the two
    end a read alike. Only for a session that wrote nothing: pending ORM changes are refused."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("finish_reading: the session has changes that a COMMIT would write")
    session.commit()
    session.close()


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that rolls back unless the caller committed."""
    session = factory()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


RETRY_AFTER = "2"  # seconds, on a 503 for a busy database


def is_busy(exc: BaseException) -> bool:
    """The database could not take the request in time: the pool had no connection within
    ``POOL_TIMEOUT``, or SQLite's write lock stayed taken for ``busy_timeout``. Answered with 503
    and ``Retry-After``: it is load, not a fault."""
    if isinstance(exc, sqlalchemy.exc.TimeoutError):
        return True
    if isinstance(exc, sqlalchemy.exc.OperationalError):
        text = str(exc.orig).lower()
        return "database is locked" in text or "database is busy" in text
    return False


@dataclass
class RequestSessions:
    """The sessions of requests, made once per app and handed to every request.

    Why a lock-up happened before: handlers run on asyncio's default executor (six threads on
    this machine), and the per-request session was a sync generator dependency, whose clean-up
    Litestar also runs on that executor. A finished handler kept its connection until its
    clean-up ran; the clean-up queued behind new handlers; the new handlers sat in the pool
    waiting for the connections those clean-ups would have returned. With more requests in
    flight than threads, nothing moved until the pool's 30 s timeout, and every request then
    answered 500. Clients that went away left their connections ``idle in transaction`` the
    same way.

    Now the session is opened and closed by *async* dependencies (``provide_reader``,
    ``provide_writer``, ``provide_by_method``) that never block the loop. Opening takes no
    connection: a session connects on first use, inside the handler's thread. Closing a session
    that holds none is free and done at once; closing one that does (a ROLLBACK) runs on a small
    executor of its own, ``release``, which nothing that waits for a connection ever runs on.
    So every connection taken is given back without waiting for a thread a waiter could hold,
    on every path (the handler returned, raised, or the client left: the clean-up is shielded
    from cancellation).

    A dependency that reads before the handler runs (API-key auth) uses a short session of its
    own, closed inside its thread job: between that job and the handler's the request waits in
    the executor's queue, and it must not hold a connection while it waits.
    """

    reader: sessionmaker[Session]
    writer: sessionmaker[Session]
    release_executor: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="settle-release")
    )

    @classmethod
    def on(cls, engine: Engine) -> RequestSessions:
        return cls(reader=make_sessionmaker(engine), writer=make_sessionmaker(engine, writer=True))

    async def release(self, session: Session) -> None:
        if not session.in_transaction():
            session.close()  # holds no connection: nothing to wait for
            return
        done = asyncio.get_running_loop().run_in_executor(self.release_executor, session.close)
        await asyncio.shield(done)  # a cancelled request still gives its connection back

    def close(self) -> None:
        self.release_executor.shutdown(wait=True)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Litestar dependencies (``state`` is the app's, holding ``sessions``). Each is an async generator
# function so that Litestar runs its set-up and clean-up on the loop, not on the handlers' executor.


async def provide_reader(state: State) -> AsyncIterator[Session]:
    """``db``: the request's session; reads share SQLite's lock, writes take it when they come."""
    session = state.sessions.reader()
    try:
        yield session
    finally:
        await state.sessions.release(session)


async def provide_writer(state: State) -> AsyncIterator[Session]:
    """``wdb``: a session that takes SQLite's write lock at BEGIN, so a write waits its turn
    (``busy_timeout``) instead of failing when another writer overtook its read."""
    session = state.sessions.writer()
    try:
        yield session
    finally:
        await state.sessions.release(session)


async def provide_by_method(request: Request[Any, Any, Any], state: State) -> AsyncIterator[Session]:
    """``db`` for the API: a writer for POST, PUT, PATCH and DELETE, a reader for the rest."""
    sessions: RequestSessions = state.sessions
    session = (sessions.reader if request.method in SAFE_METHODS else sessions.writer)()
    try:
        yield session
    finally:
        await sessions.release(session)
