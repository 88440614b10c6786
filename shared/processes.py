"""Child processes of a launcher: a service run as ``python -m services.<name> serve`` (or another
module) with an environment, waited for until healthy and stopped cleanly, plus the port and
parent-death helpers they need.

Production code (the embedded launcher, ``services/stack``) and the test harness (``shared.testing``)
both use it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def die_with_parent() -> None:
    """In a child process (Linux): receive SIGTERM when the parent dies, so that a launcher or a test
    run killed outright leaves no service behind. Elsewhere, a no-op."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (all held open while choosing, so none coincide)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def port_in_use(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class ServiceProcess:
    """One service running as its own process, logging to a file."""

    def __init__(self, name: str, *, port: int, env: dict[str, str], log_path: Path,
                 module: str | None = None, cwd: Path | None = None) -> None:
        self.name = name
        self.port = port
        self.env = env
        self.log_path = log_path
        self.module = module or f"services.{name}"
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None
        self._asked_to_stop = False

    @property
    def url(self) -> str:
        """The service's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, *, wait: bool = True, timeout: float = 30.0) -> None:
        """Start the process (and wait for its /health to answer).

        Refuses a port something else listens on: otherwise we would wait for, and then talk to,
        somebody else's service (say, a stack left running from before).
        """
        if port_in_use(self.port):
            raise RuntimeError(
                f"port {self.port} for {self.name} is already in use — is another Qingdan still running? "
                "Stop it, or choose other ports (python3 dev.py up --base-port …)"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "QD_HTTP_PORT": str(self.port)}
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
            cwd=self.cwd, start_new_session=True, preexec_fn=die_with_parent,
        )
        log.close()
        self._asked_to_stop = False
        if wait:
            self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Poll /health until it answers (any status: a service up but degraded still serves)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            try:
                httpx.get(f"{self.url}/health", timeout=1.0, trust_env=False)
                return
            except httpx.HTTPError:
                time.sleep(0.05)  # polling a process that is starting: there is no event to wait on
        raise TimeoutError(f"{self.name} did not answer on {self.url} within {timeout}s:\n{self.log_tail()}")

    def ask_to_stop(self) -> None:
        """Send the stop request (SIGINT, like Ctrl-C) without waiting, once: a launcher asks every
        process first and then waits for each, so their shutdowns overlap. A second SIGINT would
        make the server quit without finishing its requests."""
        if self._proc is None or self._proc.poll() is not None or self._asked_to_stop:
            return
        self._asked_to_stop = True
        self._proc.send_signal(signal.SIGINT)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the process to stop (SIGINT, like Ctrl-C), then kill it if it does not."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self.ask_to_stop()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def kill(self) -> None:
        """Kill the process at once (a crash)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the service's log."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
