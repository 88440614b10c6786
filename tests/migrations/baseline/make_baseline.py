"""How the frozen baseline in this folder was made — run once, at main 3dcf5fd, never again.

The ``*.sqlite.sql`` / ``*.postgresql.sql`` files are exactly the statements ``create_all``
issued for each service's database before migrations existed (captured with a mock engine);
``registry-data.json`` is every row of a registry database filled by the real use cases of that
commit (persons with their wrapped data keys, events and their outbox rows, consumer checkpoints and
dead letters), with ``MASTER_KEY`` (a test key, used nowhere else). Re-running this after a
schema change would overwrite the baseline with the new schema and defeat the upgrade test.

    .venv/bin/python tests/migrations/baseline/make_baseline.py
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_mock_engine, insert, select

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from bench.workload import establish_organisation  # noqa: E402
from services.checklists.adapters.tables import metadata as checklists_metadata  # noqa: E402
from services.inspections.adapters.tables import metadata as inspections_metadata  # noqa: E402
from services.registry.adapters.tables import metadata as registry_metadata  # noqa: E402
from services.registry.application import commands as c  # noqa: E402
from services.registry.application import persons  # noqa: E402
from services.registry.bootstrap import SYSTEM, build_deps  # noqa: E402
from services.registry.settings import RegistrySettings  # noqa: E402
from services.reporting.read_models import SCHEMA as reporting_schema  # noqa: E402
from shared.eventstore.tables import dead_letters, tracking  # noqa: E402
from shared.eventstore.tables import metadata as eventstore_metadata  # noqa: E402
from shared.runtime import ServiceRuntime  # noqa: E402

HERE = Path(__file__).resolve().parent
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
SCHEMAS: dict[str, tuple[MetaData, ...]] = {
    "registry": (registry_metadata,), "checklists": (checklists_metadata,),
    "inspections": (inspections_metadata,), "reporting": reporting_schema,
}


def ddl(schema: tuple[MetaData, ...], dialect: str) -> str:
    """The statements create_all issues for the event store's tables and ``schema``."""
    statements: list[str] = []
    engine = create_mock_engine(f"{dialect}://", lambda sql, *_a, **_k: statements.append(
        str(sql.compile(dialect=engine.dialect)).strip()))
    for metadata in (eventstore_metadata, *schema):
        metadata.create_all(engine, checkfirst=False)
    return "".join(f"{s};\n\n" for s in statements)


def encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, dt.datetime | dt.date):
        return {"datetime" if isinstance(value, dt.datetime) else "date": value.isoformat()}
    return value


async def registry_rows(folder: Path) -> dict[str, list[dict[str, Any]]]:
    settings = RegistrySettings(database_url=f"sqlite+aiosqlite:///{folder / 'registry.db'}", data_dir=folder,
                                master_key=MASTER_KEY, log_level="WARNING")
    runtime = ServiceRuntime.build(settings, schema=(registry_metadata,), publishes=False)
    deps = build_deps(settings, runtime)
    await runtime.start()
    try:
        villages = await establish_organisation(runtime.executor, deps)
        for number, name in (("51140319800101001541", "演示人甲"), ("51140319750505002412", "演示人乙")):
            await runtime.executor.run_buffered(lambda uow, n=number, who=name: persons.register_person(
                uow, deps, SYSTEM, c.RegisterPerson(certificate_number=n, name=who, address="演示村1组",
                                                     village_code=villages[0])))
        now = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
        async with runtime.engine.begin() as conn:
            await conn.execute(insert(tracking), [
                {"consumer": "reporting-coverage", "source": "QD_REGISTRY", "position": 42},
                {"consumer": "inspections-persons", "source": "QD_REGISTRY", "position": 7}])
            await conn.execute(insert(dead_letters), [{
                "consumer": "reporting-coverage", "source": "QD_REGISTRY", "sequence": 13,
                "subject": "qd.registry.federation.person.registered", "event_id": None, "event_type": None,
                "reason": "undecodable: not JSON", "body": "{not json", "failed_at": now}])
        rows: dict[str, list[dict[str, Any]]] = {}
        async with runtime.engine.connect() as conn:
            for metadata in (eventstore_metadata, registry_metadata):
                for name, table in metadata.tables.items():
                    result = await conn.execute(select(table).order_by(*table.primary_key.columns))
                    rows[name] = [{k: encode(v) for k, v in r._mapping.items()} for r in result]
        return rows
    finally:
        await runtime.stop()


def main() -> None:
    for service, schema in SCHEMAS.items():
        for dialect in ("sqlite", "postgresql"):
            (HERE / f"{service}.{dialect}.sql").write_text(
                f"-- create_all of the {service} database at main 3dcf5fd ({dialect}); frozen, see make_baseline.py\n"
                + ddl(schema, dialect))
    with tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(registry_rows(Path(folder)))
    (HERE / "registry-data.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
