"""An idle stack says ok and logs no error; a service stops without a traceback whatever NATS is doing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import Callable

import httpx
import pytest

from shared.testing.processes import ServiceProcess
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack

pytestmark = pytest.mark.e2e

FETCH_TIMEOUT = 0.5
"""Seconds each consumer's fetch waits on an idle stream (QD_CONSUMER_FETCH_TIMEOUT): short, so that
a quiet period of a few seconds covers several empty pulls on every consumer."""

QUIET = 8 * FETCH_TIMEOUT

SHUTDOWN_NOISE = ("Traceback", "shutdown failed", "never retrieved", "Task was destroyed")


def error_lines(process: ServiceProcess) -> list[str]:
    """Log lines at ERROR or above (structured JSON lines), and any traceback."""
    found = []
    for line in process.log_path.read_text(errors="replace").splitlines():
        try:
            level = json.loads(line).get("level", "")
        except (ValueError, AttributeError):
            level = ""
        if level in ("error", "critical") or any(noise in line for noise in SHUTDOWN_NOISE):
            found.append(line)
    return found


async def all_ok(stack: Stack) -> None:
    """Wait until every service's /health answers 200 ok."""
    def ok() -> bool:
        for process in stack.services.values():
            response = httpx.get(f"{process.url}/health", timeout=2, trust_env=False)
            if response.status_code != 200 or response.json()["status"] != "ok":
                return False
        return True
    try:
        await wait_until(ok, timeout=30, message="every service to report ok")
    except AssertionError:
        print(stack.logs())
        raise


async def test_an_idle_stack_says_ok_and_logs_no_error(
    stack_factory: Callable[[NatsServerProcess], Stack], nats_server: NatsServerProcess
) -> None:
    stack = stack_factory(nats_server)
    env = {"QD_CONSUMER_FETCH_TIMEOUT": str(FETCH_TIMEOUT)}
    for name in ("registry", "checklists", "inspections", "reporting"):
        stack.add(name, env=env)
    stack.start()
    await all_ok(stack)
    await asyncio.sleep(QUIET)  # the quiet period is what is under test: every consumer pulls empty several times
    await all_ok(stack)
    for key, process in stack.services.items():
        assert error_lines(process) == [], f"{key} logged errors on an idle stack"


def stop_with(process: ServiceProcess, sig: signal.Signals, timeout: float = 20) -> int:
    """Send ``sig`` (Ctrl-C is SIGINT, an orchestrator's stop SIGTERM) and return the exit code."""
    proc = process._proc
    assert proc is not None
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"{process.name} did not stop within {timeout}s:\n{process.log_tail()}") from None


def assert_stopped_cleanly(process: ServiceProcess, code: int, sig: signal.Signals) -> None:
    """The application shut down completely, with nothing at ERROR and no traceback.

    uvicorn re-raises the signal it caught once shutdown is complete, so a SIGTERM'd service ends
    "killed by SIGTERM", as an orchestrator expects; SIGINT ends with 0.
    """
    log = process.log_path.read_text(errors="replace")
    assert code in (0, -sig), f"{process.name} exited with {code}:\n{process.log_tail()}"
    assert "Application shutdown complete" in log, process.log_tail()
    assert error_lines(process) == [], process.log_tail()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_a_service_waiting_for_streams_stops_without_a_traceback(
    stack_factory: Callable[[NatsServerProcess], Stack], nats_server: NatsServerProcess, sig: signal.Signals
) -> None:
    stack = stack_factory(nats_server)
    reporting = stack.add("reporting")  # alone: its consumers wait for streams no service has created
    stack.start()
    await all_ok(stack)
    assert_stopped_cleanly(reporting, stop_with(reporting, sig), sig)


async def test_services_stop_without_a_traceback_while_nats_is_frozen(
    stack_factory: Callable[[NatsServerProcess], Stack], nats_server_fn: NatsServerProcess
) -> None:
    stack = stack_factory(nats_server_fn)
    registry, reporting = stack.add("registry"), stack.add("reporting")
    stack.start()
    await all_ok(stack)
    pid = nats_server_fn._process.pid if nats_server_fn._process else None
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # requests now time out: stream_info, close, flush
    try:
        assert_stopped_cleanly(reporting, stop_with(reporting, signal.SIGTERM), signal.SIGTERM)
        assert_stopped_cleanly(registry, stop_with(registry, signal.SIGINT), signal.SIGINT)
    finally:
        os.kill(pid, signal.SIGCONT)
