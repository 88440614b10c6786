"""Use cases on personal plans (一人一策) and their items."""

from __future__ import annotations

from collections.abc import Sequence

from services.registry.application import commands as c
from services.registry.application.deps import WRITERS, RegistryDeps
from services.registry.application.keys import wrapped_key
from services.registry.application.lookup_rows import PERSON, PLAN, SERVICE
from services.registry.application.lookups import department_codes
from services.registry.domain import plan as domain
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.errors import DomainRuleViolated, InvalidInput, NotFound
from shared.eventstore.repository import Loaded
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id


async def _existing(uow: UnitOfWork, deps: RegistryDeps, person_id: str, year: int) -> Loaded[domain.Plan]:
    return await deps.repository.load(uow, PLAN, domain.plan_stream_id(person_id, year),
                                      missing=f"person {person_id} has no plan for {year}")


async def _sealer(uow: UnitOfWork, deps: RegistryDeps, person_id: str, item_id: str) -> domain.Seal:
    """Seals an item's free texts with the person's key, bound to the item; once the person's data
    is erased there is no key, and a text for them is refused (an empty note needs none)."""
    key = await wrapped_key(uow, person_id)

    def seal(texts: dict[str, str]) -> dict[str, str]:
        if key is None:
            raise DomainRuleViolated(f"person {person_id}'s personal data was erased: no new text about them")
        return deps.vault.seal(key, person_id, texts, scope=f"item/{item_id}")
    return seal


async def _save(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, plan: Loaded[domain.Plan | None],
    events: Sequence[EventPayload], expected_version: int | None,
) -> dict[str, object]:
    saved = await deps.repository.save(uow, PLAN, plan, events, deps.context(principal),
                                       expected_version=expected_version)
    return {"plan_id": plan.stream.stream_id, "version": saved.version}


async def draw_plan(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int
) -> dict[str, object]:
    """Open a person's plan for a year."""
    principal.require(*WRITERS, action="drawing up a plan")
    person = await deps.repository.load(uow, PERSON, person_id)
    principal.require_township(person.state.township_code, action="drawing up a plan")
    plan = await deps.repository.find(uow, PLAN, domain.plan_stream_id(person_id, year))
    return await _save(uow, deps, principal, plan, domain.draw(plan.state, person.state, year=year), None)


async def add_item(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int, cmd: c.AddPlanItem
) -> dict[str, object]:
    """Add a protection-service or income-development item."""
    principal.require(*WRITERS, action="adding a plan item")
    plan = await _existing(uow, deps, person_id, year)
    principal.require_township(plan.state.township_code, action="adding a plan item")
    item_id = new_id()
    service = None
    if cmd.service_code is not None:
        entry = await deps.repository.find(uow, SERVICE, cmd.service_code)
        if entry.state is None:
            raise InvalidInput(f"no service {cmd.service_code!r} in the catalogue", field="service_code")
        service = entry.state
    events = domain.add_item(plan.state, item_id=item_id, kind=cmd.kind, need=cmd.need,
                             description=cmd.description, responsible_department=cmd.responsible_department,
                             due_on=cmd.due_on, known_departments=await department_codes(uow),
                             seal=await _sealer(uow, deps, person_id, item_id), service=service)
    result = await _save(uow, deps, principal, plan, events, cmd.expected_version)
    return {**result, "item_id": item_id}


async def _followed_up(uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int,
                       item_id: str, action: str) -> Loaded[domain.Plan]:
    """The plan of an item that its responsible department, the township or the federation follows up."""
    plan = await _existing(uow, deps, person_id, year)
    item = plan.state.items.get(item_id)
    if item is None:
        raise NotFound(f"plan {plan.state.plan_id} has no item {item_id}")
    if not (principal.has(Role.DEPARTMENT_OFFICER) and principal.department == item.responsible_department):
        principal.require(*WRITERS, Role.DEPARTMENT_OFFICER, action=action)
        principal.require_township(plan.state.township_code, action=action)
    return plan


async def deliver_item(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int, item_id: str,
    cmd: c.DeliverPlanItem,
) -> dict[str, object]:
    """Mark an item delivered: by its responsible department, the township, or the federation."""
    plan = await _followed_up(uow, deps, principal, person_id, year, item_id, "delivering a plan item")
    events = domain.deliver_item(plan.state, item_id, delivered_on=cmd.delivered_on, note=cmd.note,
                                 today=deps.today(), seal=await _sealer(uow, deps, person_id, item_id))
    return await _save(uow, deps, principal, plan, events, cmd.expected_version)


async def record_not_delivered(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int, item_id: str,
    cmd: c.RecordNonDelivery,
) -> dict[str, object]:
    """Close an item without delivery, with a coded reason: by whoever may deliver it."""
    plan = await _followed_up(uow, deps, principal, person_id, year, item_id, "closing a plan item undelivered")
    events = domain.record_not_delivered(plan.state, item_id, reason=cmd.reason, closed_on=cmd.closed_on,
                                         note=cmd.note, today=deps.today(),
                                         seal=await _sealer(uow, deps, person_id, item_id))
    return await _save(uow, deps, principal, plan, events, cmd.expected_version)


async def cancel_item(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int, item_id: str,
    cmd: c.CancelPlanItem,
) -> dict[str, object]:
    """Cancel an item, with a reason."""
    principal.require(*WRITERS, action="cancelling a plan item")
    plan = await _existing(uow, deps, person_id, year)
    principal.require_township(plan.state.township_code, action="cancelling a plan item")
    events = domain.cancel_item(plan.state, item_id, reason=cmd.reason,
                                seal=await _sealer(uow, deps, person_id, item_id))
    return await _save(uow, deps, principal, plan, events, cmd.expected_version)
