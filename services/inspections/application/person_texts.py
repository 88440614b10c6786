"""Free texts about a person (focus-check notes, findings), sealed with a key kept per person.

Inspections keeps its own data key for each person it has written about (``person_note_keys``),
wrapped by the master key. When the registry erases the person, :func:`destroy_key` runs on its
``person.personal_data_erased`` event: every note and finding about them, in this service's log,
on the bus and in other services' read models, can then never be read again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.inspections.adapters.tables import person_note_keys
from services.inspections.domain.inspection import Seal
from shared.errors import DomainRuleViolated
from shared.eventstore.unit_of_work import UnitOfWork
from shared.pii import PersonalDataVault


async def sealer(uow: UnitOfWork, vault: PersonalDataVault, person_id: str | None, scope: str) -> Seal:
    """A :data:`Seal` for texts about ``person_id``, with their key found or created in this unit
    of work; ``scope`` (e.g. ``"inspection/<id>"``) binds the texts to where they were written.
    Once the person is erased it refuses any new text about them (409)."""
    key: bytes | None = None
    if person_id is not None:
        row = await uow.find(person_note_keys, person_id=person_id)
        if row is None:
            _data_key, key = vault.new_subject(person_id)
            await uow.insert(person_note_keys, {"person_id": person_id, "wrapped_key": key, "erased_at": None})
        elif row["wrapped_key"] is not None:
            key = bytes(row["wrapped_key"])

    def seal(about: str, texts: dict[str, str]) -> dict[str, str]:
        if about != person_id or key is None:
            raise DomainRuleViolated(f"person {about}'s personal data was erased: no new text about them")
        return vault.seal(key, about, texts, scope=scope)
    return seal


async def keys_of(conn: AsyncConnection, person_ids: set[str]) -> dict[str, bytes | None]:
    """The wrapped keys of persons (None: erased, or never written about)."""
    if not person_ids:
        return {}
    rows = await conn.execute(select(person_note_keys).where(person_note_keys.c.person_id.in_(person_ids)))
    return {r.person_id: bytes(r.wrapped_key) if r.wrapped_key is not None else None for r in rows}


def opened(vault: PersonalDataVault, keys: dict[str, bytes | None], person_id: str, scope: str,
           sealed: dict[str, str], name: str, clear: str) -> str | None:
    """A sealed text in clear; the legacy clear text if nothing is sealed; None once erased."""
    if not sealed:
        return clear
    texts = vault.open(keys.get(person_id), person_id, sealed, scope=scope)
    return None if texts is None else texts.get(name)


async def destroy_key(conn: AsyncConnection, person_id: str, at: datetime) -> None:
    """Crypto-shred: the person's texts here can never be read again."""
    await conn.execute(update(person_note_keys).where(person_note_keys.c.person_id == person_id)
                       .values(wrapped_key=None, erased_at=at))
