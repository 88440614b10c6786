"""A set of event positions as ONE bound parameter (``= ANY(array)`` / ``json_each``), not one per position.

The relay skips acknowledged rows in its outbox reads and deletes them in batches of thousands. As
``IN (…)`` lists, every position was a bound parameter that SQLAlchemy rendered and the driver
encoded one by one, and each list length compiled a statement of its own: the relay's reads carried
up to 20,000 of them in a long drain. One array (PostgreSQL) or one JSON text (SQLite) keeps one
cached statement whatever the count.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, all_, any_, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY


def among_parameter(col: ColumnElement[Any], dialect: str) -> ColumnElement[bool]:
    """``col IN :positions``, the positions given at execution (:func:`positions_value`): a statement
    built once is compiled once and its cache key made once; one built per call with its positions
    cost its construction and cache key each time, a visible part of a writer's batch that clears the outbox."""
    if dialect == "postgresql":
        return col == any_(bindparam("positions", type_=ARRAY(BigInteger)))
    return col.in_(select(column("value")).select_from(func.json_each(bindparam("positions"))))


def positions_value(positions: Sequence[int], dialect: str) -> Any:
    """The ``positions`` parameter of :func:`among_parameter` for these positions."""
    return list(positions) if dialect == "postgresql" else json.dumps(list(positions))


def not_among(col: ColumnElement[Any], positions: Sequence[int], dialect: str) -> ColumnElement[bool]:
    """``col NOT IN positions``, with the positions as one parameter (positions are never NULL)."""
    if dialect == "postgresql":
        return col != all_(bindparam("positions", list(positions), type_=ARRAY(BigInteger)))
    return col.not_in(_json_values(positions))


def _json_values(positions: Sequence[int]) -> Any:
    """SQLite: ``SELECT value FROM json_each(?)`` over the positions as one JSON array."""
    return select(column("value")).select_from(func.json_each(bindparam("positions", json.dumps(list(positions)))))
