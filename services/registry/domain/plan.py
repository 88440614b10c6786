"""The personal plan (一人一策) of one person for one year, and its items."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import singledispatch
from typing import Literal

from services.registry.domain.person import Person
from services.registry.domain.service_catalogue import Service
from services.registry.domain.vocabulary import NEEDS
from shared.catalogue import EventPayload
from shared.catalogue.people import (
    NotDeliveredReason,
    PlanDrawn,
    PlanItemAdded,
    PlanItemCancelled,
    PlanItemDelivered,
    PlanItemNotDelivered,
    PlanKind,
    Sealed,
)
from shared.errors import DomainRuleViolated, InvalidInput, NotFound

ItemStatus = Literal["planned", "delivered", "not_delivered", "cancelled"]
"""``planned`` is open; the other three close an item: delivered, not delivered (with a coded reason), or
cancelled (withdrawn)."""

Seal = Callable[[dict[str, str]], Sealed]
"""Seals an item's free texts with the person's key (given by the caller, bound to the item)."""


def plan_stream_id(person_id: str, year: int) -> str:
    """A person has at most one plan per year: the stream id says which."""
    return f"plan-{person_id}-{year}"


@dataclass(frozen=True)
class PlanItem:
    """One measure of a plan."""

    item_id: str
    kind: PlanKind
    need: str
    responsible_department: str
    due_on: date
    status: ItemStatus = "planned"
    delivered_on: date | None = None
    service_code: str | None = None
    """The catalogue service the item delivers (items proposed from a visit have one)."""
    not_delivered_reason: NotDeliveredReason | None = None
    closed_on: date | None = None
    """The day an item was closed without delivery."""
    sealed: Mapping[str, str] = field(default_factory=dict)
    """The free texts (``description``, ``note``, ``cancel_reason``), sealed with the person's key."""
    legacy: Mapping[str, str] = field(default_factory=dict)
    """The same texts in clear, from events written before they were sealed."""


@dataclass(frozen=True)
class Plan:
    """A plan's state."""

    plan_id: str
    person_id: str
    year: int
    village_code: str
    township_code: str
    items: dict[str, PlanItem] = field(default_factory=dict)


def evolve(state: Plan | None, event: EventPayload) -> Plan:
    """Apply one event to a plan."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: Plan | None) -> Plan:
    raise TypeError(f"a plan stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: PlanDrawn, state: Plan | None) -> Plan:
    return Plan(event.plan_id, event.person_id, event.year, event.village_code, event.township_code)


@_apply.register
def _(event: PlanItemAdded, state: Plan) -> Plan:
    item = PlanItem(event.item_id, event.kind, event.need, event.responsible_department, event.due_on,
                    service_code=event.service_code, sealed=dict(event.sealed),
                    legacy=_texts(description=event.description))
    return replace(state, items={**state.items, item.item_id: item})


def _texts(**texts: str) -> dict[str, str]:
    return {name: text for name, text in texts.items() if text}


@_apply.register
def _(event: PlanItemDelivered, state: Plan) -> Plan:
    old = state.items[event.item_id]
    item = replace(old, status="delivered", delivered_on=event.delivered_on,
                   sealed={**old.sealed, **event.sealed}, legacy={**old.legacy, **_texts(note=event.note)})
    return replace(state, items={**state.items, item.item_id: item})


@_apply.register
def _(event: PlanItemNotDelivered, state: Plan) -> Plan:
    old = state.items[event.item_id]
    item = replace(old, status="not_delivered", not_delivered_reason=event.reason, closed_on=event.closed_on,
                   sealed={**old.sealed, **event.sealed})
    return replace(state, items={**state.items, item.item_id: item})


@_apply.register
def _(event: PlanItemCancelled, state: Plan) -> Plan:
    old = state.items[event.item_id]
    item = replace(old, status="cancelled", sealed={**old.sealed, **event.sealed},
                   legacy={**old.legacy, **_texts(cancel_reason=event.reason)})
    return replace(state, items={**state.items, item.item_id: item})


def draw(plan: Plan | None, person: Person, *, year: int) -> list[EventPayload]:
    """Open the person's plan for ``year`` (once)."""
    if plan is not None:
        raise DomainRuleViolated(f"person {person.person_id} already has a plan for {year}")
    if not person.active:
        raise DomainRuleViolated(f"person {person.person_id} is deregistered: no new plan")
    if not 2000 <= year <= 2100:
        raise InvalidInput(f"year {year} is out of range", field="year")
    return [PlanDrawn(plan_id=plan_stream_id(person.person_id, year), person_id=person.person_id, year=year,
                      village_code=person.village_code, township_code=person.township_code)]


