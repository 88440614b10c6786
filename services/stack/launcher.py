"""Start and stop the embedded stack: a private nats-server and every service, data under one folder."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from shared.testing.processes import ServiceProcess
from shared.testing.servers import NatsServerProcess

HOSTED_DEPARTMENTS = ("civil_affairs", "hrss", "education", "housing")


@dataclass(frozen=True)
class Instance:
    """One service process of the stack."""

    key: str
    service: str
    port: int
    env: dict[str, str] = field(default_factory=dict)


def available(service: str) -> bool:
    """Whether this checkout has the service yet (services land one issue at a time)."""
    return importlib.util.find_spec(f"services.{service}.__main__") is not None


def plan_instances(base_port: int) -> list[Instance]:
    """The processes of the embedded default, in start order."""
    instances = [Instance("registry", "registry", base_port + 1)]
    if available("checklists"):
        # The health department runs its own instance; the others are hosted by the federation's.
        instances.append(Instance("checklists", "checklists", base_port + 2, {
            "QD_DEPARTMENT": "federation", "QD_HOSTED_DEPARTMENTS": ",".join(HOSTED_DEPARTMENTS)}))
        instances.append(Instance("checklists-health", "checklists", base_port + 12, {"QD_DEPARTMENT": "health"}))
    if available("inspections"):
        instances.append(Instance("inspections", "inspections", base_port + 3))
    instances.append(Instance("reporting", "reporting", base_port + 4))
    return instances


class EmbeddedStack:
    """Everything under ``data_dir``: NATS storage, one SQLite file per instance, keys, logs."""

    def __init__(self, data_dir: Path, *, nats_port: int, base_port: int) -> None:
        self.data_dir = data_dir.resolve()
        self.nats = NatsServerProcess(self.data_dir / "nats", port=nats_port, monitor_port=nats_port + 4000,
                                      server_name="qingdan-embedded", log_path=self.data_dir / "logs" / "nats.log")
        self.instances = plan_instances(base_port)
        self.processes: dict[str, ServiceProcess] = {}

    def env(self, instance: Instance) -> dict[str, str]:
        """The environment of one instance: shared secrets in the data folder, its own database."""
        return {
            "QD_MODE": "development",
            "QD_DATA_DIR": str(self.data_dir),
            "QD_DATABASE_URL": f"sqlite+aiosqlite:///{self.data_dir / instance.key}.db",
            "QD_NATS_URL": self.nats.url,
            "QD_NAMESPACE": os.environ.get("QD_NAMESPACE", "qd"),
            "QD_LOG_JSON": "true",
            # Browsers may call a service only from the stack's own pages (the dashboards on
            # reporting, each service's /docs), not from any local origin.
            "QD_CORS_ORIGINS": ",".join(self.origins()),
            **instance.env,
        }

    def origins(self) -> list[str]:
        """The origins the stack serves pages from: every instance, by address and by name."""
        return [f"http://{host}:{i.port}" for i in self.instances for host in ("127.0.0.1", "localhost")]

    def initialise_registry(self) -> bool:
        """On a new data folder, create the federation and its first admin; False if done before."""
        registry = next(i for i in self.instances if i.key == "registry")
        marker = self.data_dir / ".initialised"
        if marker.exists():
            return False
        result = subprocess.run(
            [sys.executable, "-m", "services.registry", "init",
             "--admin-id", "admin", "--admin-name", "区残联管理员(演示)"],
            env={**os.environ, **self.env(registry)}, capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initialising the registry failed:\n{result.stdout}{result.stderr}")
        marker.write_text("initialised\n")
        return True

    def start(self) -> None:
        """Start NATS, then each service, waiting for each to answer."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.nats.start()
        for instance in self.instances:
            process = ServiceProcess(instance.service, port=instance.port, env=self.env(instance),
                                     log_path=self.data_dir / "logs" / f"{instance.key}.log")
            self.processes[instance.key] = process
            process.start(timeout=60)

    def stop(self) -> None:
        """Stop the services in reverse order, then NATS."""
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.nats.stop()

    def url(self, key: str) -> str:
        """An instance's base URL."""
        return self.processes[key].url
