"""Read models as pure functions: an event in, row operations out.

A projection never touches the database itself; it says what should change (:class:`Upsert`,
:class:`Patch`, :class:`Increment`, :class:`Delete`). The same operations are applied to SQL by
the live consumer (in the consumer's transaction, with its checkpoint) and to plain dicts by a
rebuild, which then writes the whole model at once. One logic, two speeds, same answer.

Counters over a read model's rows (how many persons of a village were visited this year) are a
:class:`Tally`: a pure function from one subject's rows (a person's) to the counters they add to.
A projection wraps the operations about a subject in :class:`Tallied`; either applier reads the
subject's rows before and after them and moves the counters by the difference, so the counters
always equal the tally of the rows, live or rebuilt, without a query counting the rows.

A projection declares the payload classes it reads (``reads``); the event types its consumer
fetches and its rebuild replays are derived from them, never kept by hand next to its ``match``.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, func, insert, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.catalogue import EventPayload
from shared.driver_sql import CHUNK as CHUNK  # re-exported (with the next three): callers import them here
from shared.driver_sql import among_keys as among_keys
from shared.driver_sql import execute_rows as execute_rows
from shared.driver_sql import read_rows as read_rows
from shared.envelope import Envelope

Row = dict[str, Any]


# The row operations are frozen dataclasses with an ``__init__`` of their own: the generated one
# sets each field through ``object.__setattr__`` (what ``frozen`` costs), about twice the time of
# filling ``__dict__``, and a catch-up builds several operations per event (3 % of reporting's CPU).


@dataclass(frozen=True, init=False)
class Upsert:
    """Insert the row, or update these columns of the existing one."""

    table: Table
    key: Row
    values: Row

    def __init__(self, table: Table, key: Row, values: Row) -> None:
        fields = self.__dict__
        fields["table"], fields["key"], fields["values"] = table, key, values


@dataclass(frozen=True, init=False)
class Patch:
    """Update these columns if the row exists; do nothing otherwise."""

    table: Table
    key: Row
    values: Row

    def __init__(self, table: Table, key: Row, values: Row) -> None:
        fields = self.__dict__
        fields["table"], fields["key"], fields["values"] = table, key, values


@dataclass(frozen=True, init=False)
class Increment:
    """Add ``by`` to a column (NULL counts as 0), creating the row from ``defaults`` if missing."""

    table: Table
    key: Row
    column: str
    by: int = 1
    defaults: Row = field(default_factory=dict)

    def __init__(self, table: Table, key: Row, column: str, by: int = 1, defaults: Row | None = None) -> None:
        fields = self.__dict__
        fields["table"], fields["key"], fields["column"], fields["by"] = table, key, column, by
        fields["defaults"] = {} if defaults is None else defaults


@dataclass(frozen=True, init=False)
class Delete:
    """Remove the row if present."""

    table: Table
    key: Row

    def __init__(self, table: Table, key: Row) -> None:
        fields = self.__dict__
        fields["table"], fields["key"] = table, key


RowOperation = Upsert | Patch | Increment | Delete
CounterKey = tuple[Table, tuple[tuple[str, Any], ...], str]
"""One counter: its table, its row's key (column, value) pairs in key order, and its column."""


@dataclass(frozen=True)
class Tally:
    """Counters kept over the rows of a subject (a person) in ``sources``, which all have its ``subject`` column.

    ``count`` is pure: given the subject's rows by table name, the counters they add one to (a
    counter named twice counts two). ``counters`` are the tables it names; their non-key columns
    are integers defaulting to 0. A counter row whose counts all fall to 0 is deleted, so the
    table holds what a ``GROUP BY`` over the rows would (a migration can fill it that way).
    """

    name: str
    subject: str
    sources: tuple[Table, ...]
    counters: tuple[Table, ...]
    count: Callable[[Mapping[str, Sequence[Row]]], Iterable[CounterKey]]

    def counts(self, rows: Mapping[str, Sequence[Row]]) -> Counter[CounterKey]:
        """The subject's counters."""
        return Counter(self.count(rows))

    def retarget(self, tables: Mapping[str, Table]) -> Tally:
        """This tally over the tables of ``tables`` named like its own (a staged rebuild's copies):
        ``count`` still sees the rows under the original names and names the copies' counters."""
        original = self.count

        def count(rows: Mapping[str, Sequence[Row]]) -> Iterable[CounterKey]:
            renamed = {t.name: rows[tables[t.name].name] for t in self.sources}
            for table, key, column in original(renamed):
                yield tables[table.name], key, column

        return Tally(self.name, self.subject, tuple(tables[t.name] for t in self.sources),
                     tuple(tables[t.name] for t in self.counters), count)

    def moves(self, before: Mapping[str, Sequence[Row]], after: Mapping[str, Sequence[Row]]) -> list[Increment]:
        """The increments that take the counters from the rows ``before`` to the rows ``after``."""
        delta = self.counts(after)
        delta.subtract(self.counts(before))
        return [Increment(table, dict(key), column, by=by)
                for (table, key, column), by in sorted(delta.items(), key=lambda kv: repr(kv[0][1:]))
                if by]


