"""Who may act here: every service's copy of the registry's staff, and the check on each token.

A token is signed, so any service can verify it alone; but a signature cannot say that its holder
has since been disabled, or moved to another role or township. Each service therefore keeps the
``staff_directory`` table (:mod:`shared.eventstore.tables`), a projection of the registry's staff
events (:data:`STAFF_DIRECTORY`, in each consuming service's ``ProjectionSet``, so that it is fed
and rebuilt like the service's other projections; the registry writes its own inline), and the
bearer dependency (:func:`shared.auth.current_principal`) refuses a token whose
staff is unknown, disabled, or holds other roles or another township than the token says.

Lookups are cached for :data:`CACHE_SECONDS`, so a change takes effect within that time plus the
consumer's lag (well inside a minute), at the cost of one primary-key read per staff member per
period. Misses are never cached: staff enrolled a moment ago can act as soon as their event lands.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.catalogue.people import StaffDisabled, StaffEnrolled, StaffRolesChanged
from shared.envelope import Envelope
from shared.errors import Unauthenticated
from shared.eventstore.tables import staff_directory
from shared.projection import Operation, Patch, Projection, Upsert

CACHE_SECONDS = 20.0
"""How long a looked-up staff record is trusted before it is read again."""


def directory_operations(event: EventPayload) -> Sequence[Operation]:
    """The staff directory's change for one staff event (pure; the registry applies it inline)."""
    match event:
        case StaffEnrolled():
            return [Upsert(staff_directory, {"staff_id": event.staff_id}, {
                "roles": json.dumps(sorted(event.roles)), "township_code": event.township_code, "active": True})]
        case StaffRolesChanged():
            return [Patch(staff_directory, {"staff_id": event.staff_id}, {
                "roles": json.dumps(sorted(event.roles)), "township_code": event.township_code})]
        case StaffDisabled():
            return [Patch(staff_directory, {"staff_id": event.staff_id}, {"active": False})]
    return []


def _changes(_envelope: Envelope, payload: EventPayload) -> Sequence[Operation]:
    return directory_operations(payload)


STAFF_DIRECTORY = Projection(
    name="staff_directory",
    source_service="registry",
    tables=(staff_directory,),
    reads=(StaffEnrolled, StaffRolesChanged, StaffDisabled),
    changes=_changes,
)
"""The registry's staff events as every other service's ``staff_directory`` rows."""


@dataclass(frozen=True)
class StaffRecord:
    """What the directory knows of one member of staff."""

    roles: frozenset[str]
    township_code: str | None
    active: bool


async def find_staff(conn: AsyncConnection, staff_id: str) -> StaffRecord | None:
    """The directory's row for ``staff_id``, if any."""
    row = (await conn.execute(select(staff_directory).where(staff_directory.c.staff_id == staff_id))).first()
    if row is None:
        return None
    return StaffRecord(roles=frozenset(json.loads(row.roles)), township_code=row.township_code,
                       active=bool(row.active))


class StaffDirectory:
    """The cached lookup the bearer dependency checks every token against."""

    def __init__(self, engine: AsyncEngine, *, cache_seconds: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, StaffRecord]] = {}

    async def lookup(self, staff_id: str) -> StaffRecord | None:
        """The record of ``staff_id``: from the cache if fresh, else from the table."""
        now = self._clock()
        cached = self._cache.get(staff_id)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        async with self._engine.connect() as conn:
            record = await find_staff(conn, staff_id)
        if record is None:
            self._cache.pop(staff_id, None)
        else:
            self._cache[staff_id] = (now, record)
        return record

    async def check(self, principal: Principal) -> None:
        """Raise :class:`Unauthenticated` unless the token's staff is known, active and unchanged."""
        record = await self.lookup(principal.staff_id)
        if record is None:
            raise Unauthenticated(f"staff {principal.staff_id} is not known to this service; sign in again")
        if not record.active:
            raise Unauthenticated(f"staff {principal.staff_id} is disabled")
        if record.roles != {r.value for r in principal.roles} or record.township_code != principal.township_code:
            raise Unauthenticated(f"the roles or township of {principal.staff_id} changed; sign in again")
