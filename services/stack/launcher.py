"""Start and stop the embedded stack: a private nats-server and every service, data under one folder."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from shared.messaging.connection import nats_servers
from shared.messaging.credentials import instance_user
from shared.messaging.streams import declare_stack_streams
from shared.natsserver import NatsServerProcess
from shared.processes import ServiceProcess, port_in_use

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

    def __init__(self, data_dir: Path, *, nats_port: int, base_port: int, nats_url: str | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.nats = NatsServerProcess(self.data_dir / "nats", port=nats_port, monitor_port=nats_port + 4000,
                                      server_name="qingdan-embedded", log_path=self.data_dir / "logs" / "nats.log")
        # An existing NATS (one server or a cluster, comma-separated) instead of the private one.
        external = nats_url if nats_url is not None else os.environ.get("QD_STACK_NATS_URL", "")
        self.external_nats = ",".join(nats_servers(external)) if external.strip() else None
        self.instances = plan_instances(base_port)
        self.processes: dict[str, ServiceProcess] = {}

    @property
    def namespace(self) -> str:
        """Subjects' and streams' prefix."""
        return os.environ.get("QD_NAMESPACE", "qd")

    def env(self, instance: Instance) -> dict[str, str]:
        """The environment of one instance: shared secrets in the data folder, its own database,
        its own NATS identity (generated into ``<data>/nats-auth``, 0600, with the server's config)."""
        identity: dict[str, str] = {}
        if self.external_nats is None:  # an external server's users are its operator's business
            user = instance_user(self.nats.auth, self.namespace, instance.service, instance.env)
            identity = {"QD_NATS_USER": user.name, "QD_NATS_PASSWORD": user.password}
        return {
            "QD_MODE": "development",
            "QD_DATA_DIR": str(self.data_dir),
            "QD_DATABASE_URL": f"sqlite+aiosqlite:///{self.data_dir / instance.key}.db",
            "QD_NATS_URL": self.nats_url,
            **identity,
            "QD_NAMESPACE": self.namespace,
            "QD_LOG_JSON": "true",
            # Browsers may call a service only from the stack's own pages (the dashboards on
            # reporting, each service's /docs), not from any local origin.
            "QD_CORS_ORIGINS": ",".join(self.origins()),
            **instance.env,
        }

    @property
    def nats_url(self) -> str:
        """What the services connect to (no password in it): the external server(s) if given, else
        the private server."""
        return self.external_nats or self.nats.plain_url

    @property
    def operator_url(self) -> str:
        """The URL of the operator step (creating the streams): the private server's operator user, or
        the external URL as given (with whatever credentials it carries)."""
        return self.external_nats or self.nats.url

    def ports(self) -> dict[int, str]:
        """Every port the stack opens, and what listens there."""
        ports = {self.nats.port: "NATS", self.nats.monitor_port: "NATS monitor"}
        ports.update({i.port: i.key for i in self.instances})
        return ports

    def busy_ports(self) -> dict[int, str]:
        """The stack's ports that something else already listens on (checked before starting anything)."""
        return {port: what for port, what in self.ports().items() if port_in_use(port)}

    def origins(self) -> list[str]:
        """The origins the stack serves pages from: every instance, by address and by name."""
        return [f"http://{host}:{i.port}" for i in self.instances for host in ("127.0.0.1", "localhost")]

    def initialise_registry(self) -> bool:
        """On a new data folder, create the federation and its first admin; False if done before."""
        registry = next(i for i in self.instances if i.key == "registry")
        marker = self.data_dir / ".initialised"
        if marker.exists():
            return False
        # Its own session, and waited for even when Ctrl-C interrupts us: cut in half (the department
        # without its admin) the folder could not be initialised again.
        process = subprocess.Popen(
            [sys.executable, "-m", "services.registry", "init",
             "--admin-id", "admin", "--admin-name", "区残联管理员(演示)"],
            env={**os.environ, **self.env(registry)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        output = ""
        try:
            output, _ = process.communicate()
        finally:
            if process.returncode is None:
                output, _ = process.communicate()
            if process.returncode == 0:
                marker.write_text("initialised\n")
        if process.returncode != 0:
            raise RuntimeError(f"initialising the registry failed:\n{output}")
        return True

    def migrate(self) -> None:
        """Run every instance's ``migrate`` (all at once: each has its own database), as production does."""
        running = [(instance, subprocess.Popen(
            [sys.executable, "-m", f"services.{instance.service}", "migrate"], env={**os.environ, **self.env(instance)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)) for instance in self.instances]
        failed = []
        for instance, process in running:
            output, _ = process.communicate()
            if process.returncode != 0:
                failed.append(f"{instance.key}:\n{output}")
        if failed:
            raise RuntimeError("migrating the databases failed:\n" + "\n".join(failed))

    def start(self) -> None:
        """Migrate every database, start NATS, then each service, waiting for each to answer."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.migrate()
        if self.external_nats is None:
            for instance in self.instances:  # every identity is in the server's config from the start
                self.env(instance)
            self.nats.start()
        # The operator step: streams with deny-delete and deny-purge (services may not make them).
        asyncio.run(declare_stack_streams(self.operator_url, self.namespace, [i.service for i in self.instances]))
        for instance in self.instances:
            process = ServiceProcess(instance.service, port=instance.port, env=self.env(instance),
                                     log_path=self.data_dir / "logs" / f"{instance.key}.log")
            self.processes[instance.key] = process
            process.start(timeout=60)

    def stop(self) -> None:
        """Stop the services, then NATS. Every service is asked first and then waited for, so that
        their shutdowns overlap (one after the other took up to 15 s each on a loaded machine);
        NATS stays up until they are gone, as they flush and unsubscribe while stopping."""
        for process in self.processes.values():
            process.ask_to_stop()
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.nats.stop()  # a no-op when it was not started (external NATS)

    def url(self, key: str) -> str:
        """An instance's base URL."""
        return self.processes[key].url
