"""The registry's app for route tests: the real app over a real database (no NATS), signed in as the
federation's admin, with a district, two townships, a village and three departments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.registry.bootstrap import build_app
from services.registry.settings import RegistrySettings
from shared.auth import Role
from shared.testing.http import app_client, bearer

DISTRICT, TOWNSHIP, OTHER_TOWNSHIP = "511403000000", "511403001000", "511403002000"
VILLAGE = "511403001001"
"""The org units every test module of this folder names (each repeats the codes it uses)."""


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path) -> RegistrySettings:
    """The app's settings (a test module overrides this fixture for other ones)."""
    return RegistrySettings(data_dir=tmp_path, database_url=database_url, auth_secret="s" * 40,
                            nats_url="nats://127.0.0.1:1")


@pytest.fixture
def registry_departments() -> tuple[tuple[str, str], ...]:
    """The departments the app starts with, code and name (a test module may override this fixture)."""
    return (("federation", "区残联"), ("health", "区卫健局"), ("hrss", "区人社局"))


@pytest.fixture
async def app(registry_settings: RegistrySettings, registry_departments: tuple[tuple[str, str], ...]
              ) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app and a client whose requests carry the federation admin's token."""
    application = build_app(registry_settings)
    async with app_client(application) as client:
        client.headers.update(bearer(application, "admin", Role.FEDERATION_ADMIN))
        for unit in ({"code": DISTRICT, "name": "彭山区", "level": "district"},
                     {"code": TOWNSHIP, "name": "凤鸣街道", "level": "township", "parent_code": DISTRICT},
                     {"code": OTHER_TOWNSHIP, "name": "青龙街道", "level": "township", "parent_code": DISTRICT},
                     {"code": VILLAGE, "name": "一村", "level": "village", "parent_code": TOWNSHIP}):
            assert (await client.post("/org-units", json=unit)).status_code == 201
        for code, name in registry_departments:
            assert (await client.post("/departments", json={"code": code, "name": name})).status_code == 201
        yield application, client
