"""Leadership among the processes of one service: exactly one of them runs a singleton job.

A service may run as several processes on one PostgreSQL database (docs/operations.md). Commands
are safe in any number of them (the unique ``(stream_id, version)`` constraint turns a race into a
409), but the outbox relay must run in one only: two relays would each publish the whole outbox,
and their interleaving could put a stream's events out of order on JetStream.

:class:`Lease` is a PostgreSQL session-level advisory lock held on a connection of its own. The
database releases it the moment that connection ends, which is what happens when the process
holding it dies (even ``kill -9``: the kernel closes the socket), so a standby that retries every
``retry_interval`` seconds takes over within about that. No lease row, no expiry clock to tune.

The durable consumers take one too: two processes pulling from one durable consumer would each
get part of the stream, and the one that commits a later checkpoint first would make the other
skip its earlier events as already applied.

SQLite is one process by design (docs/operations.md), so there the lease is always held.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import autocommit_reader

log = structlog.get_logger(__name__)


class LeaseLost(Exception):
    """The lease's connection died: another process may hold it now; stop acting and acquire it again."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for ``name`` (Python's ``hash`` differs per process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class Lease:
    """An exclusive lease named ``name`` among the processes sharing ``engine``'s database."""

    def __init__(
        self, engine: AsyncEngine, name: str, *, retry_interval: float = 1.0, check_interval: float = 1.0,
        check_timeout: float = 5.0,
    ) -> None:
        self.engine = engine
        self.name = name
        self.key = lock_key(name)
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self.check_timeout = check_timeout
        self._exclusive = engine.dialect.name == "postgresql"
        self._conn: AsyncConnection | None = None
        self._notifier: AsyncConnection | None = None
        self._held = False
        self._checked_at = 0.0

    @property
    def held(self) -> bool:
        """Whether this process holds the lease (as of the last acquisition or check)."""
        return self._held

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True if this process holds it now."""
        if self._held:
            return True
        if not self._exclusive:
            self._held = True
            return True
        conn = await self.engine.connect()
        try:
            got = bool((await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar_one())
            await conn.commit()  # a session lock outlives the transaction; do not sit idle in one
        except BaseException:
            await _discard(conn)
            raise
        if not got:
            await conn.close()
            return False
        self._conn, self._held = conn, True
        self._checked_at = asyncio.get_running_loop().time()
        await self._close_notifier()  # the holder listens; only standbys notify
        log.info("lease acquired", lease=self.name)
        return True

    async def acquire(self) -> None:
        """Wait until this process holds the lease (a standby polls every ``retry_interval`` seconds)."""
        waiting = False
        while not await self.try_acquire():
            if not waiting:
                log.info("lease held by another process, standing by", lease=self.name)
                waiting = True
            await asyncio.sleep(self.retry_interval)

    async def listen(self, channel: str, callback: Callable[[], None]) -> None:
        """While the lease is held, call ``callback`` on every PostgreSQL ``NOTIFY`` on ``channel``.

        Uses the lease's own connection, so the listening ends with the lease. A no-op on SQLite.
        """
        if self._conn is None:
            return
        raw: Any = (await self._conn.get_raw_connection()).driver_connection
        await raw.add_listener(channel, lambda *_: callback())

    async def notify(self, channel: str) -> None:
        """Send a PostgreSQL ``NOTIFY`` on ``channel`` (to the lease's holder); a no-op on SQLite.

        A standby sends one after each of its commits: on a connection kept for it, in autocommit
        (one round trip, not a pool checkout with its ping, a ``BEGIN`` and a ``COMMIT``), closed
        by :meth:`release` and replaced after a failure.
        """
        if not self._exclusive:
            return
        if self._notifier is None:
            self._notifier = await autocommit_reader(self.engine)
        try:
            await self._notifier.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
        except BaseException:
            await self._close_notifier()
            raise

    async def _close_notifier(self) -> None:
        conn, self._notifier = self._notifier, None
        if conn is not None:
            await _discard(conn)

    async def confirm(self) -> bool:
        """Whether the lease is still held: its connection is checked at most every ``check_interval``.

        A lost connection means PostgreSQL has released the lock and another process may hold it
        now; the lease is then given up (False) and must be acquired again before acting.
        """
        if not self._held:
            return False
        if self._conn is None:
            return True  # SQLite: one process
        now = asyncio.get_running_loop().time()
        if now - self._checked_at < self.check_interval:
            return True
        try:
            await asyncio.wait_for(self._ping(self._conn), self.check_timeout)
        except Exception as exc:  # the connection is gone or hangs: the lock cannot be trusted
            log.warning("lease lost", lease=self.name, error=repr(exc))
            await self.release()
            return False
        self._checked_at = now
        return True

    async def _ping(self, conn: AsyncConnection) -> None:
        await conn.execute(text("SELECT 1"))
        await conn.commit()

    async def release(self) -> None:
        """Give the lease up (unlocking on a live connection; a dead one has released it already)."""
        await self._close_notifier()
        conn, self._conn = self._conn, None
        was_held, self._held = self._held, False
        if conn is None:
            return
        try:
            await asyncio.wait_for(self._unlock(conn), self.check_timeout)
        except Exception as exc:  # closing the connection releases the lock anyway
            log.info("lease not unlocked cleanly", lease=self.name, error=repr(exc))
            await _discard(conn)
        if was_held:
            log.info("lease released", lease=self.name)

    async def _unlock(self, conn: AsyncConnection) -> None:
        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        await conn.commit()
        await conn.close()


async def _discard(conn: AsyncConnection) -> None:
    """Throw a connection away rather than return it to the pool (it may still hold the lock)."""
    try:
        await conn.invalidate()
        await conn.close()
    except Exception as exc:  # it is broken already; nothing more to do
        log.debug("connection not discarded cleanly", error=repr(exc))
