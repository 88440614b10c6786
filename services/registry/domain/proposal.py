"""A plan proposed from a home visit: the visit's needs, through the service catalogue, as plan items.

The officer sees the proposal grouped in the plan's two parts (protection 保障服务, income 发展增收),
drops, adds or edits items, and confirms them (``plan.confirm_proposal``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.registry.domain.service_catalogue import Service
from shared.catalogue import EventPayload
from shared.catalogue.people import HomeVisitRecorded, PlanKind
from shared.errors import DomainRuleViolated, NotFound


def reached(visit: HomeVisitRecorded) -> bool:
    """Whether the visit reached the person (not lost to follow-up: 失访)."""
    return visit.outcome == "reached"


def reached_visit(history: Sequence[EventPayload], year: int, visit_id: str | None = None) -> HomeVisitRecorded:
    """The visit a proposal starts from: ``visit_id`` if given, else the year's latest visit that
    reached the person (a year may have several attempts)."""
    visits = [e for e in history if isinstance(e, HomeVisitRecorded) and e.year == year]
    if visit_id is not None:
        chosen = next((v for v in visits if v.visit_id == visit_id), None)
        if chosen is None:
            raise NotFound(f"no visit {visit_id} in {year}")
        if not reached(chosen):
            raise DomainRuleViolated(f"visit {visit_id} did not reach the person: it proposes nothing")
        return chosen
    candidates = [v for v in visits if reached(v)]
    if not candidates:
        raise NotFound(f"no home visit reached the person in {year}: record one before proposing a plan")
    return max(enumerate(candidates), key=lambda pair: (pair[1].visited_on, pair[0]))[1]


@dataclass(frozen=True)
class ProposedItem:
    """A plan item proposed from a visit's need through a catalogue entry."""

    service_code: str
    service_name_zh: str
    service_name_en: str
    kind: PlanKind
    need: str
    responsible_department: str
    due_on: date


@dataclass(frozen=True)
class Proposal:
    """What a visit's needs call for: items in the two parts, and needs no active service answers."""

    protection: list[ProposedItem]
    income: list[ProposedItem]
    unanswered_needs: list[str]


def propose(needs: Iterable[str], visited_on: date, services: Iterable[Service]) -> Proposal:
    """Every active service answering one of ``needs``, due ``default_days`` after the visit.

    A need answered by several services proposes each (the officer drops what does not fit); needs
    are taken in the visit's order, services by code, so the same visit always gives the same list.
    """
    by_need: dict[str, list[Service]] = {}
    for service in sorted(services, key=lambda s: s.code):
        if not service.retired:
            by_need.setdefault(service.need, []).append(service)
    parts: dict[PlanKind, list[ProposedItem]] = {"protection": [], "income": []}
    unanswered: list[str] = []
    for need in dict.fromkeys(needs):  # a need listed twice is proposed once
        answering = by_need.get(need, [])
        if not answering:
            unanswered.append(need)
        for s in answering:
            parts[s.part].append(ProposedItem(s.code, s.name_zh, s.name_en, s.part, need, s.responsible_department,
                                              visited_on + timedelta(days=s.default_days)))
    return Proposal(parts["protection"], parts["income"], unanswered)
