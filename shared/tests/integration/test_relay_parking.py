"""An event NATS can never take parks its own stream only: the relay publishes every other stream.

The event store refuses such an event (QD_MAX_EVENT_BYTES); these tests put one in the outbox
through a store with no such limit, as an older version or a hand edit could have.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import typer
from prometheus_client import REGISTRY

from shared.cli import release_stream_command
from shared.eventstore.store import EventStore
from shared.messaging.subjects import stream_name
from shared.testing.contracts import support as s
from shared.testing.servers import wait_until

from .test_health import build, commit, health_is, running

pytestmark = pytest.mark.integration

BIG = 1_200_000
"""Characters in the oversized event's name: over NATS's default 1 MiB max_payload."""


async def test_an_event_too_large_for_nats_parks_its_stream_and_the_rest_is_published(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path
) -> None:
    namespace = s.unique_namespace(run_id)
    runtime = build(database_url, nats_url, namespace, tmp_path)
    relay = runtime.relay
    assert relay is not None
    unchecked = EventStore(s.SERVICE, s.DEPARTMENT, signer=runtime.store.signer, max_event_bytes=8 * BIG)
    async with s.jetstream(nats_url) as probe, running(runtime) as client:
        await commit(runtime, 1)
        await runtime.executor.run(lambda conn: unchecked.append(
            conn, "orgunit-9", [s.unit(9, "x" * BIG)], s.context()))
        await commit(runtime, 2)
        await runtime.executor.run(lambda conn: unchecked.append(  # after the parked event: must wait
            conn, "orgunit-9", [s.unit(9, "renamed")], s.context()))
        await commit(runtime, 3)
        report = await health_is(client, "degraded", naming="stream orgunit-9 parked")
        assert [p["stream_id"] for p in report["parked_streams"]] == ["orgunit-9"]
        assert "max_payload" in report["parked_streams"][0]["reason"]
        assert REGISTRY.get_sample_value("qingdan_relay_parked_streams", {"service": s.SERVICE}) == 1
        stream = stream_name(namespace, s.SERVICE)
        await wait_until(lambda: relay.published == 3, message="the other streams' three events published")

        subscription = await probe.js.pull_subscribe(f"{namespace}.{s.SERVICE}.>", durable="parking-reader",
                                                     stream=stream)
        messages = await subscription.fetch(10, timeout=2)
        received = [json.loads(m.data)["subject"] for m in messages]
        assert received == ["orgunit-1", "orgunit-2", "orgunit-3"]  # in order, none of the parked stream
        assert await probe.count(stream) == 3
        assert await relay.backlog() == 2  # the oversized event and the one behind it stay in the outbox
        await commit(runtime, 4)  # the relay keeps publishing new events of other streams
        await wait_until(lambda: relay.published == 4, message="a later event of another stream published")


async def test_a_maximum_event_size_the_server_cannot_carry_is_named_at_start(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path
) -> None:
    runtime = build(database_url, nats_url, s.unique_namespace(run_id), tmp_path, max_event_bytes=2 * 1024 * 1024)
    async with running(runtime) as client:
        await health_is(client, "degraded", naming="QD_MAX_EVENT_BYTES=2097152 does not fit")
    fitting = build(database_url, nats_url, s.unique_namespace(run_id), tmp_path)
    async with running(fitting) as client:
        await health_is(client, "ok")


async def test_a_parked_stream_is_released_by_the_operator_or_a_larger_max_payload(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = s.unique_namespace(run_id)
    runtime = build(database_url, nats_url, namespace, tmp_path)
    relay = runtime.relay
    assert relay is not None
    unchecked = EventStore(s.SERVICE, s.DEPARTMENT, signer=runtime.store.signer, max_event_bytes=8 * BIG)
    async with running(runtime) as client:
        await wait_until(lambda: relay.connected, message="the relay connected")
        assert relay._nc is not None
        # What a server with max_payload 512 KiB announces; the event (600 kB) does not fit.
        monkeypatch.setattr(relay._nc, "_max_payload", 512 * 1024)
        await runtime.executor.run(lambda conn: unchecked.append(
            conn, "orgunit-9", [s.unit(9, "x" * 600_000)], s.context()))
        await health_is(client, "degraded", naming="stream orgunit-9 parked")
        # The operator releases it before fixing anything: it is parked again at once.
        assert await relay.outbox.release("orgunit-9") == ["orgunit-9"]
        await health_is(client, "degraded", naming="stream orgunit-9 parked")
        assert relay.published == 0
        monkeypatch.setattr(relay._nc, "_max_payload", 1024 * 1024)  # the operator raised it (seen on reconnect)
        await commit(runtime, 1)
        await wait_until(lambda: relay.published == 2, message="the released stream's event published")
        await health_is(client, "ok")
        assert await relay.outbox.parked() == []


async def test_a_parked_stream_stays_parked_across_a_restart_and_the_cli_releases_it(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace = s.unique_namespace(run_id)
    first = build(database_url, nats_url, namespace, tmp_path)
    unchecked = EventStore(s.SERVICE, s.DEPARTMENT, signer=first.store.signer, max_event_bytes=8 * BIG)
    async with running(first) as client:
        await first.executor.run(lambda conn: unchecked.append(
            conn, "orgunit-9", [s.unit(9, "x" * BIG)], s.context()))
        await health_is(client, "degraded", naming="stream orgunit-9 parked")
    again = build(database_url, nats_url, namespace, tmp_path)
    relay = again.relay
    assert relay is not None
    async with running(again) as client:
        await commit(again, 1)
        await wait_until(lambda: relay.published == 1, message="the other stream's event published")
        report = await health_is(client, "degraded", naming="stream orgunit-9 parked")
        assert [p["stream_id"] for p in report["parked_streams"]] == ["orgunit-9"]
    listing = build(database_url, nats_url, namespace, tmp_path)
    capsys.readouterr()  # the services' log lines so far
    await asyncio.to_thread(release_stream_command, listing, None)
    assert capsys.readouterr().out.startswith("orgunit-9: event ")
    with pytest.raises(typer.Exit):
        await asyncio.to_thread(release_stream_command, build(database_url, nats_url, namespace, tmp_path),
                                "orgunit-1")
    await asyncio.to_thread(release_stream_command, build(database_url, nats_url, namespace, tmp_path),
                            "orgunit-9")
    assert "released orgunit-9" in capsys.readouterr().out
    assert await listing.relay.outbox.parked() == []  # type: ignore[union-attr]
    await listing.engine.dispose()
