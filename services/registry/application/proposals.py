"""From needs to a plan: propose the year's plan items from the home visit, then confirm them at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.application import access
from services.registry.application import commands as c
from services.registry.application.deps import WRITERS, RegistryDeps
from services.registry.application.keys import wrapped_key
from services.registry.application.lookup_rows import PERSON, PLAN, SERVICE
from services.registry.application.lookups import department_codes
from services.registry.application.service_catalogue import catalogue
from services.registry.domain import plan as plan_domain
from services.registry.domain import proposal as domain
from services.registry.domain.service_catalogue import Service
from shared.auth import Principal
from shared.errors import DomainRuleViolated
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id


def _item(item: domain.ProposedItem) -> dict[str, Any]:
    return {"kind": item.kind, "need": item.need, "description": item.service_name_zh,
            "responsible_department": item.responsible_department, "due_on": item.due_on,
            "service_code": item.service_code}


async def propose(conn: AsyncConnection, deps: RegistryDeps, principal: Principal, person_id: str, year: int,
                  visit_id: str | None) -> dict[str, Any]:
    """The items the year's reached visit calls for, in the plan's two parts, ready to confirm.

    Each item has exactly the fields of a confirmed item (its description is the service's Chinese
    name), so a client can send them back as they are or edited; ``services`` names the services.
    """
    access.require(access.PROPOSALS, principal)
    person = await deps.repository.load(conn, PERSON, person_id)
    access.require_in_scope(access.PROPOSALS, principal, person.state.township_code)
    visit = domain.reached_visit(person.stream.payloads, year, visit_id)
    services = await catalogue(conn)
    proposal = domain.propose(visit.needs, visit.visited_on, services.values())
    plan = await deps.repository.find(conn, PLAN, plan_domain.plan_stream_id(person_id, year))
    proposed = [*proposal.protection, *proposal.income]
    return {
        "person_id": person_id, "year": year, "visit_id": visit.visit_id, "visited_on": visit.visited_on,
        "needs": list(visit.needs), "plan_version": plan.stream.version,
        "protection": [_item(i) for i in proposal.protection], "income": [_item(i) for i in proposal.income],
        "unanswered_needs": proposal.unanswered_needs,
        "services": {i.service_code: {"name_zh": i.service_name_zh, "name_en": i.service_name_en} for i in proposed},
    }


async def confirm(uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, year: int,
                  cmd: c.ConfirmProposal) -> dict[str, object]:
    """Add the confirmed items to the year's plan, drawing it if needed: one command, all or nothing."""
    principal.require(*WRITERS, action="confirming a plan proposal")
    person = await deps.repository.load(uow, PERSON, person_id)
    principal.require_township(person.state.township_code, action="confirming a plan proposal")
    plan = await deps.repository.find(uow, PLAN, plan_domain.plan_stream_id(person_id, year))
    services: dict[str, Service] = {}
    for code in {i.service_code for i in cmd.items if i.service_code}:
        # From the entry's stream, not the lookup row: an entry added earlier in the same batch counts.
        entry = await deps.repository.find(uow, SERVICE, code)
        if entry.state is not None:
            services[code] = entry.state
    key = await wrapped_key(uow, person_id)

    def seal_for(item_id: str) -> plan_domain.Seal:
        def seal(texts: dict[str, str]) -> dict[str, str]:
            if key is None:
                raise DomainRuleViolated(f"person {person_id}'s personal data was erased: no new text about them")
            return deps.vault.seal(key, person_id, texts, scope=f"item/{item_id}")
        return seal

    item_ids: list[str] = []

    def new_item_id() -> str:
        item_ids.append(new_id())
        return item_ids[-1]

    items = [plan_domain.ConfirmedItem(i.kind, i.need, i.description, i.responsible_department, i.due_on,
                                       i.service_code) for i in cmd.items]
    events = plan_domain.confirm_proposal(plan.state, person.state, year=year, items=items, services=services,
                                          known_departments=await department_codes(uow), new_item_id=new_item_id,
                                          seal_for=seal_for)
    saved = await deps.repository.save(uow, PLAN, plan, events, deps.context(principal),
                                       expected_version=cmd.expected_version)
    return {"plan_id": saved.stream_id, "version": saved.version, "item_ids": item_ids}
