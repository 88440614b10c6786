"""A whole Qingdan stack in processes: one NATS, the chosen services, each with its own database.

End-to-end tests and benchmarks use it; every service is the real one, started as
``python -m services.<name> serve``, talking over real NATS.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

import httpx

from shared.auth import Principal, Role, TokenService
from shared.http.client import expect as expect
from shared.messaging.credentials import instance_user
from shared.messaging.streams import declare_stack_streams
from shared.natsserver import NatsServerProcess
from shared.processes import ServiceProcess, free_port
from shared.testing.servers import NatsCluster, PostgresDatabase, run_sync

TEST_SECRET = "test-secret-" + "x" * 40


class Stack:
    """Services of one test (or benchmark) run; namespaced so runs never see each other's messages."""

    def __init__(
        self,
        root: Path,
        nats: NatsServerProcess | NatsCluster,
        *,
        namespace: str,
        database_url: Callable[[str], str],
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.nats = nats
        self.namespace = namespace
        self._database_url = database_url
        self._extra_env = extra_env or {}
        self.master_key = base64.b64encode(os.urandom(32)).decode()
        self.tokens = TokenService(TEST_SECRET)
        self.services: dict[str, ServiceProcess] = {}
        self._replicas = int(self._extra_env.get("QD_STREAM_REPLICAS", "1"))

    def add(self, name: str, *, instance: str | None = None, env: dict[str, str] | None = None) -> ServiceProcess:
        """Declare a service process (``instance`` names a second copy, e.g. another department's)."""
        key = instance or name
        given = {**self._extra_env, **(env or {})}
        user = instance_user(self.nats.auth, self.namespace, name, given)  # publishes only its own subjects
        self.nats.reload_auth()
        env = {
            "QD_NATS_URL": self.nats.plain_url,
            "QD_NATS_USER": user.name,
            "QD_NATS_PASSWORD": user.password,
            "QD_NAMESPACE": self.namespace,
            "QD_DATA_DIR": str(self.root / key),
            # One trust folder for the stack: each instance enrols its public key there (development).
            "QD_TRUST_DIR": str(self.root / "trust"),
            "QD_DATABASE_URL": self._database_url(key),
            "QD_AUTH_SECRET": TEST_SECRET,
            "QD_MASTER_KEY": self.master_key,
            "QD_LOG_LEVEL": "INFO",
            # Tests sign with made-up staff (``token``); a test of the staff check turns it back on.
            "QD_AUTH_STAFF_CHECK": "false",
            **self._extra_env,
            **(env or {}),
        }
        # The operator step makes each stream with the most replicas any of its services asks for.
        self._replicas = max(self._replicas, int(env.get("QD_STREAM_REPLICAS", "1")))
        process = ServiceProcess(name, port=free_port(), env=env, log_path=self.root / f"{key}.log")
        self.services[key] = process
        return process

    def start(self, *keys: str) -> None:
        """Start the named services (all declared ones by default).

        Browsers may call each service from the stack's own pages only, as in the embedded
        launcher: every service's origin is in every service's ``QD_CORS_ORIGINS`` (unless set).
        """
        # The operator step: the writing services' streams, with deny-delete and deny-purge.
        services = [p.name for p in self.services.values()]
        run_sync(lambda: declare_stack_streams(self.nats.url, self.namespace, services, replicas=self._replicas))
        origins = ",".join(p.url.rstrip("/") for p in self.services.values())
        for key in keys or tuple(self.services):
            self.services[key].env.setdefault("QD_CORS_ORIGINS", origins)
            self.services[key].start()

    def stop(self) -> None:
        """Stop every service."""
        for process in self.services.values():
            process.stop()

    def token(self, staff_id: str, *roles: Role, department: str = "federation",
              township_code: str | None = None) -> str:
        """A bearer token for a made-up member of staff."""
        principal = Principal(staff_id=staff_id, department=department, roles=frozenset(roles),
                              township_code=township_code)
        return self.tokens.issue(principal)

    def client(self, key: str, token: str | None = None) -> httpx.Client:
        """An HTTP client for a service, authenticated with ``token``."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.services[key].url, headers=headers, timeout=30.0, trust_env=False)

    def logs(self) -> str:
        """Every service's log tail, for a failing test's report."""
        return "\n".join(f"--- {k} ---\n{p.log_tail(40)}" for k, p in self.services.items())


class PostgresDatabases:
    """A fresh PostgreSQL database per service key (a ``Stack``'s ``database_url``), all dropped by :meth:`drop`.

    For tests that run on PostgreSQL whatever the run's backend (several processes per service,
    the cluster test). Names are ``qd_test_<run id>_<label>_<key>_<random>``, unique per run.
    """

    def __init__(self, admin_url: str, *, run_id: str, label: str) -> None:
        self.admin_url = admin_url
        self.run_id = run_id
        self.label = label
        self._databases: dict[str, PostgresDatabase] = {}

    def __call__(self, key: str) -> str:
        """The SQLAlchemy URL of ``key``'s database, created on first use."""
        if key not in self._databases:
            database = PostgresDatabase(self.admin_url, run_id=self.run_id)
            database.create(f"{self.label}_{key}")
            self._databases[key] = database
        return self._databases[key].sqlalchemy_url

    def dsn(self, key: str) -> str:
        """The plain ``postgresql://`` DSN of ``key``'s database (for asyncpg)."""
        self(key)
        return self._databases[key].dsn

    def drop(self) -> None:
        """Drop every database made."""
        for database in self._databases.values():
            database.drop()
        self._databases.clear()

