"""Helpers of the migration tests: each service's schema, and a database made as main made them
before migrations existed (the frozen ``baseline/`` files), filled with frozen rows."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.checklists.adapters.tables import metadata as checklists_metadata
from services.inspections.adapters.tables import metadata as inspections_metadata
from services.registry.adapters.tables import metadata as registry_metadata
from services.reporting.read_models import SCHEMA as reporting_schema
from shared.db import is_sqlite

BASELINE = Path(__file__).parent / "baseline"
SCHEMAS: dict[str, tuple[MetaData, ...]] = {
    "registry": (registry_metadata,),
    "checklists": (checklists_metadata,),
    "inspections": (inspections_metadata,),
    "reporting": reporting_schema,
}
EVENTSTORE_TABLES = ("events", "outbox", "tracking", "dead_letters")
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()  # the test key the frozen rows were sealed with


def frozen_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of the frozen registry database, decoded (bytes, datetimes, dates)."""
    raw = json.loads((BASELINE / "registry-data.json").read_text())
    return {table: [{k: _decode(v) for k, v in row.items()} for row in rows] for table, rows in raw.items()}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "bytes" in value:
            return base64.b64decode(value["bytes"])
        if "datetime" in value:
            return dt.datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return dt.date.fromisoformat(value["date"])
    return value


def comparable(value: Any) -> Any:
    """Datetimes as naive UTC: SQLite keeps no offset, PostgreSQL returns one."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


async def reflect(conn: AsyncConnection) -> MetaData:
    """The tables as they are in the database (not as the models say)."""
    metadata = MetaData()
    await conn.run_sync(metadata.reflect)
    return metadata


async def load_baseline(engine: AsyncEngine, service: str, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Create ``service``'s tables with the frozen ``create_all`` statements of main 3dcf5fd, then
    insert ``tables``' rows into the tables as they are there (reflected)."""
    dialect = "sqlite" if is_sqlite(str(engine.url)) else "postgresql"
    script = (BASELINE / f"{service}.{dialect}.sql").read_text()
    statements = [s for s in script.split(";\n") if s.strip()]
    async with engine.begin() as conn:
        for statement in statements:
            sql = "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()
            if sql:
                await conn.exec_driver_sql(sql)
        legacy = await reflect(conn)
        for name, rows in tables.items():
            if rows:
                await conn.execute(insert(legacy.tables[name]), rows)
        if dialect == "postgresql":  # rows came with their positions: move the sequences past them, as a restore does
            for table, column in (("events", "position"), ("dead_letters", "id")):
                await conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                    f"(SELECT coalesce(max({column}), 1) FROM {table}))"))


async def rows_of(conn: AsyncConnection, table: Table) -> list[dict[str, Any]]:
    """Every row of ``table``, in primary-key order, datetimes comparable."""
    result = await conn.execute(table.select().order_by(*table.primary_key.columns))
    return [{k: comparable(v) for k, v in row._mapping.items()} for row in result]

