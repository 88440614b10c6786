"""Use cases on persons and their home visits."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence

from services.registry.adapters.tables import person_keys, persons, resident_index
from services.registry.application import commands as c
from services.registry.application.deps import RegistryDeps
from services.registry.application.lookups import village_township
from services.registry.domain import person as domain
from services.registry.domain.certificate import Certificate, InvalidCertificate, validate_certificate_number
from shared.aggregate import fold
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.catalogue.people import PersonRegistered
from shared.errors import AlreadyExists, InvalidInput, NotFound
from shared.eventstore import Stream
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id

WRITERS = (Role.FEDERATION_ADMIN, Role.TOWNSHIP_OFFICER)


def person_stream_id(person_id: str) -> str:
    """The stream holding one person's events."""
    return f"person-{person_id}"


def _certificate(value: str, deps: RegistryDeps) -> Certificate:
    try:
        return validate_certificate_number(value, today=deps.today())
    except InvalidCertificate as exc:
        raise InvalidInput(exc.message, field="certificate_number") from None


async def load_person(uow: UnitOfWork, deps: RegistryDeps, person_id: str) -> tuple[Stream, domain.Person]:
    """A person's stream and folded state; 404 if there is no such person."""
    stream = await deps.store.load(uow, person_stream_id(person_id))
    state = fold(domain.evolve, stream.payloads)
    if state is None:
        raise NotFound(f"no person {person_id}")
    return stream, state


async def wrapped_key(uow: UnitOfWork, person_id: str) -> bytes | None:
    """The person's wrapped data key, or None once erased."""
    row = await uow.find(person_keys, person_id=person_id)
    value = row["wrapped_key"] if row else None
    return bytes(value) if value is not None else None


async def _claim_resident(uow: UnitOfWork, index: str, person_id: str) -> None:
    row = await uow.find(resident_index, resident_index=index)
    owner = row["person_id"] if row else None
    if owner is not None and owner != person_id:
        raise AlreadyExists(f"this resident ID is already registered (person {owner})", field="certificate_number")
    if owner is None:
        uow.insert(resident_index, {"resident_index": index, "person_id": person_id})


async def register_person(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, cmd: c.RegisterPerson
) -> dict[str, object]:
    """Register a person: validate the certificate, seal personal data, refuse duplicates."""
    principal.require(*WRITERS, action="registering a person")
    certificate = _certificate(cmd.certificate_number, deps)
    township = await village_township(uow, cmd.village_code)
    principal.require_township(township, action="registering a person")
    person_id = new_id()
    index = deps.vault.blind_index(certificate.resident_id.value)
    await _claim_resident(uow, index, person_id)
    _data_key, wrapped = deps.vault.new_subject(person_id)
    sealed = deps.vault.seal(wrapped, person_id, {
        "certificate_number": certificate.value, "name": cmd.name, "address": cmd.address,
    })
    uow.insert(person_keys, {"person_id": person_id, "wrapped_key": wrapped, "erased_at": None})
    events = domain.register(
        person_id=person_id, certificate=certificate, resident_index=index, sealed=sealed,
        village_code=cmd.village_code, township_code=township, hardship=cmd.hardship,
        severe_rule=deps.severe_rule, registered_on=cmd.registered_on or deps.today(),
    )
    stream = Stream(person_stream_id(person_id), 0, "", [])
    return await _commit(uow, deps, principal, stream, None, events)


async def _commit(
    uow: UnitOfWork,
    deps: RegistryDeps,
    principal: Principal,
    stream: Stream,
    before: domain.Person | None,
    events: Sequence[EventPayload],
    expected_version: int | None = None,
) -> dict[str, object]:
    envelopes = await deps.store.append(uow, stream, events, deps.context(principal),
                                        expected_version=expected_version)
    state = before
    for event in events:
        state = domain.evolve(state, event)
    assert state is not None
    version = envelopes[-1].stream_version if envelopes else stream.version
    sealed: dict[str, str] = {}
    for event in [*stream.payloads, *events]:  # later sealed values replace earlier ones
        sealed.update(getattr(event, "sealed", None) or {})
    _save_row(uow, state, version, sealed, events, is_new=before is None)
    return {"person_id": state.person_id, "version": version}


def _save_row(
    uow: UnitOfWork, state: domain.Person, version: int, sealed: dict[str, str], events: Sequence[EventPayload],
    *, is_new: bool,
) -> None:
    values: dict[str, object] = {
        "version": version, "township_code": state.township_code, "village_code": state.village_code,
        "category": state.category, "grade": state.grade, "severe": state.severe,
        "hardship": ",".join(state.hardship), "active": state.active, "erased": state.erased,
        "sealed": "{}" if state.erased else json.dumps(sealed),
    }
    if is_new:
        registered = next(e for e in events if isinstance(e, PersonRegistered))
        uow.insert(persons, {"person_id": state.person_id, "sex": state.sex, "birth_year": state.birth_year,
                             "registered_on": registered.registered_on, **values})
    else:
        uow.update(persons, {"person_id": state.person_id}, values)


