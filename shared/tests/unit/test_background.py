"""NATS addresses, the back-off, and supervised background tasks (no server needed)."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from shared.messaging.connection import nats_servers
from shared.messaging.retry import Backoff, retry_until_ready
from shared.settings import ServiceSettings
from shared.supervision import Supervised
from shared.testing.servers import wait_until

pytestmark = pytest.mark.unit


def test_a_cluster_address_becomes_a_list_of_servers() -> None:
    url = "nats://10.0.0.1:4222, nats://10.0.0.2:4222,,tls://nats-3:4443 "
    assert nats_servers(url) == ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222", "tls://nats-3:4443"]
    assert nats_servers("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]
    assert nats_servers(["nats://a:1", " nats://b:2"]) == ["nats://a:1", "nats://b:2"]


@pytest.mark.parametrize("url", ["", " , ", "127.0.0.1:4222", "http://x:4222", "nats://", "nats://h:port"])
def test_a_bad_address_is_refused_naming_it(url: str) -> None:
    with pytest.raises(ValueError, match="NATS server"):
        nats_servers(url)


def test_settings_refuse_a_bad_nats_url_at_start() -> None:
    with pytest.raises(ValidationError, match="not a NATS server URL: 'nats//a:1'"):
        ServiceSettings(nats_url="nats://ok:4222,nats//a:1")
    assert ServiceSettings(nats_url="nats://a:1,nats://b:2").nats_url == "nats://a:1,nats://b:2"


def test_backoff_doubles_up_to_its_maximum_and_resets() -> None:
    backoff = Backoff(0.1, 0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.1


async def test_retry_until_ready_retries_only_what_it_is_told_to() -> None:
    attempts: list[int] = []

    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise TimeoutError("not yet")
        return "ready"

    assert await retry_until_ready(flaky, what="test", retry_on=(TimeoutError,), backoff=Backoff(0.001)) == "ready"
    assert len(attempts) == 3

    async def broken() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await retry_until_ready(broken, what="test", retry_on=(TimeoutError,), backoff=Backoff(0.001))


async def test_a_failing_task_is_logged_at_once_restarted_and_reports_its_failure_until_it_recovers() -> None:
    runs: list[int] = []
    release = asyncio.Event()

    async def body() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError(f"injected failure {len(runs)}")
        task.recovered()
        await release.wait()

    task = Supervised("test-task", body, backoff=Backoff(0.01, 0.02))
    with capture_logs() as logs:
        task.start()
        await wait_until(lambda: task.failure is not None, message="the first failure to be recorded")
        assert not task.healthy and "injected failure" in (task.failure or "")
        failures = [e for e in logs if e["event"] == "background task failed, restarting"]
        assert failures and failures[0]["log_level"] == "error" and failures[0]["exc_info"] is True
        assert failures[0]["task"] == "test-task"
        await wait_until(lambda: task.healthy, message="the task to recover after its restarts")
    assert task.restarts == 2 and len(runs) == 3
    await task.stop()
    assert not task.running


async def test_stopping_a_task_that_waits_is_quiet() -> None:
    async def waits_for_ever() -> None:
        await asyncio.Event().wait()

    task = Supervised("waiting-task", waits_for_ever)
    with capture_logs() as logs:
        task.start()
        await asyncio.sleep(0)  # let it start waiting
        await task.stop()
    assert logs == [] and task.failure is None
