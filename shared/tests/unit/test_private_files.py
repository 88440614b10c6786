"""Secrets and personal data on disk and in errors: files are private, a refused start hides values."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from shared.db import create_engine, writer
from shared.settings import ServiceSettings

pytestmark = pytest.mark.unit


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "registry.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with writer(engine).begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        assert _mode(path) == 0o600
        assert _mode(path.with_name("registry.db-wal")) == 0o600
    finally:
        await engine.dispose()


def test_generated_secret_and_master_key_files_are_owner_only(tmp_path: Path) -> None:
    settings = ServiceSettings(data_dir=tmp_path)
    settings.effective_auth_secret()
    settings.load_master_key()
    assert _mode(tmp_path / "auth-secret") == 0o600
    assert _mode(tmp_path / "master.key") == 0o600


def test_a_refused_production_start_does_not_print_the_secret() -> None:
    secret = "short-but-very-secret-value"
    with pytest.raises(ValidationError) as caught:
        ServiceSettings(mode="production", auth_secret=secret, database_url="sqlite+aiosqlite:///x.db")
    message = str(caught.value)
    assert "QD_AUTH_SECRET must be set" in message
    assert secret[-10:] not in message
