"""A person's wrapped data key, read while deciding a command (the key itself is in no event)."""

from __future__ import annotations

from services.registry.adapters.tables import person_keys
from shared.eventstore.unit_of_work import UnitOfWork


async def wrapped_key(uow: UnitOfWork, person_id: str) -> bytes | None:
    """The person's wrapped data key, or None once erased."""
    row = await uow.find(person_keys, person_id=person_id)
    value = row["wrapped_key"] if row else None
    return bytes(value) if value is not None else None
