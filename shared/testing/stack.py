"""A whole Qingdan stack in processes: one NATS, the chosen services, each with its own database.

End-to-end tests and benchmarks use it; every service is the real one, started as
``python -m services.<name> serve``, talking over real NATS.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from shared.auth import Principal, Role, TokenService
from shared.testing.processes import ServiceProcess
from shared.testing.servers import NatsServerProcess, free_port

TEST_SECRET = "test-secret-" + "x" * 40


class Stack:
    """Services of one test (or benchmark) run; namespaced so runs never see each other's messages."""

    def __init__(
        self,
        root: Path,
        nats: NatsServerProcess,
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

    def add(self, name: str, *, instance: str | None = None, env: dict[str, str] | None = None) -> ServiceProcess:
        """Declare a service process (``instance`` names a second copy, e.g. another department's)."""
        key = instance or name
        env = {
            "QD_NATS_URL": self.nats.url,
            "QD_NAMESPACE": self.namespace,
            "QD_DATA_DIR": str(self.root / key),
            "QD_DATABASE_URL": self._database_url(key),
            "QD_AUTH_SECRET": TEST_SECRET,
            "QD_MASTER_KEY": self.master_key,
            "QD_LOG_LEVEL": "INFO",
            **self._extra_env,
            **(env or {}),
        }
        process = ServiceProcess(name, port=free_port(), env=env, log_path=self.root / f"{key}.log")
        self.services[key] = process
        return process

    def start(self, *keys: str) -> None:
        """Start the named services (all declared ones by default).

        Browsers may call each service from the stack's own pages only, as in the embedded
        launcher: every service's origin is in every service's ``QD_CORS_ORIGINS`` (unless set).
        """
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


def expect(response: httpx.Response, status: int) -> Any:
    """The JSON body of a response that must have ``status``; fails with the body otherwise."""
    if response.status_code != status:
        raise AssertionError(
            f"{response.request.method} {response.request.url} -> {response.status_code}, "
            f"expected {status}: {response.text}"
        )
    return response.json() if response.content else None
