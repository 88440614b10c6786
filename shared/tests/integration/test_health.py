"""Background tasks under supervision and a /health that tells the truth, against a real nats-server.

Each test injects one fault (a task that raises, a frozen server, an outbox NATS never takes, a
consumer held back) and checks that ``/health`` answers 503 ``degraded`` naming it, then ``ok``
again once the fault is gone.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncConnection
from structlog.testing import capture_logs

from shared.catalogue import EventPayload
from shared.envelope import Envelope
from shared.eventstore.tracking import applied_position
from shared.http.app import create_app
from shared.messaging.consumer import DurableConsumer
from shared.messaging.streams import ensure_service_stream
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from shared.signing import Signer, publish_public_key
from shared.testing.contracts import support as s
from shared.testing.contracts.trust import signed_chain
from shared.testing.servers import NatsServerProcess, free_port, wait_until

pytestmark = pytest.mark.integration


def settings(database_url: str, nats_url: str, namespace: str, tmp_path: Path, **extra: Any) -> ServiceSettings:
    """A service called ``contract`` on the test's database and NATS (as the operator, so its relay
    declares its own stream: no operator step runs in these tests)."""
    return ServiceSettings(service=s.SERVICE, database_url=database_url, nats_url=nats_url, namespace=namespace,
                           data_dir=tmp_path, auth_secret="x" * 40, declare_streams=True, **extra)


def trusted_source(runtime: ServiceRuntime) -> Signer:
    """The source service's key, trusted by this runtime: its consumers apply only signed events."""
    signer = Signer.generate()
    publish_public_key(runtime.settings.effective_trust_dir(), signer.public(s.SOURCE, s.DEPARTMENT, frozenset()))
    return signer