def add_item(
    plan: Plan,
    *,
    item_id: str,
    kind: PlanKind,
    need: str,
    description: str,
    responsible_department: str,
    due_on: date,
    known_departments: set[str],
    seal: Seal,
    service: Service | None = None,
) -> list[EventPayload]:
    """Add a measure with its responsible department and due date (and the catalogue service it delivers)."""
    if service is not None:
        if service.retired:
            raise InvalidInput(f"service {service.code} is retired", field="service_code")
        if (service.need, service.part) != (need, kind):
            raise InvalidInput(f"service {service.code} answers need {service.need!r} in part {service.part!r}, "
                               f"not {need!r} in {kind!r}; without a service code any need may be planned",
                               field="service_code")
    if need not in NEEDS:
        raise InvalidInput(f"unknown need code {need!r}; known: {', '.join(NEEDS)}", field="need")
    if responsible_department not in known_departments:
        raise InvalidInput(f"unknown department {responsible_department!r}", field="responsible_department")
    if not description.strip():
        raise InvalidInput("an item needs a description", field="description")
    if due_on.year < plan.year:
        raise InvalidInput(f"due date {due_on} is before the plan's year {plan.year}", field="due_on")
    return [PlanItemAdded(plan_id=plan.plan_id, person_id=plan.person_id, year=plan.year, item_id=item_id,
                          kind=kind, need=need, sealed=seal({"description": description.strip()}),
                          responsible_department=responsible_department, due_on=due_on,
                          service_code=service.code if service is not None else None)]


def _item(plan: Plan, item_id: str) -> PlanItem:
    try:
        return plan.items[item_id]
    except KeyError:
        raise NotFound(f"plan {plan.plan_id} has no item {item_id}") from None


def deliver_item(
    plan: Plan, item_id: str, *, delivered_on: date, note: str, today: date, seal: Seal
) -> list[EventPayload]:
    """Mark an item delivered (once; not a cancelled one; not in the future)."""
    item = _item(plan, item_id)
    if item.status != "planned":
        raise DomainRuleViolated(f"item {item_id} is already {item.status}")
    if delivered_on > today:
        raise InvalidInput(f"delivery date {delivered_on} is in the future", field="delivered_on")
    return [PlanItemDelivered(plan_id=plan.plan_id, person_id=plan.person_id, year=plan.year, item_id=item_id,
                              delivered_on=delivered_on, sealed=seal({"note": note.strip()}) if note.strip() else {})]


def cancel_item(plan: Plan, item_id: str, *, reason: str, seal: Seal) -> list[EventPayload]:
    """Cancel an item that is still planned, with a reason."""
    item = _item(plan, item_id)
    if item.status != "planned":
        raise DomainRuleViolated(f"item {item_id} is already {item.status}")
    if not reason.strip():
        raise InvalidInput("cancelling an item needs a reason", field="reason")
    return [PlanItemCancelled(plan_id=plan.plan_id, person_id=plan.person_id, year=plan.year, item_id=item_id,
                              sealed=seal({"cancel_reason": reason.strip()}))]


def record_not_delivered(
    plan: Plan, item_id: str, *, reason: NotDeliveredReason, closed_on: date, note: str, today: date, seal: Seal
) -> list[EventPayload]:
    """Close a planned item without delivery, with a coded reason (once; not in the future)."""
    item = _item(plan, item_id)
    if item.status != "planned":
        raise DomainRuleViolated(f"item {item_id} is already {item.status}")
    if closed_on > today:
        raise InvalidInput(f"date {closed_on} is in the future", field="closed_on")
    return [PlanItemNotDelivered(plan_id=plan.plan_id, person_id=plan.person_id, year=plan.year, item_id=item_id,
                                 reason=reason, closed_on=closed_on,
                                 sealed=seal({"note": note.strip()}) if note.strip() else {})]


def is_overdue(item: PlanItem, today: date) -> bool:
    """Still open after its due day."""
    return item.status == "planned" and item.due_on < today


@dataclass(frozen=True)
class ConfirmedItem:
    """One item of a proposal as the officer confirmed or changed it."""

    kind: PlanKind
    need: str
    description: str
    responsible_department: str
    due_on: date
    service_code: str | None = None


def confirm_proposal(
    plan: Plan | None,
    person: Person,
    *,
    year: int,
    items: Sequence[ConfirmedItem],
    services: Mapping[str, Service],
    known_departments: set[str],
    new_item_id: Callable[[], str],
    seal_for: Callable[[str], Seal],
) -> list[EventPayload]:
    """Draw the year's plan if there is none, then add every confirmed item: all of them or none.

    A bad item is refused naming it (``items.<n>.<field>``), and nothing of the proposal is kept.
    """
    if not items:
        raise InvalidInput("a proposal needs at least one item to confirm", field="items")
    events: list[EventPayload] = []
    if plan is None:
        events = draw(None, person, year=year)
        plan = evolve(None, events[0])
    for n, confirmed in enumerate(items):
        try:
            service = None
            if confirmed.service_code is not None:
                service = services.get(confirmed.service_code)
                if service is None:
                    raise InvalidInput(f"no service {confirmed.service_code!r} in the catalogue", field="service_code")
            item_id = new_item_id()
            added = add_item(plan, item_id=item_id, kind=confirmed.kind, need=confirmed.need,
                             description=confirmed.description, responsible_department=confirmed.responsible_department,
                             due_on=confirmed.due_on, known_departments=known_departments, seal=seal_for(item_id),
                             service=service)
        except InvalidInput as error:
            raise InvalidInput(f"item {n}: {error.message}", field=f"items.{n}.{error.field or 'item'}") from None
        for event in added:
            plan = evolve(plan, event)
        events.extend(added)
    return events
