"""Use cases on persons (their visits: ``visits.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services.registry.adapters.tables import person_keys, resident_index
from services.registry.application import commands as c
from services.registry.application.deps import WRITERS, RegistryDeps
from services.registry.application.keys import wrapped_key
from services.registry.application.lookup_rows import PERSON
from services.registry.application.lookups import claim_resident_index, village_township
from services.registry.domain import person as domain
from services.registry.domain.certificate import Certificate, InvalidCertificate, validate_certificate_number
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.errors import InvalidInput
from shared.eventstore.repository import Repository
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id


def _certificate(value: str, deps: RegistryDeps) -> Certificate:
    try:
        return validate_certificate_number(value, today=deps.today())
    except InvalidCertificate as exc:
        raise InvalidInput(exc.message, field="certificate_number") from None


async def register_person(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, cmd: c.RegisterPerson
) -> dict[str, object]:
    """Register a person: validate the certificate, seal personal data, refuse duplicates."""
    principal.require(*WRITERS, action="registering a person")
    certificate = _certificate(cmd.certificate_number, deps)
    township = await village_township(uow, cmd.village_code)
    principal.require_township(township, action="registering a person")
    person_id = new_id()
    await claim_resident_index(uow, deps.vault.blind_index(certificate.resident_id.value), person_id)
    _data_key, wrapped = deps.vault.new_subject(person_id)
    sealed = deps.vault.seal(wrapped, person_id, {
        "certificate_number": certificate.value, "name": cmd.name, "address": cmd.address,
    })
    await uow.insert(person_keys, {"person_id": person_id, "wrapped_key": wrapped, "erased_at": None})
    events = domain.register(
        person_id=person_id, certificate=certificate, sealed=sealed,
        village_code=cmd.village_code, township_code=township, hardship=cmd.hardship,
        severe_rule=deps.severe_rule, registered_on=cmd.registered_on or deps.today(),
    )
    saved = await deps.repository.save(uow, PERSON, Repository.new(PERSON, person_id), events,
                                       deps.context(principal), expected_version=None)
    return {"person_id": person_id, "version": saved.version}


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
    person = await deps.repository.load(uow, PERSON, person_id)
    principal.require_township(person.state.township_code, action=action)
    events = await decide(person.state)
    saved = await deps.repository.save(uow, PERSON, person, events, deps.context(principal),
                                       expected_version=cmd.expected_version)
    return {"person_id": person_id, "version": saved.version}


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
        owner = await uow.find(resident_index, resident_index=deps.vault.blind_index(certificate.resident_id.value))
        if owner is None or owner["person_id"] != person_id:
            raise InvalidInput("the new certificate number belongs to a different resident ID",
                               field="certificate_number")
        key = await wrapped_key(uow, person_id)
        sealed = deps.vault.seal(key, person_id, {"certificate_number": certificate.value}) if key else {}
        return domain.reassess(person, certificate=certificate, sealed=sealed,
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
        await uow.update(person_keys, {"person_id": person_id},
                   {"wrapped_key": None, "erased_at": deps.context(principal).now})
        # The blind index goes too (overwritten with a value no ID hashes to): nothing finds the
        # person by their ID any more, and the ID may be registered again as a new person.
        await uow.update(resident_index, {"person_id": person_id}, {"resident_index": f"erased:{person_id}"})
        deps.vault.forget(person_id)
        return domain.erase_personal_data(person)
    return await _change(uow, deps, principal, person_id, cmd, "erasing personal data", decide)
