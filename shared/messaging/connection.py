"""A NATS connection that is retried until the server is there, and then kept."""

from __future__ import annotations

import asyncio

import nats
import structlog
from nats.aio.client import Client

from shared.messaging.credentials import masked

log = structlog.get_logger(__name__)


async def connect_until_ready(url: str, *, name: str, max_delay: float = 5.0) -> Client:
    """Connect to NATS, retrying with back-off for as long as it takes.

    A service keeps accepting commands while NATS is down (the outbox holds its events), so its
    background tasks wait here rather than fail. Once connected, nats-py reconnects by itself.
    """
    delay = 0.1
    while True:
        try:
            return await nats.connect(
                url,
                name=name,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                error_cb=_log_error,
                disconnected_cb=_log_disconnected,
                reconnected_cb=_log_reconnected,
            )
        except (TimeoutError, OSError, nats.errors.NoServersError) as exc:
            log.warning("nats not reachable, retrying", url=masked(url), error=repr(exc), retry_in=delay)
            await asyncio.sleep(delay)  # back-off between connection attempts, not a wait for an event
            delay = min(delay * 2, max_delay)


async def _log_error(exc: Exception) -> None:
    log.warning("nats error", error=repr(exc))


async def _log_disconnected() -> None:
    log.info("nats disconnected")


async def _log_reconnected() -> None:
    log.info("nats reconnected")
