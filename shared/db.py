"""Database engines: SQLite (embedded default) and PostgreSQL (production), configured alike."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.sqlite_driver import FusedConnection, fused_creator


def is_sqlite(url: str) -> bool:
    """Whether a database URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url`` with the settings our event store relies on.

    On SQLite: WAL (readers never block the writer), a busy timeout instead of instant
    "database is locked" errors, and transactions that start with ``BEGIN IMMEDIATE`` so that
    savepoints work and two writers queue instead of deadlocking on a lock upgrade
    (the recipe in SQLAlchemy's pysqlite/aiosqlite documentation). Write through
    :func:`writer`; plain connections of the engine are readers.
    """
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            _create_private_file(Path(database))
        # One hand-off to the driver's thread per statement instead of three or four (sqlite_driver).
        engine = create_async_engine(url, async_creator=fused_creator(make_url(url)), **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.update(pool_size=10, max_overflow=10)
    engine = create_async_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


PING_AFTER_IDLE = 5.0
"""Seconds a pooled PostgreSQL connection may rest before its next checkout pings it."""


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a pooled connection at checkout only if it rested ``PING_AFTER_IDLE`` seconds or more.

    ``pool_pre_ping`` pinged at every checkout, and asyncpg's ping is three round trips (``BEGIN``,
    ``;``, ``ROLLBACK``): at a trickle of lone commands that was three of the eleven round trips of
    each batch. A connection in steady use has just proved itself; one that rested (where a restart
    or a proxy's idle timeout may have closed it) is pinged as before, and a dead one is replaced
    before the caller sees it (the pool's checkout retries on ``DisconnectionError``).
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["qingdan_rested_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        rested_since = record.info.get("qingdan_rested_since")
        if rested_since is None or time.monotonic() - rested_since < PING_AFTER_IDLE:
            return  # new, or used moments ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"pooled connection failed its ping: {exc!r}") from exc
        if not alive:
            raise DisconnectionError("pooled connection failed its ping")


def _create_private_file(path: Path) -> None:
    """Create the database file readable by its owner only (it holds personal data).

    SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file, so creating the
    file first with 0600 keeps all three private; an existing file keeps the mode its operator chose.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        begin = sqlite_begin(conn.get_execution_options())
        if begin is None:
            return  # each statement its own transaction (autocommit_reader)
        driver = conn.connection.driver_connection
        if isinstance(driver, FusedConnection):
            # Run with the first statement, in its hand-off to the driver's thread (sqlite_driver).
            driver.defer_begin(begin)
        else:
            conn.exec_driver_sql(begin)


def sqlite_begin(options: Any) -> str | None:
    """The ``BEGIN`` a SQLite transaction of a connection with these execution options starts with
    (None: autocommit, no transaction). Writers take the write lock up front (no deadlocking lock
    upgrade); readers never wait for a writer under WAL, so they begin a plain deferred transaction."""
    if options.get("qingdan_autocommit"):
        return None
    return "BEGIN IMMEDIATE" if options.get("qingdan_writer") else "BEGIN"


async def autocommit_reader(engine: AsyncEngine) -> AsyncConnection:
    """A connection of its own whose every statement is its own transaction: no BEGIN, no ROLLBACK.

    For a loop that runs one read after each commit (the outbox relay): a pooled connection costs
    a checkout, a ``BEGIN`` and a ``ROLLBACK`` on return around each read, on SQLite each a hop to
    the driver's thread. The caller keeps it, closes it, and drops it after an error.
    """
    conn = await engine.connect()
    if engine.dialect.name == "sqlite":  # the driver is in autocommit mode already (isolation_level None)
        return await conn.execution_options(qingdan_autocommit=True)
    return await conn.execution_options(isolation_level="AUTOCOMMIT")


_write_locks: dict[str, asyncio.Lock] = {}

# Per engine, made once: ``execution_options`` builds a new engine proxy (and its dispatch) on every
# call, and ``str(url)`` renders the URL, each a visible part of a lone event's batch. Weak keys: a
# disposed engine's entries go with it (the values hold its sync engine, never the key itself).
_writers: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()
_engine_locks: weakref.WeakKeyDictionary[AsyncEngine, contextlib.AbstractAsyncContextManager[Any]] = (
    weakref.WeakKeyDictionary())


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The engine for transactions that write (``BEGIN IMMEDIATE`` on SQLite; the same on PostgreSQL)."""
    found = _writers.get(engine)
    if found is None:
        found = _writers[engine] = engine.execution_options(qingdan_writer=True)
    return found


def write_lock(engine: AsyncEngine) -> contextlib.AbstractAsyncContextManager[Any]:
    """On SQLite, one writer at a time within this process, queued here rather than in SQLite's
    busy handler (which sleeps up to 100 ms per retry); on PostgreSQL, no lock."""
    found = _engine_locks.get(engine)
    if found is None:
        found = _engine_locks[engine] = _lock_of(engine)
    return found


def _lock_of(engine: AsyncEngine) -> contextlib.AbstractAsyncContextManager[Any]:
    # By URL, not by engine: two engines of one SQLite file in a process share its one writer.
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    key = str(engine.url)
    if key not in _write_locks:
        _write_locks[key] = asyncio.Lock()
    return _write_locks[key]
