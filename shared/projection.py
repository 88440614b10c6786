"""Read models as pure functions: an event in, row operations out.

A projection never touches the database itself; it says what should change (:class:`Upsert`,
:class:`Patch`, :class:`Increment`, :class:`Delete`). The same operations are applied to SQL by
the live consumer (in the consumer's transaction, with its checkpoint) and to plain dicts by a
rebuild, which then writes the whole model at once. One logic, two speeds, same answer.

A projection declares the payload classes it reads (``reads``); the event types its consumer
fetches and its rebuild replays are derived from them, never kept by hand next to its ``match``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Table, and_, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.catalogue import EventPayload
from shared.envelope import Envelope

Row = dict[str, Any]


@dataclass(frozen=True)
class Upsert:
    """Insert the row, or update these columns of the existing one."""

    table: Table
    key: Row
    values: Row


@dataclass(frozen=True)
class Patch:
    """Update these columns if the row exists; do nothing otherwise."""

    table: Table
    key: Row
    values: Row


@dataclass(frozen=True)
class Increment:
    """Add ``by`` to a column (NULL counts as 0), creating the row from ``defaults`` if missing."""

    table: Table
    key: Row
    column: str
    by: int = 1
    defaults: Row = field(default_factory=dict)


@dataclass(frozen=True)
class Delete:
    """Remove the row if present."""

    table: Table
    key: Row


Operation = Upsert | Patch | Increment | Delete
Changes = Callable[[Envelope, EventPayload], Sequence[Operation]]


@dataclass(frozen=True)
class Projection:
    """A read model: its tables, the payloads it reads from a source service, and its pure logic.

    ``reads`` are catalogue payload classes (``shared.catalogue``); ``changes`` is called with
    those only, so its ``match`` needs no fallback for events it never sees.
    """

    name: str
    source_service: str
    tables: tuple[Table, ...]
    reads: tuple[type[EventPayload], ...]
    changes: Changes

    def __post_init__(self) -> None:
        if not self.reads:
            raise ValueError(f"projection {self.name} reads no event")
        unregistered = [cls.__name__ for cls in self.reads if not hasattr(cls, "event_type")]
        if unregistered:
            raise ValueError(f"projection {self.name} reads payloads not in the catalogue: {unregistered}")

    @cached_property
    def event_types(self) -> frozenset[str]:
        """The event types of ``reads``: what the consumer fetches and a rebuild replays."""
        return frozenset(cls.event_type for cls in self.reads)


def _where(table: Table, key: Row) -> Any:
    return and_(*(table.c[k] == v for k, v in key.items()))


async def apply_sql(conn: AsyncConnection, operations: Iterable[Operation]) -> None:
    """Apply operations to the database in the caller's transaction."""
    dialect = conn.dialect.name
    for op in operations:
        if isinstance(op, Upsert):
            stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(op.table).values(**op.key, **op.values)
            if op.values:
                stmt = stmt.on_conflict_do_update(index_elements=list(op.key), set_=op.values)
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=list(op.key))
            await conn.execute(stmt)
        elif isinstance(op, Patch):
            await conn.execute(update(op.table).where(_where(op.table, op.key)).values(**op.values))
        elif isinstance(op, Increment):
            column = op.table.c[op.column]
            result = await conn.execute(
                update(op.table).where(_where(op.table, op.key)).values({column: func.coalesce(column, 0) + op.by})
            )
            if result.rowcount == 0:
                await conn.execute(insert(op.table).values(**op.defaults, **op.key, **{op.column: op.by}))
        else:
            await conn.execute(delete(op.table).where(_where(op.table, op.key)))


_CHUNK = 500  # keys per IN list: well under SQLite's and asyncpg's parameter limits


async def apply_folded(conn: AsyncConnection, operations: Sequence[Operation]) -> None:
    """Apply a batch's operations as :func:`apply_sql` would, with a few statements per table.

    The rows the batch touches are read once (by primary key, in chunks), the operations are
    folded onto them in memory in order (:class:`MemoryModel`, the rebuild's own logic), and the
    rows that changed are written back: one multi-row upsert per table (per column set) and one
    delete. A table with an operation keyed by anything but its primary key is left to
    :func:`apply_sql`, in order. Tables are independent read-model tables, so each can be
    folded on its own. The caller's transaction must be the only writer of these tables (a
    consumer holds its lease and its checkpoint row), since the rows are read, then written.
    """
    by_table: dict[str, list[Operation]] = {}
    tables: dict[str, Table] = {}
    for op in operations:
        by_table.setdefault(op.table.name, []).append(op)
        tables[op.table.name] = op.table
    for name, ops in by_table.items():
        table = tables[name]
        primary = [c.name for c in table.primary_key.columns]
        if not primary or any(set(op.key) != set(primary) for op in ops):
            await apply_sql(conn, ops)
            continue
        await _fold_table(conn, table, primary, ops)


