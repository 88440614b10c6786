"""The inspection group (督导组): its leader, members, and the townships and units it covers.

The federation forms groups; the application decides who may form or change one, and uses
:meth:`Group.is_member` to let members run their group's inspections and verify rectifications.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from functools import singledispatch

from shared.catalogue import EventPayload
from shared.catalogue.supervision import GroupCoverageChanged, GroupFormed, GroupMembershipChanged
from shared.errors import DomainRuleViolated, Forbidden, InvalidInput


@dataclass(frozen=True)
class Group:
    """A group's state as folded from its stream; ``members`` includes the leader."""

    group_id: str
    name: str
    leader: str
    members: frozenset[str]
    township_codes: frozenset[str]
    unit_codes: frozenset[str]

    def is_member(self, staff_id: str) -> bool:
        """Whether this member of staff belongs to the group (the leader does)."""
        return staff_id in self.members

    def require_member(self, staff_id: str, action: str) -> None:
        """Only members of the group (its leader included) act for it: 403 for anyone else."""
        if not self.is_member(staff_id):
            raise Forbidden(f"{action}: {staff_id} is not a member of {self.name} ({self.group_id}); "
                            f"its members are {', '.join(sorted(self.members))}")

    def covers_township(self, township_code: str) -> bool:
        """Whether the group inspects this township."""
        return township_code in self.township_codes

    def covers_unit(self, unit_code: str) -> bool:
        """Whether the group inspects this lead unit."""
        return unit_code in self.unit_codes


def evolve(state: Group | None, event: EventPayload) -> Group:
    """Apply one event to a group."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: Group | None) -> Group:
    raise TypeError(f"a group stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: GroupFormed, state: Group | None) -> Group:
    return Group(event.group_id, event.name, event.leader, frozenset(event.members),
                 frozenset(event.township_codes), frozenset(event.unit_codes))


@_apply.register
def _(event: GroupMembershipChanged, state: Group) -> Group:
    return replace(state, leader=event.leader, members=frozenset(event.members))


@_apply.register
def _(event: GroupCoverageChanged, state: Group) -> Group:
    townships, units = frozenset(event.township_codes), frozenset(event.unit_codes)
    return replace(state, township_codes=townships, unit_codes=units)


def _cleaned(values: Collection[str]) -> list[str]:
    return sorted({value.strip() for value in values if value.strip()})


def _check_known(values: list[str], known: Collection[str], what: str, field: str) -> None:
    unknown = [value for value in values if value not in known]
    if unknown:
        raise InvalidInput(f"unknown {what}: {', '.join(unknown)}", field=field)


def _membership(leader: str, members: Collection[str], known_staff: Collection[str]) -> tuple[str, list[str]]:
    leader = leader.strip()
    if not leader:
        raise InvalidInput("a group needs a leader", field="leader")
    everyone = _cleaned([*members, leader])
    _check_known(everyone, known_staff, "member(s) of staff", "members")
    return leader, everyone


def _coverage(
    township_codes: Collection[str],
    unit_codes: Collection[str],
    known_townships: Collection[str],
    known_units: Collection[str],
) -> tuple[list[str], list[str]]:
    townships, units = _cleaned(township_codes), _cleaned(unit_codes)
    if not townships and not units:
        raise InvalidInput("a group must cover at least one township or unit", field="township_codes")
    _check_known(townships, known_townships, "township(s)", "township_codes")
    _check_known(units, known_units, "unit(s)", "unit_codes")
    return townships, units


def form(
    group: Group | None,
    *,
    group_id: str,
    name: str,
    leader: str,
    members: Collection[str],
    township_codes: Collection[str],
    unit_codes: Collection[str],
    known_staff: Collection[str],
    known_townships: Collection[str],
    known_units: Collection[str],
) -> list[EventPayload]:
    """Form a group (once): a name, a leader (made a member if not listed), and what it covers."""
    if group is not None:
        raise DomainRuleViolated(f"group {group_id} already exists ({group.name})")
    if not name.strip():
        raise InvalidInput("a group needs a name", field="name")
    leader, everyone = _membership(leader, members, known_staff)
    townships, units = _coverage(township_codes, unit_codes, known_townships, known_units)
    return [GroupFormed(group_id=group_id, name=name.strip(), leader=leader, members=everyone,
                        township_codes=townships, unit_codes=units)]


def change_membership(
    group: Group, *, leader: str, members: Collection[str], known_staff: Collection[str]
) -> list[EventPayload]:
    """Replace the leader and members; no event when nothing changes."""
    leader, everyone = _membership(leader, members, known_staff)
    if leader == group.leader and frozenset(everyone) == group.members:
        return []
    return [GroupMembershipChanged(group_id=group.group_id, leader=leader, members=everyone)]


def change_coverage(
    group: Group,
    *,
    township_codes: Collection[str],
    unit_codes: Collection[str],
    known_townships: Collection[str],
    known_units: Collection[str],
) -> list[EventPayload]:
    """Replace the townships and units the group covers; no event when nothing changes."""
    townships, units = _coverage(township_codes, unit_codes, known_townships, known_units)
    if frozenset(townships) == group.township_codes and frozenset(units) == group.unit_codes:
        return []
    return [GroupCoverageChanged(group_id=group.group_id, township_codes=townships, unit_codes=units)]
