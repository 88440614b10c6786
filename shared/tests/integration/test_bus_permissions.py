"""NATS authorisation: each service identity may publish only its own subjects and may never
delete or purge; the streams themselves refuse deletion and purging; no credentials, no entry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from structlog.testing import capture_logs

from shared.messaging.credentials import publishing_departments, with_credentials
from shared.messaging.streams import declare_streams
from shared.messaging.subjects import stream_name
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from shared.testing.contracts import support as s
from shared.testing.contracts.support import unique_namespace
from shared.testing.servers import NatsServerProcess, wait_until

from .test_health import commit, health_is, running

pytestmark = pytest.mark.integration


@asynccontextmanager
async def connected(url: str, errors: list[str] | None = None) -> AsyncIterator[Client]:
    async def record(exc: Exception) -> None:
        if errors is not None:
            errors.append(str(exc))

    nc = await nats.connect(url, allow_reconnect=False, connect_timeout=5, error_cb=record)
    try:
        yield nc
    finally:
        await nc.close()


async def _count(operator_url: str, stream: str) -> int:
    async with connected(operator_url) as nc:
        return int((await nc.jetstream().stream_info(stream)).state.messages)


async def test_a_connection_without_credentials_is_refused(nats_server: NatsServerProcess) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(nats_server.plain_url, allow_reconnect=False, connect_timeout=5)
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(with_credentials(nats_server.plain_url, "qd-operator", "wrong"),
                           allow_reconnect=False, connect_timeout=5)


async def test_a_service_identity_publishes_its_own_subjects_only_and_cannot_delete(
    nats_server: NatsServerProcess, run_id: str
) -> None:
    namespace = unique_namespace(run_id)
    health = nats_server.auth.service_user(namespace, "checklists", "health",
                                           publishing_departments("checklists", "health"))
    nats_server.reload_auth()
    stream = stream_name(namespace, "checklists")
    await declare_streams(nats_server.url, namespace, ["checklists"])
    own = f"{namespace}.checklists.health.task.completed"
    other = f"{namespace}.checklists.federation.task.completed"
    errors: list[str] = []

    async def refused(what: str) -> None:
        needle = f'permissions violation for publish to "{what.lower()}"'  # nats-py lower-cases it
        await wait_until(lambda: any(needle in e.lower() for e in errors),
                         timeout=5, message=f"the server to refuse publishing to {what} (errors: {errors})")

    async with connected(with_credentials(nats_server.plain_url, health.name, health.password), errors) as nc:
        js = nc.jetstream(timeout=0.5)  # a refused request is never answered: do not wait long
        assert (await js.publish(own, b"{}")).seq == 1
        with pytest.raises(nats.errors.TimeoutError):
            await js.publish(other, b"{}")
        await refused(other)
        with pytest.raises(nats.errors.TimeoutError):
            await js.delete_msg(stream, 1)
        await refused(f"$JS.API.STREAM.MSG.DELETE.{stream}")
        with pytest.raises(nats.errors.TimeoutError):
            await js.purge_stream(stream)
        await refused(f"$JS.API.STREAM.PURGE.{stream}")
        with pytest.raises(nats.errors.TimeoutError):
            await js.delete_stream(stream)
        await refused(f"$JS.API.STREAM.DELETE.{stream}")
        with pytest.raises(nats.errors.TimeoutError):  # nor may it loosen the stream's configuration
            await js.update_stream(name=stream, subjects=[f"{namespace}.checklists.>"])
        await refused(f"$JS.API.STREAM.UPDATE.{stream}")
    assert await _count(nats_server.url, stream) == 1


async def test_the_streams_refuse_deletion_and_purging_even_to_the_operator(
    nats_server: NatsServerProcess, run_id: str
) -> None:
    namespace = unique_namespace(run_id)
    [stream] = await declare_streams(nats_server.url, namespace, ["registry"])
    async with connected(nats_server.url) as nc:
        js = nc.jetstream()
        await js.publish(f"{namespace}.registry.federation.person.registered", b"{}")
        info = await js.stream_info(stream)
        assert info.config.deny_delete and info.config.deny_purge
        with pytest.raises(nats.js.errors.APIError):
            await js.delete_msg(stream, 1)
        with pytest.raises(nats.js.errors.APIError):
            await js.purge_stream(stream)
    assert await _count(nats_server.url, stream) == 1


async def test_a_publish_refused_by_the_server_is_logged_naming_the_subject_and_named_by_health(
    nats_server: NatsServerProcess, run_id: str, database_url: str, tmp_path: Path
) -> None:
    """A misconfigured identity: allowed ``<ns>.contract.health.>`` while the service writes for the
    federation. Without the error callback this looked like acknowledgements timing out."""
    namespace = unique_namespace(run_id)
    await declare_streams(nats_server.url, namespace, [s.SERVICE])
    user = nats_server.auth.service_user(namespace, s.SERVICE, "health", {"health"})
    nats_server.reload_auth()
    runtime = ServiceRuntime.build(ServiceSettings(  # the operator declared the stream: the service may not
        service=s.SERVICE, database_url=database_url, namespace=namespace, data_dir=tmp_path, auth_secret="x" * 40,
        nats_url=with_credentials(nats_server.plain_url, user.name, user.password)), schema=())
    relay = runtime.relay
    assert relay is not None
    subject = f"{namespace}.{s.SERVICE}.{s.DEPARTMENT}.orgunit.established"
    with capture_logs() as logs:
        async with running(runtime) as client:
            await commit(runtime, 1)
            await health_is(client, "degraded", naming=f"NATS refused publishing to {subject}")
            refused = [e for e in logs if e["event"] == "nats refused a publish: permissions violation"]
            assert refused and refused[0]["log_level"] == "error" and refused[0]["subject"] == subject
            assert relay.published == 0 and await relay.backlog() == 1
            # The operator fixes the identity: the event goes out and /health is ok again.
            nats_server.auth.service_user(namespace, s.SERVICE, "health", {"health", s.DEPARTMENT})
            nats_server.reload_auth()
            await wait_until(lambda: relay.published == 1, timeout=15, message="the event published once allowed")
            await health_is(client, "ok")
    assert sum(e["event"] == "nats refused a publish: permissions violation" for e in logs) == 1  # not every retry
