"""Servers for tests: a private NATS JetStream, throw-away PostgreSQL databases, condition waits.

The NATS server and the port helpers live in production modules (``shared.natsserver``,
``shared.processes``: the embedded launcher uses them too) and are re-exported here, so tests
keep one import. PostgreSQL is the one given by ``QD_TEST_PG_ADMIN_URL`` (default: local, user
``postgres``); each test database gets a unique name and is dropped afterwards.
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
import subprocess
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

from shared.messaging.credentials import NatsAuth
from shared.natsserver import ClusterMembership as ClusterMembership
from shared.natsserver import NatsServerProcess as NatsServerProcess
from shared.natsserver import nats_server_executable as nats_server_executable
from shared.processes import die_with_parent as die_with_parent
from shared.processes import free_port as free_port
from shared.processes import free_ports
from shared.signing import write_private

# Health checks go straight to 127.0.0.1, never through an HTTP proxy from the environment.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

T = TypeVar("T")

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


CLUSTER_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "qingdan.conf"
"""The production cluster's node configuration; test clusters load the same file (no drift)."""


def cluster_node_command(
    node: NatsServerProcess, cluster: ClusterMembership, config: Path = CLUSTER_CONFIG
) -> tuple[list[str], dict[str, str]]:
    """The command and environment that start ``node`` from :data:`CLUSTER_CONFIG` (or a copy of it,
    ``config``, beside the test's own users) on loopback.

    The one place that turns a node into the ``NATS_*`` variables the file reads (the same ones
    docker-compose.yml sets): when the configuration gains an include (accounts, permissions),
    this is what to extend.
    """
    if not CLUSTER_CONFIG.is_file():
        raise RuntimeError(f"the cluster configuration {CLUSTER_CONFIG} is missing (run from a checkout)")
    routes = ", ".join(f"nats://127.0.0.1:{port}" for port in (cluster.port, *cluster.routes))
    env = {
        **os.environ,
        "NATS_SERVER_NAME": node.server_name or f"{cluster.name}-{node.port}",
        "NATS_HOST": "127.0.0.1",
        "NATS_PORT": str(node.port),
        "NATS_MONITOR_PORT": str(node.monitor_port),
        "NATS_CLUSTER_PORT": str(cluster.port),
        "NATS_STORE_DIR": str(node.data_dir),
        "NATS_ROUTES": f"[{routes}]",
    }
    return [str(nats_server_executable()), "-c", str(config)], env


class ClusterNode(NatsServerProcess):
    """A node of a test cluster: started from :data:`CLUSTER_CONFIG`, like a node of the deployment.

    Only the users differ: the deployment's file includes ``nats-auth.conf`` (passwords from the
    environment, namespace ``qd``); a test node runs an exact copy of the file next to the
    cluster's own generated users (its run's namespace), so the rest cannot drift.
    """

    def _write_config(self) -> Path:
        folder = self.auth.folder
        write_private(folder / "nats-auth.conf", self.auth.authorization())
        path = folder / CLUSTER_CONFIG.name
        write_private(path, CLUSTER_CONFIG.read_text())
        return path

    def _command(self) -> list[str]:
        assert self.cluster is not None
        return cluster_node_command(self, self.cluster, self._write_config())[0]

    def _environment(self) -> dict[str, str]:
        assert self.cluster is not None
        return cluster_node_command(self, self.cluster)[1]


class NatsCluster:
    """A small JetStream cluster on loopback (three nodes by default), each a :class:`NatsServerProcess`.

    ``url`` lists every node, comma-separated, as ``QD_NATS_URL`` does on a production cluster.
    ``start`` returns once every node is up and the JetStream meta group has a leader.
    """

    def __init__(self, root: Path | str, *, size: int = 3, name: str = "qd-test-cluster",
                 start_timeout: float = 30.0) -> None:
        root = Path(root).resolve()
        ports = free_ports(3 * size)
        clients, monitors, routes = ports[:size], ports[size:2 * size], ports[2 * size:]
        self.name = name
        self.start_timeout = start_timeout
        # One set of users for every node: a client moving to another node keeps its identity.
        self.auth = NatsAuth(root / "auth")
        self.nodes: list[NatsServerProcess] = [
            ClusterNode(
                root / f"n{i}", port=clients[i], monitor_port=monitors[i], server_name=f"{name}-{i}",
                start_timeout=start_timeout, auth=self.auth,
                cluster=ClusterMembership(name, routes[i], tuple(p for j, p in enumerate(routes) if j != i)),
            )
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        """Every node's client URL as the operator, comma-separated."""
        return ",".join(node.url for node in self.nodes)

    @property
    def plain_url(self) -> str:
        """Every node's client URL without credentials, comma-separated."""
        return ",".join(node.plain_url for node in self.nodes)

    def reload_auth(self) -> None:
        """Apply users added to :attr:`auth` on every running node."""
        for node in self.nodes:
            node.reload_auth()

    def start(self) -> None:
        """Start every node together (a node alone has no JetStream quorum), then wait for a meta leader."""
        deadline = time.monotonic() + self.start_timeout
        for node in self.nodes:
            node.data_dir.mkdir(parents=True, exist_ok=True)
            node.log_path.parent.mkdir(parents=True, exist_ok=True)
            node._spawn()
        for node in self.nodes:
            if not node._wait_healthy(deadline):
                self.stop()
                raise RuntimeError(f"cluster node {node.server_name} did not start:\n{node._log_tail(0)}")
        while time.monotonic() < deadline:
            if all(self.meta_leader(node) for node in self.nodes):
                return
            time.sleep(0.05)  # the cluster elects its meta leader by itself: poll for it
        self.stop()
        raise RuntimeError(f"the cluster elected no JetStream meta leader within {self.start_timeout}s")

    @staticmethod
    def meta_leader(node: NatsServerProcess) -> str | None:
        """The JetStream meta leader as ``node`` sees it (None if unknown or not running)."""
        leader = (NatsCluster.monitor(node, "/jsz") or {}).get("meta_cluster", {}).get("leader")
        return str(leader) if leader else None

    @staticmethod
    def monitor(node: NatsServerProcess, path: str) -> dict[str, Any] | None:
        """``node``'s monitoring endpoint ``path`` (e.g. ``/jsz?streams=true``) as JSON; None if it does not answer."""
        if not node.running:
            return None
        with (
            contextlib.suppress(OSError, http.client.HTTPException, ValueError),
            _NO_PROXY_OPENER.open(f"http://127.0.0.1:{node.monitor_port}{path}", timeout=2.0) as response,
        ):
            body: dict[str, Any] = json.load(response)
            return body
        return None

    def node_named(self, server_name: str) -> NatsServerProcess:
        """The node whose server name is ``server_name``."""
        return next(node for node in self.nodes if node.server_name == server_name)

    def replica_last_seq(self, node: NatsServerProcess, stream: str) -> int | None:
        """The last sequence of ``node``'s own replica of ``stream`` (its /jsz), None if it has none."""
        body = self.monitor(node, "/jsz?accounts=true&streams=true")
        for account in (body or {}).get("account_details") or []:
            for detail in account.get("stream_detail") or []:
                if detail.get("name") == stream:
                    return int(detail["state"]["last_seq"])
        return None

    def hosting(self, connection_name: str) -> list[NatsServerProcess]:
        """The running nodes that have a client connection whose name contains ``connection_name`` (/connz)."""
        found = []
        for node in self.nodes:
            body = self.monitor(node, "/connz?limit=4096")
            if any(connection_name in (c.get("name") or "") for c in (body or {}).get("connections") or []):
                found.append(node)
        return found

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


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
