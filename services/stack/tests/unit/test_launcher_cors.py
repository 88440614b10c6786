"""The embedded launcher lets browsers call its services from its own pages only."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.stack.launcher import EmbeddedStack

pytestmark = pytest.mark.unit


def test_every_instance_allows_exactly_the_stack_s_own_origins(tmp_path: Path) -> None:
    stack = EmbeddedStack(tmp_path, nats_port=4250, base_port=8100)
    ports = {instance.port for instance in stack.instances}
    expected = {f"http://{host}:{port}" for port in ports for host in ("127.0.0.1", "localhost")}
    assert 8104 in ports  # the dashboards (reporting)
    for instance in stack.instances:
        origins = set(stack.env(instance)["QD_CORS_ORIGINS"].split(","))
        assert origins == expected, instance.key