@asynccontextmanager
async def running(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    """Start ``runtime`` and yield an HTTP client of its app (as the service would serve it)."""
    app = create_app(runtime, title="test", description="test", routers=[])
    await runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield client
    finally:
        await runtime.stop()


async def health_is(client: httpx.AsyncClient, status: str, *, naming: str = "") -> dict[str, Any]:
    """Wait until /health says ``status`` (HTTP 200 for ok, 503 otherwise) with a problem containing ``naming``."""
    last: dict[str, Any] = {}

    async def check() -> bool:
        nonlocal last
        response = await client.get("/health")
        last = response.json()
        expected_code = 200 if status == "ok" else 503
        named = not naming or any(naming in p for p in last["problems"])
        return response.status_code == expected_code and last["status"] == status and named

    try:
        await wait_until(check, timeout=15, message=f"/health {status} naming {naming!r}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last report: {last}") from None
    return last


async def commit(runtime: ServiceRuntime, number: int) -> None:
    """One command appending one event to the contract service's log."""
    await runtime.executor.run(lambda conn: runtime.store.append(conn, f"orgunit-{number}", [s.unit(number)],
                                                                 s.context()))


def build(database_url: str, url: str, namespace: str, tmp_path: Path, **extra: Any) -> ServiceRuntime:
    """The contract service's runtime with the contract tables."""
    return ServiceRuntime.build(settings(database_url, url, namespace, tmp_path, **extra), schema=())


async def test_a_relay_that_raises_is_logged_restarted_and_named_by_health(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path
) -> None:
    runtime = build(database_url, nats_url, s.unique_namespace(run_id), tmp_path)
    assert runtime.relay is not None
    relay, real_declare, broken = runtime.relay, runtime.relay._declare_stream, True

    async def declare() -> None:  # an unexpected bug, not a NATS error: the relay itself cannot cope
        if broken:
            raise RuntimeError("injected relay failure")
        await real_declare()

    relay._declare_stream = declare  # type: ignore[method-assign]
    with capture_logs() as logs:
        async with running(runtime) as client:
            report = await health_is(client, "degraded", naming="outbox-relay-contract failed")
            assert "injected relay failure" in report["relay_failure"]
            assert any(e["event"] == "background task failed, restarting" and e.get("exc_info") for e in logs)
            broken = False
            await commit(runtime, 1)
            report = await health_is(client, "ok")
            assert report["nats_publisher"] == "connected" and relay.task.restarts >= 1
            await wait_until(lambda: relay.published == 1, message="the event published after the restart")


async def test_a_consumer_that_raises_is_restarted_and_catches_up(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = s.unique_namespace(run_id)
    runtime = build(database_url, nats_url, namespace, tmp_path)
    signer = trusted_source(runtime)
    async with runtime.engine.begin() as conn:  # the contract's own tables; the runtime migrates the event store's
        await conn.run_sync(s.metadata.create_all)
    applied: list[str] = []

    async def handler(_conn: AsyncConnection, envelope: Envelope, _payload: EventPayload) -> None:
        applied.append(envelope.id)

    consumer = DurableConsumer(runtime.engine, nats_url=nats_url, namespace=namespace, source_service=s.SOURCE,
                               name="health-units", handler=handler, event_types={"orgunit.established"})
    runtime.consumers.append(consumer)
    broken = True

    async def position(*args: Any, **kwargs: Any) -> int:
        if broken:
            raise RuntimeError("injected consumer failure")
        return await applied_position(*args, **kwargs)

    monkeypatch.setattr("shared.messaging.consumer.applied_position", position)
    async with s.jetstream(nats_url) as probe, running(runtime) as client:
        await ensure_service_stream(probe.js, namespace, s.SOURCE)
        for envelope in signed_chain(signer, "orgunit-1", 2, first=1):
            await probe.publish_envelope(namespace, envelope)
        report = await health_is(client, "degraded", naming=f"{consumer.task.name} failed")
        assert "injected consumer failure" in report["consumers"][0]["failure"]
        broken = False
        await wait_until(lambda: len(applied) == 2, message="both events applied after the restart")
        await health_is(client, "ok")


async def test_health_is_degraded_while_nats_does_not_answer(
    database_url: str, nats_server_fn: NatsServerProcess, run_id: str, tmp_path: Path
) -> None:
    runtime = build(database_url, nats_server_fn.url, s.unique_namespace(run_id), tmp_path,
                    health_nats_timeout=0.5)
    async with running(runtime) as client:
        await health_is(client, "ok")
        pid = nats_server_fn._process.pid if nats_server_fn._process else None
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # frozen: the socket stays open, nothing answers
        try:
            report = await health_is(client, "degraded", naming="NATS did not answer a ping within 0.5 s")
            assert report["nats_publisher"] == "connected"  # what the old health believed
            rtt = REGISTRY.get_sample_value("qingdan_nats_rtt_seconds",
                                            {"service": s.SERVICE, "connection": "outbox-relay-contract"})
            assert rtt == -1
        finally:
            os.kill(pid, signal.SIGCONT)
        await health_is(client, "ok")


async def test_health_is_degraded_when_the_oldest_unpublished_event_is_too_old(
    database_url: str, run_id: str, tmp_path: Path
) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"  # no server: nothing gets published
    runtime = build(database_url, nowhere, s.unique_namespace(run_id), tmp_path, health_max_outbox_age=0.3)
    async with running(runtime) as client:
        report = await health_is(client, "degraded", naming="not connected to NATS")
        assert report["nats_publisher"] == "disconnected"  # "disconnected" is never "ok"
        assert not any("oldest unpublished" in p for p in report["problems"])
        await commit(runtime, 1)
        report = await health_is(client, "degraded", naming="oldest unpublished event")
        # Degraded once the age passed 0.3 s; the report rounds it to the millisecond (0.3004 → 0.3).
        assert report["outbox_backlog"] == 1 and report["outbox_oldest_age_s"] >= 0.3
        age = REGISTRY.get_sample_value("qingdan_outbox_oldest_age_seconds", {"service": s.SERVICE})
        assert age is not None and age > 0.3


async def test_health_is_degraded_while_a_consumer_lags_its_stream(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path
) -> None:
    namespace = s.unique_namespace(run_id)
    runtime = build(database_url, nats_url, namespace, tmp_path, health_max_consumer_lag=5)
    signer = trusted_source(runtime)
    gate = asyncio.Event()
    applied: list[str] = []

    async def handler(_conn: AsyncConnection, envelope: Envelope, _payload: EventPayload) -> None:
        await gate.wait()  # held back: the consumer falls behind
        applied.append(envelope.id)

    consumer = DurableConsumer(runtime.engine, nats_url=nats_url, namespace=namespace, source_service=s.SOURCE,
                               name="health-lagging", handler=handler, event_types={"orgunit.established"},
                               batch_size=5)
    runtime.consumers.append(consumer)
    async with s.jetstream(nats_url) as probe:
        await ensure_service_stream(probe.js, namespace, s.SOURCE)
        for envelope in signed_chain(signer, "orgunit-1", 20):
            await probe.publish_envelope(namespace, envelope)
        async with running(runtime) as client:
            report = await health_is(client, "degraded", naming="15 events behind (limit 5)")
            assert report["consumers"][0]["lag"] == 15
            lag: Callable[[], float | None] = lambda: REGISTRY.get_sample_value(  # noqa: E731
                "qingdan_consumer_lag", {"consumer": "health-lagging", "source": consumer.stream})
            assert lag() == 15
            gate.set()
            await wait_until(lambda: len(applied) == 20, message="the consumer to catch up")
            await health_is(client, "ok")
            assert lag() == 0
