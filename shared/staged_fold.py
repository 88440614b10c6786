"""A staged rebuild's writes: a chunk's row operations folded into the staging tables, counters once at the end.

The live consumer moves a tally's counters with every batch (``shared.projection.apply_folded``):
it reads the rows of every subject the batch names, counts them before and after, and moves the
counter rows by the difference. A staged rebuild need not: its staging tables are its own (no
reader sees them until the swap), so it writes the rows only, chunk by chunk, and counts each
subject once when the rows are complete (:func:`count_tallies`). The counters are the tally of
the rows either way (``Tally``'s invariant, which the live path keeps event by event), so the
model is the same; the rebuild skips, per chunk, the subjects' reads, the counting twice, the
counter rows' reads and writes, and retargeting every operation to the staging tables.

A chunk's operations are folded per table exactly as ``apply_folded`` folds a batch
(``shared.projection.fold_table``), read from and written to the staging copy of each table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.catalogue import EventPayload
from shared.envelope import Envelope
from shared.projection import (
    Changes,
    CounterKey,
    Operation,
    Row,
    RowOperation,
    Tallied,
    Tally,
    _move_counters,
    apply_sql,
    fold_table,
    retarget_row,
    untallied_changes,
)

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
            await fold_table(conn, table, primary, ops, staging[name])


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