@dataclass(frozen=True)
class Tallied:
    """Apply ``operations`` (all about ``subject``) and move ``tally``'s counters by what they changed."""

    tally: Tally
    subject: Any
    operations: tuple[RowOperation, ...]


Operation = Upsert | Patch | Increment | Delete | Tallied
Changes = Callable[[Envelope, EventPayload], Sequence[Operation]]


def tallied(tally: Tally, changes: Changes) -> Changes:
    """``changes`` with the operations of each event about a subject wrapped in one :class:`Tallied`.

    The subject is the event's field named like the tally's subject column (``person_id``);
    events without it (an org unit established) pass through unwrapped.
    """

    def wrapped(envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
        operations = changes(envelope, event)
        subject = getattr(event, tally.subject, None)
        if not operations or subject is None:
            return operations
        plain = tuple(op for op in operations if not isinstance(op, Tallied))
        if len(plain) != len(operations):
            raise ValueError(f"tally {tally.name}: the operations are already tallied")
        return [Tallied(tally, subject, plain)]
    _TALLIED[wrapped] = (tally, changes)
    return wrapped


_TALLIED: dict[Changes, tuple[Tally, Changes]] = {}
"""What each :func:`tallied` wraps: its tally and the plain ``changes`` (a staged rebuild reads the rows only)."""


def untallied_changes(changes: Changes) -> tuple[Tally, Changes] | None:
    """The tally and the plain changes that :func:`tallied` made ``changes`` of (``None``: not made so)."""
    return _TALLIED.get(changes)


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
        if isinstance(op, Tallied):
            await _apply_tallied_sql(conn, op)
        elif isinstance(op, Upsert):
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


async def _apply_tallied_sql(conn: AsyncConnection, op: Tallied) -> None:
    tally = op.tally
    before: dict[str, list[Row]] = {}
    for table in tally.sources:
        found = await conn.execute(select(table).where(table.c[tally.subject] == op.subject))
        before[table.name] = [dict(r._mapping) for r in found]
    # The rows after: the same operations on a scratch copy of the subject's rows (the memory
    # applier, which agrees with SQL), so that no second read is needed.
    scratch = MemoryModel(tally.sources)
    scratch.load(before)
    scratch.apply(op.operations)
    await apply_sql(conn, op.operations)
    moves = tally.moves(before, scratch.subject_rows(tally, op.subject))
    await apply_sql(conn, moves)
    for table, key in _emptied_candidates(moves):
        counts = [table.c[c.name] == 0 for c in table.columns if not c.primary_key]
        await conn.execute(delete(table).where(_where(table, key), *counts))


def _emptied_candidates(moves: Sequence[Increment]) -> list[tuple[Table, Row]]:
    """Counter rows that went down: they may now count nothing and are then removed."""
    seen: dict[tuple[str, tuple[Any, ...]], tuple[Table, Row]] = {}
    for move in moves:
        if move.by < 0:
            seen.setdefault((move.table.name, tuple(move.key.items())), (move.table, move.key))
    return list(seen.values())


async def apply_folded(conn: AsyncConnection, operations: Sequence[Operation]) -> None:
    """Apply a batch's operations as :func:`apply_sql` would, with a few statements per table.

    The rows the batch touches are read once (by primary key, in chunks), the operations are
    folded onto them in memory in order (:class:`MemoryModel`, the rebuild's own logic), and the
    rows that changed are written back: one multi-row upsert per table (per column set) and one
    delete. A table with an operation keyed by anything but its primary key is left to
    :func:`apply_sql`, in order. Tables are independent read-model tables, so each can be
    folded on its own. The caller's transaction must be the only writer of these tables (a
    consumer holds its lease and its checkpoint row), since the rows are read, then written.

    Counters (:class:`Tallied`) fold too: the rows of every subject the batch names are read
    once, the operations applied to them in memory in order, and each counter moves by the sum
    over those subjects of (tally after − tally before) — what the per-event moves add up to —
    with one read and one write per counter table. Only if a plain operation touches a tally's
    tables are those applied in order, as :func:`apply_sql` does.
    """
    counted = {t.name for op in operations if isinstance(op, Tallied) for t in (*op.tally.sources, *op.tally.counters)}
    mixed = any(not isinstance(op, Tallied) and op.table.name in counted for op in operations)
    if mixed:  # a plain operation between tallied ones: keep their order
        await apply_sql(conn, [op for op in operations if isinstance(op, Tallied) or op.table.name in counted])
    else:
        await _fold_tallies(conn, [op for op in operations if isinstance(op, Tallied)])
    by_table: dict[str, list[RowOperation]] = {}
    tables: dict[str, Table] = {}
    for op in operations:
        if isinstance(op, Tallied) or op.table.name in counted:
            continue
        by_table.setdefault(op.table.name, []).append(op)
        tables[op.table.name] = op.table
    for name, ops in by_table.items():
        table = tables[name]
        primary = [c.name for c in table.primary_key.columns]
        whole = set(primary)
        if not primary or any(op.key.keys() != whole for op in ops):
            await apply_sql(conn, ops)
            continue
        await fold_table(conn, table, primary, ops)


class _Blind:
    """A row a batch only upserts or increments, written without reading it: ``row`` as the batch
    would insert it (its key filled in later), ``sets`` the columns it sets either way, ``adds``
    the columns it adds to an existing row (each one's value in ``row``, the sum of the batch's
    increments, is then the amount added). ``row`` holds its key."""

    __slots__ = ("adds", "row", "sets")

    def __init__(self, row: Row, sets: Row, adds: dict[str, int]) -> None:
        self.row, self.sets, self.adds = row, sets, adds

    @classmethod
    def first(cls, op: Upsert | Increment, defaults: Row) -> _Blind:
        """The row as ``op``, the batch's first operation on it, leaves it (as MemoryModel.apply would)."""
        if isinstance(op, Upsert):
            return cls({**defaults, **op.key, **op.values}, dict(op.values), {})
        # A missing row is created from the increment's defaults: those columns are not set on conflict.
        return cls({**defaults, **op.defaults, **op.key, op.column: op.by}, {}, {op.column: op.by})

    def take(self, op: Upsert | Increment) -> bool:
        """Fold a later operation in; False if the row must be read instead (an increment of a
        column whose value on insert would not be the amount added: a non-zero or server default)."""
        row = self.row
        if isinstance(op, Upsert):
            row.update(op.values)
            self.sets.update(op.values)
            for column in op.values:
                self.adds.pop(column, None)
            return True
        column = op.column
        if column in self.sets:  # set by this batch: the sum is known either way
            self.sets[column] = row[column] = (row[column] or 0) + op.by
        elif column in self.adds:
            self.adds[column] = row[column] = row[column] + op.by
        elif column not in row or row[column]:  # a server default, or not 0: the sum is not the amount added
            return False
        else:
            self.adds[column] = row[column] = op.by
        return True


async def fold_table(conn: AsyncConnection, table: Table, primary: list[str], ops: list[RowOperation],
                      target: Table | None = None) -> None:
    """Fold ``ops`` (on ``table``, each keyed by its whole primary key) and write the result to ``target``
    (a copy of ``table`` with the same columns, a staged rebuild's; by default ``table`` itself)."""
    target = table if target is None else target
    model = MemoryModel([table])
    rows = model.rows[table.name]
    # Every operation here is keyed by the whole primary key (apply_folded checked): its values
    # in key order name the row, with no sort per operation (a batch has thousands).
    if len(primary) == 1:
        column = primary[0]
        op_keys = [(op.key[column],) for op in ops]
    else:
        op_keys = [tuple([op.key[c] for c in primary]) for op in ops]
    # A row only ever upserted or incremented in this batch needs no read: inserted as the batch
    # would make it, or on conflict its upserted columns set and its incremented ones added to
    # (catching up, most rows are new and written so). The others are read.
    defaults = model.defaults(table)
    blind: dict[tuple[Any, ...], _Blind] = {}
    read: dict[tuple[Any, ...], None] = {}
    for op, k in zip(ops, op_keys, strict=True):
        if k in read:
            continue
        written = blind.get(k)
        if isinstance(op, Upsert | Increment) and (written is None or written.take(op)):
            if written is None:
                blind[k] = _Blind.first(op, defaults)
        else:
            blind.pop(k, None)
            read[k] = None
    for found in await read_rows(conn, target, _column_names(target), list(read)):
        rows[MemoryModel._key({c: found[c] for c in primary})] = found
    memory_keys = {k: MemoryModel._key(dict(zip(primary, k, strict=True))) for k in read}
    before = {k: rows[m] for k, m in memory_keys.items() if m in rows}
    model.apply(op for op, k in zip(ops, op_keys, strict=True) if k in read)
    shapes: dict[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], list[tuple[tuple[Any, ...], Row]]] = {}
    shape_of: dict[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
    for k, new in blind.items():
        # Rows the same operations made have their columns in the same order: one shape, sorted once.
        named = (tuple(new.row), tuple(new.sets), tuple(new.adds))
        shape = shape_of.get(named)
        if shape is None:
            shape = shape_of[named] = (tuple(sorted(new.row)), tuple(sorted(new.sets)), tuple(sorted(new.adds)))
        shapes.setdefault(shape, []).append((k, new.row))
    for k, m in memory_keys.items():
        changed = rows.get(m)
        if changed is not None and changed is not before.get(k):
            shapes.setdefault((tuple(sorted(changed)), tuple(c for c in sorted(changed) if c not in primary), ()),
                              []).append((k, changed))
    for (columns, updates, adds), keyed in shapes.items():
        stmt = _upsert(conn.dialect.name, target, tuple(primary), updates, adds)
        await execute_rows(conn, stmt, columns, [row for _k, row in _in_key_order(keyed)])
    gone = [k for k, m in memory_keys.items() if k in before and m not in rows]
    for start in range(0, len(gone), CHUNK):
        await conn.execute(delete(target).where(among_keys(target, primary, gone[start:start + CHUNK])))


def _in_key_order(keyed: list[tuple[tuple[Any, ...], Row]]) -> list[tuple[tuple[Any, ...], Row]]:
    """Rows in primary-key order: written so, each insert lands next to the one before in the
    key's index (random ids otherwise touch a page of the index each; about twice as fast on SQLite)."""
    try:
        return sorted(keyed, key=lambda kr: kr[0])
    except TypeError:  # keys of mixed types (None, or int and str) do not compare: any order is right
        return keyed


async def _fold_tallies(conn: AsyncConnection, operations: Sequence[Tallied]) -> None:
    # One group per tally (a staged rebuild retargets each operation's tally: same names, new objects)
    groups: dict[tuple[str, ...], list[Tallied]] = {}
    names: dict[int, tuple[str, ...]] = {}  # by tally object: a batch has thousands of operations, few tallies
    for op in operations:
        name = names.get(id(op.tally))
        if name is None:
            name = names[id(op.tally)] = (op.tally.name, *(t.name for t in (*op.tally.sources, *op.tally.counters)))
        groups.setdefault(name, []).append(op)
    for ops in groups.values():
        await _fold_tally(conn, ops[0].tally, ops)


async def _fold_tally(conn: AsyncConnection, tally: Tally, ops: Sequence[Tallied]) -> None:
    model = MemoryModel(tally.sources)
    subjects: dict[Any, None] = dict.fromkeys(op.subject for op in ops)
    await _load_subjects(conn, model, tally, list(subjects))
    # An operation keyed without the subject column (an item by its id) may name a row of a
    # subject not read yet: read those rows by key, and their subjects' rows with them.
    keyed: dict[str, dict[tuple[Any, ...], Row]] = {}
    for op in ops:
        for row_op in op.operations:
            if tally.subject not in row_op.key:
                k = MemoryModel._key(row_op.key)
                if k not in model.rows[row_op.table.name]:
                    keyed.setdefault(row_op.table.name, {})[k] = row_op.key
    others: dict[Any, None] = {}
    for table in tally.sources:
        wanted = keyed.get(table.name)
        if not wanted:
            continue
        primary = [c.name for c in table.primary_key.columns]
        found = await _read_keys(conn, table, primary, [tuple(key[c] for c in primary) for key in wanted.values()])
        others.update((row[tally.subject], None) for row in found if row[tally.subject] not in subjects)
    if others:
        await _load_subjects(conn, model, tally, list(others))
        subjects.update(others)
    before = {name: dict(rows) for name, rows in model.rows.items()}
    delta: Counter[CounterKey] = Counter()
    for subject in subjects:
        delta.subtract(tally.counts(model.subject_rows(tally, subject)))
    for op in ops:
        model.apply(op.operations)
    for subject in subjects:
        delta.update(tally.counts(model.subject_rows(tally, subject)))
    for table in tally.sources:
        await _write_back(conn, table, [c.name for c in table.primary_key.columns], before[table.name],
                          model.rows[table.name], model.defaults(table))
    await _move_counters(conn, tally, delta)


async def _load_subjects(conn: AsyncConnection, model: MemoryModel, tally: Tally, subjects: list[Any]) -> None:
    keys = [(subject,) for subject in subjects]
    for table in tally.sources:
        model.load({table.name: await read_rows(conn, table, _column_names(table), keys, by=(tally.subject,))})


async def _read_keys(conn: AsyncConnection, table: Table, primary: list[str], keys: list[tuple[Any, ...]]) -> list[Row]:
    return await read_rows(conn, table, _column_names(table), keys, by=primary)


@functools.lru_cache(maxsize=1024)
def _column_names(table: Table) -> tuple[str, ...]:
    """Every column of ``table``, by name, in its order (a ``SELECT *``)."""
    return tuple(c.name for c in table.columns)


async def _move_counters(conn: AsyncConnection, tally: Tally, delta: Counter[CounterKey]) -> None:
    """Add the summed moves to the counter rows, without reading them: one increment upsert per table
    (``count = count + excluded.count``); then the rows that a move took down, and only those, are
    deleted if they now count nothing (a row only counted up cannot have fallen to 0)."""
    by_table: dict[str, dict[tuple[tuple[str, Any], ...], dict[str, int]]] = {}
    tables = {t.name: t for t in tally.counters}
    for (table, key, column), by in delta.items():
        if by:
            tables.setdefault(table.name, table)
            moved = by_table.setdefault(table.name, {}).setdefault(key, {})
            moved[column] = moved.get(column, 0) + by
    dialect = conn.dialect.name
    for name, moves in by_table.items():
        table = tables[name]
        primary, counts = _counter_columns(table)
        keyed: list[tuple[tuple[Any, ...], Row]] = []
        lowered: list[tuple[tuple[Any, ...], Row]] = []
        for key, columns in moves.items():
            row = dict(key)
            k = tuple(row[c] for c in primary)
            keyed.append((k, {**row, **{c: columns.get(c, 0) for c in counts}}))
            if any(by < 0 for by in columns.values()):
                lowered.append((k, row))
        await execute_rows(conn, _increment_upsert(dialect, table), (*primary, *counts),
                           [row for _k, row in _in_key_order(keyed)])
        if lowered:
            await execute_rows(conn, _delete_emptied(table), primary, [row for _k, row in _in_key_order(lowered)])


@functools.lru_cache(maxsize=256)
def _counter_columns(table: Table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A counter table's key columns and its count columns (all the others)."""
    return (tuple(c.name for c in table.primary_key.columns),
            tuple(c.name for c in table.columns if not c.primary_key))


@functools.lru_cache(maxsize=256)
def _increment_upsert(dialect: str, table: Table) -> Any:
    """Insert a counter row with the moves as its counts, or add them to the existing row's (NULL counts as 0)."""
    primary, counts = _counter_columns(table)
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return stmt.on_conflict_do_update(
        index_elements=list(primary),
        set_={c: func.coalesce(table.c[c], literal_column("0")) + stmt.excluded[c] for c in counts})


@functools.lru_cache(maxsize=256)
def _delete_emptied(table: Table) -> Any:
    """Delete a counter row, given its key, if every count is 0 (the zeros are literals: the key is the
    only parameter, so the driver's executemany takes it)."""
    primary, counts = _counter_columns(table)
    return delete(table).where(*(table.c[c] == bindparam(c) for c in primary),
                               *(table.c[c] == literal_column("0") for c in counts))


async def _write_back(conn: AsyncConnection, table: Table, primary: list[str], before: Mapping[Any, Row],
                      rows: Mapping[Any, Row], defaults: Row) -> None:
    """Write the rows that differ from ``before`` (new objects: the memory model never changes a
    row in place) with one multi-row upsert per column set, and delete the rows that went."""
    shapes: dict[tuple[str, ...], list[tuple[tuple[Any, ...], Row]]] = {}
    for k, row in rows.items():
        if row is not before.get(k):
            full = {**defaults, **row}
            shapes.setdefault(tuple(sorted(full)), []).append((tuple(full[c] for c in primary), full))
    for columns, keyed in shapes.items():
        stmt = _upsert(conn.dialect.name, table, tuple(primary), tuple(c for c in columns if c not in primary))
        await execute_rows(conn, stmt, columns, [row for _k, row in _in_key_order(keyed)])
    gone = [tuple(before[k][c] for c in primary) for k in before if k not in rows]
    for start in range(0, len(gone), CHUNK):
        await conn.execute(delete(table).where(among_keys(table, primary, gone[start:start + CHUNK])))


@functools.lru_cache(maxsize=1024)
def _upsert(dialect: str, table: Table, primary: tuple[str, ...], updates: tuple[str, ...],
            adds: tuple[str, ...] = ()) -> Any:
    """The multi-row upsert of ``table`` setting ``updates`` and adding to ``adds`` (NULL counts as 0)
    on conflict, made once per shape: building ``excluded`` copies the table's columns, which cost a
    lone event's batch more than its SQL."""
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    updated: dict[str, Any] = {c: stmt.excluded[c] for c in updates}
    updated.update({c: func.coalesce(table.c[c], literal_column("0")) + stmt.excluded[c] for c in adds})
    return (stmt.on_conflict_do_update(index_elements=list(primary), set_=updated) if updated
            else stmt.on_conflict_do_nothing(index_elements=list(primary)))


def retarget(op: Operation, tables: Mapping[str, Table], tallies: dict[str, Tally] | None = None) -> Operation:
    """``op`` on the tables of ``tables`` named like its own (a staged rebuild's copies), tallies included.

    ``tallies`` keeps the retargeted tallies by name across calls, so that a rebuild makes each once.
    """
    if isinstance(op, Tallied):
        tally = tallies.get(op.tally.name) if tallies is not None else None
        if tally is None:
            tally = op.tally.retarget(tables)
            if tallies is not None:
                tallies[op.tally.name] = tally
        return Tallied(tally, op.subject, tuple(retarget_row(o, tables) for o in op.operations))
    return retarget_row(op, tables)


def retarget_row(op: RowOperation, tables: Mapping[str, Table]) -> RowOperation:
    """A row operation on the table of ``tables`` named like its own."""
    # Built directly: ``dataclasses.replace`` inspects the fields on every call, and a rebuild
    # retargets an operation per event (a tenth of its CPU went there).
    table = tables[op.table.name]
    if isinstance(op, Upsert):
        return Upsert(table, op.key, op.values)
    if isinstance(op, Patch):
        return Patch(table, op.key, op.values)
    if isinstance(op, Increment):
        return Increment(table, op.key, op.column, op.by, op.defaults)
    return Delete(table, op.key)


@functools.lru_cache(maxsize=1024)
def _shape(table: Table) -> tuple[list[str], Row]:
    """``table``'s primary key columns and a new row's defaults, worked out once: a live consumer makes
    a model of a few tables for every lone event, and going over the columns was a visible part of it.
    Shared by every model of the table: neither is ever changed."""
    return [c.name for c in table.primary_key.columns], {
        c.name: c.default.arg if c.default is not None else None  # type: ignore[attr-defined]
        for c in table.columns
        if (c.default is not None and not callable(c.default.arg))  # type: ignore[attr-defined]
        or (c.default is None and c.server_default is None and not c.primary_key)
    }


class MemoryModel:
    """The same operations applied to dicts, for rebuilding a read model quickly.

    A new row starts as SQL would insert it: scalar Python defaults, and None (NULL) for a
    column with no default at all, so that rows compare equal to those read from the tables.
    """

    def __init__(self, tables: Iterable[Table]) -> None:
        self.rows: dict[str, dict[tuple[Any, ...], Row]] = {}
        self._defaults: dict[str, Row] = {}
        self._keys: dict[str, list[str]] = {}
        # (table, column) -> value -> keys of the rows with that value: the rows of a tally's subject
        self._indexes: dict[tuple[str, str], dict[Any, set[tuple[Any, ...]]]] = {}
        for table in tables:
            self._keys[table.name], self._defaults[table.name] = _shape(table)
            self.rows[table.name] = {}

    def defaults(self, table: Table) -> Row:
        """The values a new row of ``table`` starts with (before its key and values); not to be changed."""
        return self._defaults[table.name]

    @staticmethod
    def _key(key: Row) -> tuple[Any, ...]:
        # Sorted so that {"a", "b"} and {"b", "a"} name one row; one-column keys need no sort.
        return tuple(key.items()) if len(key) == 1 else tuple(sorted(key.items()))

    def apply(self, operations: Iterable[Operation]) -> None:
        """Apply operations in memory, as :func:`apply_sql` would to the tables."""
        for op in operations:
            if isinstance(op, Tallied):
                self._apply_tallied(op)
                continue
            name = op.table.name
            rows = self.rows[name]
            k = self._key(op.key)
            old = rows.get(k)
            if isinstance(op, Upsert):
                rows[k] = {**(old or self._defaults[name]), **op.key, **op.values}
            elif isinstance(op, Patch):
                if old is not None:
                    rows[k] = {**old, **op.values}
            elif isinstance(op, Increment):
                row = old or {**self._defaults[name], **op.defaults, **op.key, op.column: 0}
                rows[k] = {**row, op.column: (row.get(op.column) or 0) + op.by}
            else:
                rows.pop(k, None)
            self._reindex(name, k, old, rows.get(k))

    def _apply_tallied(self, op: Tallied) -> None:
        tally = op.tally
        before = self.subject_rows(tally, op.subject)
        self.apply(op.operations)
        moves = tally.moves(before, self.subject_rows(tally, op.subject))
        self.apply(moves)
        for table, key in _emptied_candidates(moves):
            row = self.rows[table.name].get(self._key(key))
            if row is not None and all(row[c.name] == 0 for c in table.columns if not c.primary_key):
                self.apply([Delete(table, key)])

    def _reindex(self, name: str, k: tuple[Any, ...], old: Row | None, new: Row | None) -> None:
        for (table, column), index in self._indexes.items():
            if table != name:
                continue
            if old is not None and (new is None or new.get(column) != old.get(column)):
                index.get(old.get(column), set()).discard(k)
            if new is not None:
                index.setdefault(new.get(column), set()).add(k)

    def subject_rows(self, tally: Tally, subject: Any) -> dict[str, list[Row]]:
        """The rows of ``tally``'s sources whose subject column is ``subject``, by table name."""
        found: dict[str, list[Row]] = {}
        for table in tally.sources:
            rows = self.rows[table.name]
            found[table.name] = [rows[k] for k in self._index(table.name, tally.subject).get(subject, ())]
        return found

    def _index(self, name: str, column: str) -> dict[Any, set[tuple[Any, ...]]]:
        index = self._indexes.get((name, column))
        if index is None:  # built once from the rows so far, then kept up to date by every operation
            index = {}
            for k, row in self.rows[name].items():
                index.setdefault(row.get(column), set()).add(k)
            self._indexes[(name, column)] = index
        return index

    def load(self, rows: Mapping[str, Sequence[Row]]) -> None:
        """Put rows read from the tables into the model, as they are (a scratch copy of a few rows)."""
        for name, table_rows in rows.items():
            for row in table_rows:
                k = self._key({c: row[c] for c in self._keys[name]})
                self.rows[name][k] = dict(row)
                self._reindex(name, k, None, self.rows[name][k])

    def table_rows(self, table: Table) -> list[Row]:
        """Every row of a table."""
        return list(self.rows[table.name].values())
