"""The row operations keep what their dataclass declaration promises with their own ``__init__``."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from shared.projection import Delete, Increment, Patch, RowOperation, Upsert

pytestmark = pytest.mark.unit

TABLE = Table("things", MetaData(), Column("id", String(10), primary_key=True), Column("n", Integer))


@pytest.mark.parametrize("op", [
    Upsert(TABLE, {"id": "a"}, {"n": 1}), Patch(TABLE, key={"id": "a"}, values={"n": 2}),
    Increment(TABLE, {"id": "a"}, "n"), Increment(TABLE, {"id": "a"}, "n", by=-2, defaults={"n": 0}),
    Delete(TABLE, {"id": "a"}),
])
def test_an_operation_is_frozen_comparable_replaceable_and_picklable(op: RowOperation) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.key = {"id": "b"}  # type: ignore[misc]
    fields = {f.name: getattr(op, f.name) for f in dataclasses.fields(op)}
    assert type(op)(**fields) == op
    assert dataclasses.replace(op, key={"id": "b"}) != op
    assert dataclasses.replace(op, key={"id": "b"}).key == {"id": "b"}
    assert dataclasses.asdict(op)["key"] == {"id": "a"}
    copy = pickle.loads(pickle.dumps(op))  # a table comes back as a copy, equal by name only
    assert type(copy) is type(op) and copy.table.name == "things"
    assert {n: v for n, v in vars(copy).items() if n != "table"} == {n: v for n, v in fields.items() if n != "table"}
    assert repr(op).startswith(f"{type(op).__name__}(table=Table('things'")


def test_an_increment_counts_one_and_gets_a_dict_of_defaults_of_its_own() -> None:
    first, second = Increment(TABLE, {"id": "a"}, "n"), Increment(TABLE, {"id": "b"}, "n")
    assert (first.by, first.defaults) == (1, {})
    assert first.defaults is not second.defaults
    assert Increment(TABLE, {"id": "a"}, "n", 1, {}) == first
