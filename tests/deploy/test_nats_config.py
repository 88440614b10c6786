"""deploy/nats/qingdan.conf is a real nats-server configuration: the wheel's nats-server (the one
the tests and the embedded default run) accepts it and starts a JetStream cluster node from it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

from shared.testing.servers import free_port, nats_server_executable, wait_until

pytestmark = pytest.mark.integration
CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "qingdan.conf"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
AUTH_VARIABLES = sorted(set(re.findall(r"\$(QD_NATS_[A-Z_]+)", (CONFIG.parent / "nats-auth.conf").read_text())))


def _node_env(tmp_path: Path) -> dict[str, str]:
    cluster_ports = [free_port(), free_port(), free_port()]
    return {
        "NATS_SERVER_NAME": "qd-config-test",
        "NATS_HOST": "127.0.0.1",
        "NATS_PORT": str(free_port()),
        "NATS_MONITOR_PORT": str(free_port()),
        "NATS_CLUSTER_PORT": str(cluster_ports[0]),
        "NATS_STORE_DIR": str(tmp_path / "store"),
        "NATS_ROUTES": "[" + ", ".join(f"nats://127.0.0.1:{port}" for port in cluster_ports) + "]",
        # The passwords deploy/nats/nats-auth.conf (included) takes from the environment.
        **{name: "test-password" for name in AUTH_VARIABLES},
    }


def _get(port: str, path: str) -> dict[str, object] | None:
    try:
        with _NO_PROXY.open(f"http://127.0.0.1:{port}{path}", timeout=1) as response:
            result: dict[str, object] = json.load(response)
            return result
    except OSError:
        return None


def test_nats_server_validates_the_file() -> None:
    env = {**os.environ, **_node_env(Path("/nonexistent"))}
    done = subprocess.run([str(nats_server_executable()), "-t", "-c", str(CONFIG)], env=env,
                          capture_output=True, text=True, timeout=30)

    assert done.returncode == 0, done.stderr
    assert "is valid" in done.stdout + done.stderr


async def test_a_node_starts_from_the_file_with_jetstream_and_the_cluster_routes(tmp_path: Path) -> None:
    env = _node_env(tmp_path)
    with (tmp_path / "nats.log").open("wb") as log:
        server = await asyncio.create_subprocess_exec(
            str(nats_server_executable()), "-c", str(CONFIG), env={**os.environ, **env}, stdout=log,
            stderr=subprocess.STDOUT)
    try:
        # One node of three cannot elect a meta leader: wait for JetStream itself, not for the cluster.
        await wait_until(lambda: _get(env["NATS_MONITOR_PORT"], "/healthz?js-enabled-only=true") is not None,
                         timeout=20, message="the node's JetStream to answer /healthz")
        varz = _get(env["NATS_MONITOR_PORT"], "/varz")
        assert varz is not None
        cluster = varz["cluster"]
        jetstream = varz["jetstream"]
        assert isinstance(cluster, dict) and isinstance(jetstream, dict)
        assert varz["server_name"] == "qd-config-test" and varz["port"] == int(env["NATS_PORT"])
        assert cluster["name"] == "qingdan" and cluster["cluster_port"] == int(env["NATS_CLUSTER_PORT"])
        assert len(cluster["urls"]) == 3
        assert jetstream["config"]["store_dir"].startswith(env["NATS_STORE_DIR"])
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=10)
