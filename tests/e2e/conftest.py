"""Fixtures for end-to-end tests: the real services as processes over a real NATS."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.testing.servers import NatsCluster, NatsServerProcess, PostgresAdmin, PostgresDatabase
from shared.testing.stack import Stack

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def stack_factory(
    request: pytest.FixtureRequest, tmp_path: Path, db_backend: str, run_id: str
) -> Iterator[object]:
    """Make a :class:`Stack` on a given NATS server; every service gets a database of its own."""
    databases: list[PostgresDatabase] = []
    stacks: list[Stack] = []

    def database_url(key: str) -> str:
        if db_backend == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / key}.db"
        admin: PostgresAdmin = request.getfixturevalue("pg_admin")
        database = PostgresDatabase(admin.url, run_id=run_id)
        databases.append(database)
        return database.create(f"{request.node.name}_{key}")

    def make(nats: NatsServerProcess | NatsCluster) -> Stack:
        stack = Stack(tmp_path / "stack", nats, namespace=f"t{run_id}{uuid.uuid4().hex[:6]}", database_url=database_url)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
    for database in databases:
        database.drop()


def _apt_install(*packages: str) -> bool:
    command = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(command, capture_output=True, env=env).returncode == 0:
        return True
    subprocess.run(["apt-get", "update"], capture_output=True, env=env)
    return subprocess.run(command, capture_output=True, env=env).returncode == 0


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium: found, or installed with apt-get when running as root; otherwise a clear failure."""
    def find() -> str | None:
        return shutil.which("chromium") or next(
            (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
    path = find()
    if path is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        _apt_install("chromium")
        path = find()
    if path is None:
        pytest.fail("no Chromium for the browser tests: install Debian's package (`apt-get install -y chromium`) "
                    "or run the tests as root so that they install it; `npx playwright install` does not work here")
    if shutil.which("fc-list") and not subprocess.run(["fc-list", ":lang=zh"], capture_output=True).stdout:
        _apt_install("fonts-wqy-microhei")  # screenshots legible in Chinese; the pages work without it
    return path


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Any]:
    """A Playwright-driven headless Chromium (the ``playwright`` package of the ``test`` extra)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("the browser tests need the `playwright` package: pip install -e '.[test]'")
    async with async_playwright() as p:
        instance = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield instance
        await instance.close()
