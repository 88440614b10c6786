"""A staged rebuild's writes: a chunk's row operations folded into the staging tables, counters once at the end.

The live consumer moves a tally's counters with every batch (``shared.projection.apply_folded``):
it reads the rows of every subject the batch names, counts them before and after, and moves the
counter rows by the difference. A staged rebuild need not: its staging tables are its own (no
reader sees them until the swap), so it writes the rows only, chunk by chunk, and counts each
subject once when the rows are complete (:func:`count_tallies`). The counters are the tally of
the rows either way (``Tally``'s invariant, which the live path keeps event by event), so the
model is the same; the rebuild skips, per chunk, the subjects' reads, the counting twice, the
counter rows' reads and writes, and retargeting every operation to the staging tables.

A chunk's operations are folded per table as ``apply_folded`` folds a batch: rows only upserted
are written blind, the others read once by key, the operations applied to them in memory in order
(:class:`shared.projection.MemoryModel`), and the rows that changed written back. The writes go
through the driver as the live path's writes do (``shared.projection.execute_rows``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.catalogue import EventPayload
from shared.envelope import Envelope
from shared.projection import (
    Changes,
    CounterKey,
    MemoryModel,
    Operation,
    Row,
    RowOperation,
    Tallied,
    Tally,
    Upsert,
    _in_key_order,
    _move_counters,
    _upsert,
    among_keys,
    apply_sql,
    execute_rows,
    retarget_row,
    untallied_changes,
)

_KEYS = 500  # keys per IN list: well under SQLite's and asyncpg's parameter limits
SUBJECTS = 2000  # subjects counted per page by count_tallies (their rows are held at once)


def untallied(operations: Iterable[Operation], tallies: dict[str, Tally], plain: set[str]) -> list[RowOperation]:
    """The row operations of ``operations``, a :class:`Tallied`'s unwrapped: its tally kept in ``tallies``
    by name, and the tables of the others in ``plain`` (if a tally's, its counters cannot be counted so)."""
    rows: list[RowOperation] = []
    for op in operations:
        if isinstance(op, Tallied):
            if op.tally.name not in tallies:
                tallies[op.tally.name] = op.tally
            rows += op.operations
        else:
            plain.add(op.table.name)
            rows.append(op)
    return rows


RowChanges = Callable[[Envelope, EventPayload], list[RowOperation]]


def row_changes(changes: Changes, tallies: dict[str, Tally], plain: set[str]) -> RowChanges:
    """``changes`` giving row operations, as :func:`untallied` of its answers would (keeping ``tallies``
    and ``plain`` up to date): for a :func:`shared.projection.tallied` one, its plain changes directly,
    without a :class:`Tallied` made per event and taken apart again."""
    made = untallied_changes(changes)
    if made is None:
        return lambda envelope, event: untallied(changes(envelope, event), tallies, plain)
    tally, inner = made

    def rows(envelope: Envelope, event: EventPayload) -> list[RowOperation]:
        operations = inner(envelope, event)
        if not operations:
            return []
        if getattr(event, tally.subject, None) is None or any(isinstance(op, Tallied) for op in operations):
            return untallied(changes(envelope, event), tallies, plain)  # unwrapped, or the wrapper's error
        if tally.name not in tallies:
            tallies[tally.name] = tally
        return operations  # type: ignore[return-value]  # no Tallied among them: row operations
    return rows


async def write_rows(conn: AsyncConnection, operations: Sequence[RowOperation], staging: Mapping[str, Table]) -> None:
    """Apply row operations on the projection's tables to their copies in ``staging`` (same names), folded
    per table, in the caller's transaction (which must be the staging tables' only writer).

    A table with an operation keyed by anything but its whole primary key gets its operations one
    by one, in order (:func:`shared.projection.apply_sql`).
    """
    by_table: dict[str, list[RowOperation]] = {}
    tables: dict[str, Table] = {}
    for op in operations:
        name = op.table.name
        ops = by_table.get(name)
        if ops is None:
            ops = by_table[name] = []
            tables[name] = op.table
        ops.append(op)
    for name, ops in by_table.items():
        table = tables[name]
        primary = [c.name for c in table.primary_key.columns]
        whole = set(primary)
        if not primary or any(op.key.keys() != whole for op in ops):
            await apply_sql(conn, [retarget_row(op, staging) for op in ops])
        else:
            await _fold_into(conn, table, staging[name], primary, ops)


async def _fold_into(conn: AsyncConnection, table: Table, target: Table, primary: list[str],
                     ops: list[RowOperation]) -> None:
    """Fold ``ops`` (on ``table``, each keyed by its whole primary key) and write the result to ``target``."""
    if len(primary) == 1:
        column = primary[0]
        op_keys: list[tuple[Any, ...]] = [(op.key[column],) for op in ops]
    else:
        op_keys = [tuple([op.key[c] for c in primary]) for op in ops]
    # A row only ever upserted in the chunk needs no read: inserted with the chunk's values, or
    # those columns updated. The others are read, and their operations applied in memory.
    blind: dict[tuple[Any, ...], Row] = {}
    read: dict[tuple[Any, ...], None] = {}
    for op, k in zip(ops, op_keys, strict=True):
        if k in read:
            continue
        if isinstance(op, Upsert):
            values = blind.get(k)
            if values is None:
                blind[k] = dict(op.values)
            else:
                values.update(op.values)
        else:
            blind.pop(k, None)
            read[k] = None
    model = MemoryModel([table])
    rows = model.rows[table.name]
    wanted = list(read)
    for start in range(0, len(wanted), _KEYS):
        found = await conn.execute(select(target).where(among_keys(target, primary, wanted[start:start + _KEYS])))
        model.load({table.name: [dict(r._mapping) for r in found]})
    memory_keys = {k: MemoryModel._key(dict(zip(primary, k, strict=True))) for k in read}
    before = {k: rows[m] for k, m in memory_keys.items() if m in rows}
    model.apply(op for op, k in zip(ops, op_keys, strict=True) if k in read)
    defaults = model.defaults(table)
    dialect = conn.dialect
    key_names = tuple(primary)
    shapes: dict[tuple[str, ...], list[tuple[tuple[Any, ...], Row]]] = {}
    for k, values in blind.items():
        row = defaults.copy()
        row.update(zip(primary, k, strict=True))
        row.update(values)
        shapes.setdefault(tuple(values), []).append((k, row))
    for named, keyed in shapes.items():  # a blind upsert sets only the chunk's columns on conflict
        await _write(conn, target, key_names, named, keyed, dialect)
    changed: dict[tuple[str, ...], list[tuple[tuple[Any, ...], Row]]] = {}
    for k, m in memory_keys.items():
        now = rows.get(m)
        if now is not None and now is not before.get(k):
            full = {**defaults, **now}
            changed.setdefault(tuple(c for c in full if c not in key_names), []).append((k, full))
    for named, keyed in changed.items():  # a row read and changed: every column it has
        await _write(conn, target, key_names, named, keyed, dialect)
    gone = [k for k, m in memory_keys.items() if k in before and m not in rows]
    for start in range(0, len(gone), _KEYS):
        await conn.execute(delete(target).where(among_keys(target, primary, gone[start:start + _KEYS])))


async def _write(conn: AsyncConnection, target: Table, primary: tuple[str, ...], updates: tuple[str, ...],
                 keyed: list[tuple[tuple[Any, ...], Row]], dialect: Dialect) -> None:
    """Upsert rows (all with the same columns) into ``target``, setting ``updates`` on conflict, in key order."""
    keyed = _in_key_order(keyed)  # each insert next to the one before in the key's index
    stmt = _upsert(dialect.name, target, primary, tuple(sorted(updates)))
    await execute_rows(conn, stmt, tuple(sorted(keyed[0][1])), [row for _k, row in keyed])


async def count_tallies(conn: AsyncConnection, tallies: Iterable[Tally], staging: Mapping[str, Table]) -> None:
    """Move each tally's counters in ``staging`` by the tally of every subject's rows there, in the
    caller's transaction: after :func:`write_rows`, which leaves the counters alone.

    Subjects are read a page at a time (at most :data:`SUBJECTS` per source table, in subject
    order, by the index every source has on it), so memory stays at one page's rows.
    """
    for tally in tallies:
        staged = tally.retarget(staging)
        delta: Counter[CounterKey] = Counter()
        low: Any = None
        while True:
            high = await _page_end(conn, staged, low)
            rows: dict[Any, dict[str, list[Row]]] = {}
            for table in staged.sources:
                column = table.c[staged.subject]
                query = select(table).where(column.is_not(None))
                if low is not None:
                    query = query.where(column > low)
                if high is not None:
                    query = query.where(column <= high)
                for record in await conn.execute(query):
                    row = dict(record._mapping)
                    subject_rows = rows.get(row[staged.subject])
                    if subject_rows is None:
                        subject_rows = rows[row[staged.subject]] = {t.name: [] for t in staged.sources}
                    subject_rows[table.name].append(row)
            for subject_rows in rows.values():
                delta.update(staged.count(subject_rows))
            if high is None:
                break
            low = high
        await _move_counters(conn, staged, delta)


async def _page_end(conn: AsyncConnection, tally: Tally, low: Any) -> Any:
    """The last subject of the next page after ``low``: the smallest over the sources of their
    :data:`SUBJECTS`-th subject after ``low`` (``None``: the rest fits in a page)."""
    ends = []
    for table in tally.sources:
        column = table.c[tally.subject]
        query = select(column).where(column.is_not(None)).distinct().order_by(column).offset(SUBJECTS - 1).limit(1)
        if low is not None:
            query = query.where(column > low)
        end = (await conn.execute(query)).scalar_one_or_none()
        if end is not None:
            ends.append(end)
    return min(ends) if ends else None
