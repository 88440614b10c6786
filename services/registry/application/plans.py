"""Use cases on personal plans (一人一策) and their items."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.application import commands as c
from services.registry.application.deps import RegistryDeps
from services.registry.application.lookups import department_codes
from services.registry.application.persons import WRITERS, load_person
from services.registry.domain import plan as domain
from shared.aggregate import fold
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.errors import NotFound
from shared.eventstore import Stream
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id


async def load_plan(
    conn: AsyncConnection | UnitOfWork, deps: RegistryDeps, person_id: str, year: int
) -> tuple[Stream, domain.Plan | None]:
    """A plan's stream and state (None if not drawn yet)."""
    stream = await deps.store.load(conn, domain.plan_stream_id(person_id, year))
    return stream, fold(domain.evolve, stream.payloads)


async def _existing(uow: UnitOfWork, deps: RegistryDeps, person_id: str, year: int) -> tuple[Stream, domain.Plan]:
    stream, plan = await load_plan(uow, deps, person_id, year)
    if plan is None:
        raise NotFound(f"person {person_id} has no plan for {year}")
    return stream, plan


async def _append(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, stream: Stream,
    events: Sequence[EventPayload], expected_version: int | None,
) -> dict[str, object]:
    envelopes = await deps.store.append(uow, stream, events, deps.context(principal),
                                        expected_version=expected_version)
    return {"plan_id": stream.stream_id, "version": envelopes[-1].stream_version if envelopes else stream.version}


async def draw_plan(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int
) -> dict[str, object]:
    """Open a person's plan for a year."""
    principal.require(*WRITERS, action="drawing up a plan")
    _, person = await load_person(uow, deps, person_id)
    principal.require_township(person.township_code, action="drawing up a plan")
    stream, plan = await load_plan(uow, deps, person_id, year)
    return await _append(uow, deps, principal, stream, domain.draw(plan, person, year=year), None)


async def add_item(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int, cmd: c.AddPlanItem
) -> dict[str, object]:
    """Add a protection-service or income-development item."""
    principal.require(*WRITERS, action="adding a plan item")
    stream, plan = await _existing(uow, deps, person_id, year)
    principal.require_township(plan.township_code, action="adding a plan item")
    item_id = new_id()
    events = domain.add_item(plan, item_id=item_id, kind=cmd.kind, need=cmd.need, description=cmd.description,
                             responsible_department=cmd.responsible_department, due_on=cmd.due_on,
                             known_departments=await department_codes(uow))
    result = await _append(uow, deps, principal, stream, events, cmd.expected_version)
    return {**result, "item_id": item_id}


async def deliver_item(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int, item_id: str,
    cmd: c.DeliverPlanItem,
) -> dict[str, object]:
    """Mark an item delivered: by its responsible department, the township, or the federation."""
    stream, plan = await _existing(uow, deps, person_id, year)
    item = plan.items.get(item_id)
    if item is None:
        raise NotFound(f"plan {plan.plan_id} has no item {item_id}")
    if not (principal.has(Role.DEPARTMENT_OFFICER) and principal.department == item.responsible_department):
        principal.require(*WRITERS, Role.DEPARTMENT_OFFICER, action="delivering a plan item")
        principal.require_township(plan.township_code, action="delivering a plan item")
    events = domain.deliver_item(plan, item_id, delivered_on=cmd.delivered_on, note=cmd.note, today=deps.today())
    return await _append(uow, deps, principal, stream, events, cmd.expected_version)


async def cancel_item(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int, item_id: str,
    cmd: c.CancelPlanItem,
) -> dict[str, object]:
    """Cancel an item, with a reason."""
    principal.require(*WRITERS, action="cancelling a plan item")
    stream, plan = await _existing(uow, deps, person_id, year)
    principal.require_township(plan.township_code, action="cancelling a plan item")
    events = domain.cancel_item(plan, item_id, reason=cmd.reason)
    return await _append(uow, deps, principal, stream, events, cmd.expected_version)
