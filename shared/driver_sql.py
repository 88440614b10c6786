"""Keyed reads and many-row writes through the driver, with SQLAlchemy's statements compiled once.

A live consumer's lone event reads and writes a few rows in a dozen statements; SQLAlchemy's
per-statement work (building the ``SELECT``, looking it up in its compiled cache, processing each
parameter and each row) cost about as much CPU as the database's own. Here each statement shape
is compiled once and run with ``exec_driver_sql``, its values passed through the same bind and
result processors of the columns' types that SQLAlchemy would apply, so what the callers see is
unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, or_, select, tuple_
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.sqlite_driver import live_fused

Row = dict[str, Any]

CHUNK = 500
"""Keys per ``IN`` list (and rows per read): well under SQLite's and asyncpg's parameter limits."""

_READ_CHUNK = 256
"""Keys per keyed read: a power of two, so that the padded lists never exceed it."""


async def read_rows(conn: AsyncConnection, table: Table, columns: Sequence[str], keys: Sequence[tuple[Any, ...]],
                    lock: bool = False, *, by: Sequence[str] | None = None) -> list[Row]:
    """The rows of ``table`` whose ``by`` columns (its primary key by default) equal one of ``keys``
    (value tuples in ``by``'s order), each as a dict of ``columns``; with ``lock``, ``FOR UPDATE`` on
    PostgreSQL (SQLite's single writer needs none).

    The key list is padded (by repeating its last key) to a power of two, so one compiled statement
    serves every batch of up to that many keys: at most nine shapes per table and column set.
    """
    if not keys:
        return []
    key_columns = tuple(by) if by is not None else tuple(c.name for c in table.primary_key.columns)
    found: list[Row] = []
    for start in range(0, len(keys), _READ_CHUNK):
        chunk = list(keys[start:start + _READ_CHUNK])
        size = 1 << (len(chunk) - 1).bit_length()
        chunk += [chunk[-1]] * (size - len(chunk))
        sql, binds, results = _keyed_select(conn.dialect, table, tuple(columns), key_columns, size, lock)
        parameters = tuple([value if process is None else process(value)
                            for key in chunk for value, process in zip(key, binds, strict=True)])
        result = await conn.exec_driver_sql(sql, parameters)
        for record in result.fetchall():
            found.append({name: value if process is None else process(value)
                          for (name, process), value in zip(results, record, strict=True)})
    return found


@functools.lru_cache(maxsize=1024)
def _keyed_select(dialect: Dialect, table: Table, columns: tuple[str, ...], by: tuple[str, ...], size: int,
                  lock: bool) -> tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]]:
    """The driver's SQL of ``read_rows``'s ``SELECT`` for ``size`` keys, the bind processor of each key
    column (in ``by``'s order) and the result processor of each selected column."""
    names = [[f"k{n}_{i}" for i in range(len(by))] for n in range(size)]
    condition: ColumnElement[bool]
    if len(by) == 1:
        condition = table.c[by[0]].in_([bindparam(key[0]) for key in names])
    else:
        condition = or_(*(and_(*(table.c[c] == bindparam(name) for c, name in zip(by, key, strict=True)))
                          for key in names))
    stmt = select(*(table.c[c] for c in columns)).where(condition)
    if lock:
        stmt = stmt.with_for_update()
    compiled = stmt.compile(dialect=dialect)
    order = compiled.positiontup
    if order is None or compiled.post_compile_params or compiled.literal_execute_params:
        raise RuntimeError(f"read_rows: {dialect.name} does not take positional parameters")
    expected = [name for key in names for name in key]
    if list(order) != expected:  # the parameters are passed in key order
        raise RuntimeError(f"read_rows: {dialect.name} orders the parameters otherwise")
    processors = compiled._bind_processors
    binds = tuple(processors.get(name) for name in names[0])
    results = tuple((c, table.c[c].type._cached_result_processor(dialect, None)) for c in columns)
    return str(compiled), binds, results


async def execute_rows(conn: AsyncConnection, stmt: Any, columns: tuple[str, ...], rows: list[Row]) -> None:
    """``conn.execute(stmt, rows)`` in statements of a thousand rows, each row having exactly ``columns``.

    Through the driver's own executemany of plain tuples, each value passed through its column
    type's bind processor as SQLAlchemy would: SQLAlchemy's per-row parameter processing cost
    about as much as the database's insert (a consumer catching up writes several rows per event).
    A statement whose parameters are not exactly these columns (a Python-side default to fill in,
    an expanding parameter) goes through ``conn.execute``.
    """
    driver = driver_form(conn.dialect, stmt, columns)
    # Writes held on SQLite (FusedConnection.defer_writes) go with the transaction's next hand-off.
    held = live_fused(conn) if driver is not None and conn.dialect.name == "sqlite" else None
    for start in range(0, len(rows), 1000):
        chunk = rows[start:start + 1000]
        if driver is None:
            await conn.execute(stmt, chunk)
            continue
        sql, processors = driver
        parameters = [tuple([row[name] if process is None else process(row[name]) for name, process in processors])
                      for row in chunk]
        if held is not None and held.deferring:
            held.defer((sql, parameters, False))
        else:
            await conn.exec_driver_sql(sql, parameters)


@functools.lru_cache(maxsize=1024)
def driver_form(dialect: Any, stmt: Any,
                      columns: tuple[str, ...]) -> tuple[str, tuple[tuple[str, Any], ...]] | None:
    """``stmt`` (a write, or a read with named parameters) compiled for ``dialect`` with ``columns`` as
    its parameters: its SQL and each positional parameter's name with its bind processor (``None``:
    the value as it is), or ``None`` if the driver's form does not fit (see :func:`execute_rows`).
    Cached by ``stmt``'s identity: pass a statement kept for reuse."""
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    names = compiled.positiontup
    if (names is None or sorted(names) != sorted(columns) or compiled.literal_execute_params
            or compiled.post_compile_params
            # Python-side defaults to fill in (an INSERT's or UPDATE's; a SELECT has neither).
            or getattr(compiled, "insert_prefetch", None) or getattr(compiled, "postfetch", None)):
        return None
    processors = compiled._bind_processors
    return str(compiled), tuple((name, processors.get(name)) for name in names)


def among_keys(table: Table, primary: list[str], keys: list[tuple[Any, ...]]) -> Any:
    """A condition: ``table``'s primary key (the columns ``primary``) is one of ``keys``."""
    if len(primary) == 1:
        return table.c[primary[0]].in_([k[0] for k in keys])
    return tuple_(*(table.c[c] for c in primary)).in_(keys)
