"""Inspection groups: forming one, changing its members and what it covers."""

from __future__ import annotations

import pytest

from services.inspections.domain import group as groups
from services.inspections.domain.group import Group
from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.catalogue.people import PlanDrawn
from shared.catalogue.supervision import GroupCoverageChanged, GroupFormed, GroupMembershipChanged
from shared.errors import DomainRuleViolated, InvalidInput

pytestmark = pytest.mark.unit

FENGMING, QINGLONG, JINJIANG = "511403001000", "511403003000", "511403110000"
STAFF = {"s-li", "s-wang", "s-zhao", "s-chen"}
TOWNSHIPS = {FENGMING, QINGLONG, JINJIANG}
UNITS = {"civil-affairs", "health"}
FORMED = GroupFormed(group_id="g1", name="第一督导组", leader="s-li", members=["s-li", "s-wang"],
                     township_codes=[FENGMING], unit_codes=["health"])


def given(*events: EventPayload) -> Group:
    state = fold(groups.evolve, events)
    assert state is not None
    return state


def form(**overrides: object) -> list[EventPayload]:
    args: dict[str, object] = {
        "group_id": "g1", "name": " 第一督导组 ", "leader": "s-li", "members": ["s-wang", " s-wang", ""],
        "township_codes": [FENGMING], "unit_codes": ["health"], "known_staff": STAFF,
        "known_townships": TOWNSHIPS, "known_units": UNITS,
    }
    args.update(overrides)
    return groups.form(None, **args)  # type: ignore[arg-type]


def test_forming_a_group_makes_the_leader_a_member_and_cleans_the_lists() -> None:
    assert form() == [FORMED]


def test_a_formed_group_knows_its_members_and_coverage() -> None:
    group = given(FORMED)
    assert group.is_member("s-li") and group.is_member("s-wang") and not group.is_member("s-zhao")
    assert group.covers_township(FENGMING) and not group.covers_township(QINGLONG)
    assert group.covers_unit("health") and not group.covers_unit("civil-affairs")


def test_a_group_is_formed_once() -> None:
    with pytest.raises(DomainRuleViolated, match="already exists"):
        groups.form(given(FORMED), group_id="g1", name="again", leader="s-li", members=[],
                    township_codes=[FENGMING], unit_codes=[], known_staff=STAFF,
                    known_townships=TOWNSHIPS, known_units=UNITS)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"name": "  "}, "name", id="blank-name"),
        pytest.param({"leader": " "}, "leader", id="no-leader"),
        pytest.param({"members": ["s-ghost"]}, "members", id="unknown-member"),
        pytest.param({"leader": "s-ghost"}, "members", id="unknown-leader"),
        pytest.param({"township_codes": ["511403999000"]}, "township_codes", id="unknown-township"),
        pytest.param({"unit_codes": ["police"]}, "unit_codes", id="unknown-unit"),
        pytest.param({"township_codes": [], "unit_codes": []}, "township_codes", id="covers-nothing"),
    ],
)
def test_forming_refuses_bad_input(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        form(**overrides)
    assert refused.value.field == field


def test_membership_is_replaced_and_the_new_leader_joins() -> None:
    events = groups.change_membership(given(FORMED), leader="s-zhao", members=["s-wang"], known_staff=STAFF)
    assert events == [GroupMembershipChanged(group_id="g1", leader="s-zhao", members=["s-wang", "s-zhao"])]
    group = given(FORMED, *events)
    assert group.leader == "s-zhao" and not group.is_member("s-li")


def test_unchanged_membership_makes_no_event() -> None:
    assert groups.change_membership(given(FORMED), leader="s-li", members=["s-wang"], known_staff=STAFF) == []


def test_membership_refuses_unknown_staff() -> None:
    with pytest.raises(InvalidInput) as refused:
        groups.change_membership(given(FORMED), leader="s-li", members=["s-ghost"], known_staff=STAFF)
    assert refused.value.field == "members"


def test_coverage_is_replaced() -> None:
    events = groups.change_coverage(given(FORMED), township_codes=[QINGLONG, FENGMING], unit_codes=[],
                                    known_townships=TOWNSHIPS, known_units=UNITS)
    assert events == [GroupCoverageChanged(group_id="g1", township_codes=[FENGMING, QINGLONG], unit_codes=[])]
    group = given(FORMED, *events)
    assert group.covers_township(QINGLONG) and not group.covers_unit("health")


def test_unchanged_coverage_makes_no_event() -> None:
    assert groups.change_coverage(given(FORMED), township_codes=[FENGMING], unit_codes=["health"],
                                  known_townships=TOWNSHIPS, known_units=UNITS) == []


def test_coverage_cannot_become_empty() -> None:
    with pytest.raises(InvalidInput) as refused:
        groups.change_coverage(given(FORMED), township_codes=[], unit_codes=[],
                               known_townships=TOWNSHIPS, known_units=UNITS)
    assert refused.value.field == "township_codes"


def test_a_group_stream_refuses_foreign_events() -> None:
    foreign = PlanDrawn(plan_id="p", person_id="x", year=2026, village_code="v", township_code="t")
    with pytest.raises(TypeError, match="group stream"):
        given(FORMED, foreign)