async def _fold_table(conn: AsyncConnection, table: Table, primary: list[str], ops: list[Operation]) -> None:
    model = MemoryModel([table])
    rows = model.rows[table.name]
    keys = {MemoryModel._key(op.key): tuple(op.key[c] for c in primary) for op in ops}
    # A row only ever upserted in this batch needs no read: inserted with the batch's values, or
    # those columns updated (catching up, most rows are new and written so).
    blind: dict[tuple[Any, ...], Row] = {k: {} for k in keys}
    for op in ops:
        k = MemoryModel._key(op.key)
        if k in blind:
            if isinstance(op, Upsert):
                blind[k].update(op.values)
            else:
                del blind[k]
    wanted = [keys[k] for k in keys if k not in blind]
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        for record in await conn.execute(select(table).where(_among(table, primary, chunk))):
            found = dict(record._mapping)
            rows[MemoryModel._key({c: found[c] for c in primary})] = found
    before = {k: rows[k] for k in keys if k in rows}
    model.apply(op for op in ops if MemoryModel._key(op.key) not in blind)
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Row]] = {}
    for k, values in blind.items():
        row = {**model.defaults(table), **dict(zip(primary, keys[k], strict=True)), **values}
        shapes.setdefault((tuple(sorted(row)), tuple(sorted(values))), []).append(row)
    for k in keys:
        if k in rows and rows[k] is not before.get(k):
            row = rows[k]
            shapes.setdefault((tuple(sorted(row)), tuple(c for c in sorted(row) if c not in primary)), []).append(row)
    insert_of = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for (_columns, updates), same in shapes.items():
        stmt = insert_of(table)
        updated = {c: stmt.excluded[c] for c in updates}
        stmt = (stmt.on_conflict_do_update(index_elements=primary, set_=updated) if updated
                else stmt.on_conflict_do_nothing(index_elements=primary))
        for start in range(0, len(same), 1000):
            await conn.execute(stmt, same[start:start + 1000])
    gone = [keys[k] for k in before if k not in rows]
    for start in range(0, len(gone), _CHUNK):
        await conn.execute(delete(table).where(_among(table, primary, gone[start:start + _CHUNK])))


def _among(table: Table, primary: list[str], keys: list[tuple[Any, ...]]) -> Any:
    if len(primary) == 1:
        return table.c[primary[0]].in_([k[0] for k in keys])
    return tuple_(*(table.c[c] for c in primary)).in_(keys)


class MemoryModel:
    """The same operations applied to dicts, for rebuilding a read model quickly.

    A new row starts as SQL would insert it: scalar Python defaults, and None (NULL) for a
    column with no default at all, so that rows compare equal to those read from the tables.
    """

    def __init__(self, tables: Iterable[Table]) -> None:
        self.rows: dict[str, dict[tuple[Any, ...], Row]] = {}
        self._defaults: dict[str, Row] = {}
        for table in tables:
            self.rows[table.name] = {}
            self._defaults[table.name] = {
                c.name: c.default.arg if c.default is not None else None  # type: ignore[attr-defined]
                for c in table.columns
                if (c.default is not None and not callable(c.default.arg))  # type: ignore[attr-defined]
                or (c.default is None and c.server_default is None and not c.primary_key)
            }

    def defaults(self, table: Table) -> Row:
        """The values a new row of ``table`` starts with (before its key and values)."""
        return self._defaults[table.name]

    @staticmethod
    def _key(key: Row) -> tuple[Any, ...]:
        # Sorted so that {"a", "b"} and {"b", "a"} name one row; one-column keys need no sort.
        return tuple(key.items()) if len(key) == 1 else tuple(sorted(key.items()))

    def apply(self, operations: Iterable[Operation]) -> None:
        """Apply operations in memory, as :func:`apply_sql` would to the tables."""
        for op in operations:
            name = op.table.name
            rows = self.rows[name]
            k = self._key(op.key)
            if isinstance(op, Upsert):
                rows[k] = {**(rows.get(k) or self._defaults[name]), **op.key, **op.values}
            elif isinstance(op, Patch):
                if k in rows:
                    rows[k] = {**rows[k], **op.values}
            elif isinstance(op, Increment):
                row = rows.get(k) or {**self._defaults[name], **op.defaults, **op.key, op.column: 0}
                rows[k] = {**row, op.column: (row.get(op.column) or 0) + op.by}
            else:
                rows.pop(k, None)

    def table_rows(self, table: Table) -> list[Row]:
        """Every row of a table."""
        return list(self.rows[table.name].values())