async def _change(
    uow: UnitOfWork,
    deps: RegistryDeps,
    principal: Principal,
    person_id: str,
    cmd: c.VersionedCommand,
    action: str,
    decide: Callable[[domain.Person], Awaitable[list[EventPayload]]],
) -> dict[str, object]:
    principal.require(*WRITERS, action=action)
    stream, person = await load_person(uow, deps, person_id)
    principal.require_township(person.township_code, action=action)
    events = await decide(person)
    return await _commit(uow, deps, principal, stream, person, events, cmd.expected_version)


async def correct_person(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: c.CorrectPerson
) -> dict[str, object]:
    """Correct name and/or address."""
    async def decide(person: domain.Person) -> list[EventPayload]:
        fields = {k: v for k, v in (("name", cmd.name), ("address", cmd.address)) if v is not None}
        key = await wrapped_key(uow, person_id)
        sealed = deps.vault.seal(key, person_id, fields) if key and fields else {}
        return domain.correct(person, sealed=sealed, fields=sorted(fields))
    return await _change(uow, deps, principal, person_id, cmd, "correcting a person", decide)


async def relocate_person(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: c.RelocatePerson
) -> dict[str, object]:
    """Move a person to another village (the officer of the township they leave does it)."""
    async def decide(person: domain.Person) -> list[EventPayload]:
        township = await village_township(uow, cmd.village_code)
        key = await wrapped_key(uow, person_id)
        sealed = deps.vault.seal(key, person_id, {"address": cmd.address}) if key and cmd.address else {}
        return domain.relocate(person, village_code=cmd.village_code, township_code=township, sealed=sealed)
    return await _change(uow, deps, principal, person_id, cmd, "relocating a person", decide)


async def reassess_person(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: c.ReassessPerson
) -> dict[str, object]:
    """Record a new category/grade from a new certificate number with the same resident ID."""
    async def decide(person: domain.Person) -> list[EventPayload]:
        certificate = _certificate(cmd.certificate_number, deps)
        index = deps.vault.blind_index(certificate.resident_id.value)
        if index != person.resident_index:
            raise InvalidInput("the new certificate number belongs to a different resident ID",
                               field="certificate_number")
        key = await wrapped_key(uow, person_id)
        sealed = deps.vault.seal(key, person_id, {"certificate_number": certificate.value}) if key else {}
        return domain.reassess(person, certificate=certificate, resident_index=index, sealed=sealed,
                               severe_rule=deps.severe_rule)
    return await _change(uow, deps, principal, person_id, cmd, "re-assessing a person", decide)


async def set_hardship(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: c.SetHardship
) -> dict[str, object]:
    """Replace the hardship flags."""
    async def decide(person: domain.Person) -> list[EventPayload]:
        return domain.set_hardship(person, cmd.hardship)
    return await _change(uow, deps, principal, person_id, cmd, "setting hardship flags", decide)


async def deregister_person(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: c.DeregisterPerson
) -> dict[str, object]:
    """Take a person off the register."""
    async def decide(person: domain.Person) -> list[EventPayload]:
        return domain.deregister(person, reason=cmd.reason, effective_on=cmd.effective_on or deps.today())
    return await _change(uow, deps, principal, person_id, cmd, "deregistering a person", decide)


async def erase_person(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: c.VersionedCommand
) -> dict[str, object]:
    """Crypto-shred: destroy the person's data key; the log stays, its sealed fields become unreadable."""
    principal.require(Role.FEDERATION_ADMIN, action="erasing personal data")

    async def decide(person: domain.Person) -> list[EventPayload]:
        uow.update(person_keys, {"person_id": person_id},
                   {"wrapped_key": None, "erased_at": deps.context(principal).now})
        deps.vault.forget(person_id)
        return domain.erase_personal_data(person)
    return await _change(uow, deps, principal, person_id, cmd, "erasing personal data", decide)


async def record_visit(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: c.RecordVisit
) -> dict[str, object]:
    """Record the annual home visit with its coded needs and the three answers (sealed)."""
    async def decide(person: domain.Person) -> list[EventPayload]:
        key = await wrapped_key(uow, person_id)
        answers = {k: v for k, v in (("what_they_need", cmd.what_they_need),
                                     ("what_they_can_do", cmd.what_they_can_do),
                                     ("what_we_can_do", cmd.what_we_can_do)) if v}
        sealed = deps.vault.seal(key, person_id, answers) if key and answers else {}
        return domain.record_visit(person, visit_id=new_id(), visited_on=cmd.visited_on, visitor=principal.staff_id,
                                   mode=cmd.mode, needs=cmd.needs, sealed_answers=sealed, today=deps.today())
    return await _change(uow, deps, principal, person_id, cmd, "recording a home visit", decide)
