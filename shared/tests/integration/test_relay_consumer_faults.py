"""The relay during a JetStream election, and a consumer on an idle stream, against a real nats-server."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from nats.js.client import JetStreamContext
from nats.js.errors import NoStreamResponseError
from sqlalchemy.ext.asyncio import AsyncConnection
from structlog.testing import capture_logs

from shared.catalogue import EventPayload
from shared.envelope import Envelope
from shared.messaging.consumer import DurableConsumer
from shared.messaging.relay import PartiallyAcknowledged
from shared.messaging.streams import ensure_service_stream
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from shared.signing import Signer, publish_public_key
from shared.testing.contracts import support as s
from shared.testing.contracts.trust import signed_chain
from shared.testing.servers import wait_until

pytestmark = pytest.mark.integration


def runtime_for(database_url: str, nats_url: str, namespace: str, tmp_path: Path) -> ServiceRuntime:
    """The contract service's runtime on the test's database and NATS."""
    settings = ServiceSettings(service=s.SERVICE, database_url=database_url, nats_url=nats_url,
                               namespace=namespace, data_dir=tmp_path, auth_secret="x" * 40, declare_streams=True)
    return ServiceRuntime.build(settings, schema=())


async def test_the_relay_retries_promptly_while_jetstream_elects_a_leader(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path
) -> None:
    runtime = runtime_for(database_url, nats_url, s.unique_namespace(run_id), tmp_path)
    relay = runtime.relay
    assert relay is not None
    real_publish, attempts = relay.publish_pending, []
    # What losing a stream leader looks like: no responders, or acknowledgements that never come.
    election = [NoStreamResponseError(), PartiallyAcknowledged(0, 1, TimeoutError())] * 3

    async def publish() -> int:
        attempts.append(asyncio.get_running_loop().time())
        if len(attempts) <= len(election):
            raise election[len(attempts) - 1]
        return await real_publish()

    relay.publish_pending = publish  # type: ignore[method-assign]
    await runtime.start()
    try:
        await runtime.executor.run(lambda c: runtime.store.append(c, "orgunit-1", [s.unit(1)], s.context()))
        await wait_until(lambda: relay.published == 1, message="the event published once the election is over")
    finally:
        await runtime.stop()
    gaps = [b - a for a, b in itertools.pairwise(attempts[:len(election) + 1])]
    # Doubling from 0.1 s would reach 1.6 s by the sixth retry; an election's end is caught within 0.1 s.
    assert len(gaps) == len(election) and max(gaps) < 0.5, gaps


async def test_an_empty_fetch_is_an_idle_stream_not_an_error(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = s.unique_namespace(run_id)
    runtime = runtime_for(database_url, nats_url, namespace, tmp_path)
    signer = Signer.generate()  # the source's key, trusted by this runtime: consumers apply only signed events
    publish_public_key(runtime.settings.effective_trust_dir(), signer.public(s.SOURCE, s.DEPARTMENT, frozenset()))
    applied: list[str] = []

    async def handler(_conn: AsyncConnection, envelope: Envelope, _payload: EventPayload) -> None:
        applied.append(envelope.id)

    consumer = DurableConsumer(runtime.engine, nats_url=nats_url, namespace=namespace, source_service=s.SOURCE,
                               name="idle-units", handler=handler, event_types={"orgunit.established"})
    runtime.consumers.append(consumer)
    real_fetch, empty_fetches = JetStreamContext.PullSubscription.fetch, list[int]()

    async def fetch(self: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if len(empty_fetches) < 3:  # nats-py 2.16 can end a pull request with no message and no error
            empty_fetches.append(1)
            return []
        return await real_fetch(self, *args, **kwargs)

    monkeypatch.setattr(JetStreamContext.PullSubscription, "fetch", fetch)
    async with s.jetstream(nats_url) as probe:
        await ensure_service_stream(probe.js, namespace, s.SOURCE)
        with capture_logs() as logs:
            await runtime.start()
            try:
                await wait_until(lambda: len(empty_fetches) == 3, message="three empty fetches")
                for envelope in signed_chain(signer, "orgunit-1", 2, first=1):
                    await probe.publish_envelope(namespace, envelope)
                await wait_until(lambda: len(applied) == 2, message="the events after the empty fetches")
            finally:
                await runtime.stop()
    assert [e for e in logs if e["log_level"] in ("error", "critical")] == []
    assert consumer.task.restarts == 0
