"""NATS addresses and a connection that is retried until the server is there, and then kept.

``QD_NATS_URL`` names one server or, for a cluster, several separated by commas
(``nats://n1:4222,nats://n2:4222``). nats-py wants a list of servers, not that string, so every
connection the code makes goes through :func:`nats_servers` (and mostly :func:`connect_until_ready`).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable, Sequence

import nats
import structlog
from nats.aio.client import Client

from shared.messaging.credentials import masked
from shared.messaging.retry import Backoff, retry_until_ready

log = structlog.get_logger(__name__)

SCHEMES = ("nats", "tls", "ws", "wss")


def nats_servers(url: str | Sequence[str]) -> list[str]:
    """The servers named by ``url``: a comma-separated string (``QD_NATS_URL``) or a list of URLs.

    Raises ``ValueError`` naming the bad part, so that a mistyped setting stops a service at start
    instead of being retried for ever.
    """
    parts = url.split(",") if isinstance(url, str) else list(url)
    servers = [part.strip() for part in parts if part.strip()]
    if not servers:
        raise ValueError("no NATS server given: set QD_NATS_URL, e.g. nats://127.0.0.1:4222")
    for server in servers:
        parsed = urllib.parse.urlsplit(server)
        if parsed.scheme not in SCHEMES or not parsed.hostname:
            raise ValueError(
                f"not a NATS server URL: {masked(server)!r} (expected {'|'.join(SCHEMES)}://host:port, "
                "several separated by commas)"
            )
        try:
            _ = parsed.port  # a port that is not a number raises here
        except ValueError as exc:
            raise ValueError(f"not a NATS server URL: {masked(server)!r} ({exc})") from None
    return servers


ErrorCallback = Callable[[Exception], Awaitable[None]]
"""Told of every asynchronous error the server sends (after it is logged), e.g. a permissions violation."""


async def connect(url: str | Sequence[str], *, name: str, on_error: ErrorCallback | None = None) -> Client:
    """One connection attempt to the server(s) of ``url``; once connected, nats-py reconnects by itself.

    ``on_error`` hears the errors nats-py reports through its error callback: a publish the server
    refuses (``Permissions Violation for Publish to ...``) arrives only there, never as an
    exception of the publish itself (which only times out waiting for its acknowledgement).
    """
    async def error_cb(exc: Exception) -> None:
        await _log_error(exc)
        if on_error is not None:
            await on_error(exc)

    return await nats.connect(
        servers=nats_servers(url),
        name=name,
        connect_timeout=2,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=error_cb,
        disconnected_cb=_log_disconnected,
        reconnected_cb=_log_reconnected,
    )


async def connect_until_ready(
    url: str | Sequence[str], *, name: str, max_delay: float = 5.0, on_error: ErrorCallback | None = None
) -> Client:
    """Connect to NATS, retrying with back-off for as long as it takes.

    A service keeps accepting commands while NATS is down (the outbox holds its events), so its
    background tasks wait here rather than fail. An invalid address is not retried: it raises.
    """
    servers = nats_servers(url)  # outside the retry: a bad address is a configuration error
    return await retry_until_ready(
        lambda: connect(servers, name=name, on_error=on_error),
        what="nats connection",
        retry_on=(TimeoutError, OSError, nats.errors.NoServersError),
        backoff=Backoff(0.1, max_delay),
        servers=masked(",".join(servers)),
    )


async def _log_error(exc: Exception) -> None:
    log.warning("nats error", error=repr(exc))


async def _log_disconnected() -> None:
    log.info("nats disconnected")


async def _log_reconnected() -> None:
    log.info("nats reconnected")
