"""Ctrl-C while ``python -m services.stack up`` loads the demo: the stack stops cleanly (no
traceback, exit 0) and says what was left; the next ``up`` on that folder does not load the demo
again into the same data, and says what to do instead."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.stack.launcher import EmbeddedStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _below_ephemeral_range() -> int:
    """The first port the kernel may hand to an outgoing connection (Linux: 32768 by default)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _ports(data_dir: Path) -> tuple[int, int]:
    """A NATS port and a base port whose every port (NATS, monitor, services) is free now.

    Both lie below the kernel's ephemeral range: a port free now but inside it can be taken by any
    outgoing connection of a parallel test (a client to NATS or PostgreSQL) before the stack binds
    it, which failed CI twice ("address already in use" on 37624 and 36144)."""
    rng, top = random.Random(), min(_below_ephemeral_range(), 32768)
    for _ in range(50):  # NATS's monitor listens on nats_port + 4000: 24000–27999
        nats_port, base_port = rng.randrange(20000, 24000), rng.randrange(28000, top - 20, 20)
        if not EmbeddedStack(data_dir, nats_port=nats_port, base_port=base_port).busy_ports():
            return nats_port, base_port
    raise AssertionError("no free set of ports for the stack")


def _up(data_dir: Path, log: Path, ports: tuple[int, int]) -> subprocess.Popen[bytes]:
    """``up`` in its own process group with Ctrl-C's default meaning, as a terminal starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "services.stack", "up", "--data-dir", str(data_dir), "--persons", "2000",
         "--nats-port", str(ports[0]), "--base-port", str(ports[1])],
        cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "COLUMNS": "200"}, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float = 600) -> None:
    """Wait for ``text`` in the log (starting the stack and loading the first persons took over 240 s
    at a load average of 20)."""
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None, f"`up` ended before {text!r}:\n{log.read_text(errors='replace')}"
        assert time.monotonic() < deadline, f"no {text!r} within {timeout:.0f} s:\n{log.read_text(errors='replace')}"
        time.sleep(0.2)  # polling a file another process writes


def _ctrl_c(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is not None:  # it ended by itself (the wait before it says why)
        return process.returncode
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole foreground group
    try:  # services stop together within 15 s each (then killed), NATS after them: 90 s is ample
        return process.wait(90)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("`up` did not stop within 90 s of Ctrl-C") from None


def test_ctrl_c_while_the_demo_loads_stops_cleanly_and_the_next_up_says_what_to_do(tmp_path: Path) -> None:
    data_dir, ports = tmp_path / "data", _ports(tmp_path / "probe")
    first = tmp_path / "first.log"
    process = _up(data_dir, first, ports)
    try:  # a tenth of the persons done: the load is in the middle of the persons (what is under test)
        _wait_for(first, "200 of 2000 persons loaded", process)
    finally:
        stopped = _ctrl_c(process)  # also when the wait failed: no stack is left running
    assert stopped == 0
    said = first.read_text(errors="replace")
    assert "persons registered" not in said, said  # the persons' step did not finish
    assert "Traceback" not in said and "KeyboardInterrupt" not in said, said
    assert "Ctrl-C: demo loading stopped" in said and "stopped this stack's NATS and services" in said, said
    assert (data_dir / ".demo-loading").exists() and not (data_dir / ".demo-loaded").exists()
    stack = EmbeddedStack(data_dir, nats_port=ports[0], base_port=ports[1])
    assert not stack.busy_ports(), stack.busy_ports()  # NATS and every service are gone

    second = tmp_path / "second.log"
    process = _up(data_dir, second, ports)
    try:
        _wait_for(second, "Ctrl-C stops everything", process)
    finally:
        stopped = _ctrl_c(process)
    assert stopped == 0
    said = " ".join(second.read_text(errors="replace").split())
    assert "the demo was only partly loaded" in said and "loading the Pengshan demo" not in said, said
    assert "Traceback" not in said and "demo loading stopped" not in said, said
