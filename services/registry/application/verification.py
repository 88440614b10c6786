"""What ``verify`` checks the registry's lookup tables against: each row recomputed from events.

Only the ``persons`` table for now: it decides which township officer may read whom, so a moved
row is a leak. It is rebuilt exactly as the person use cases write it (``persons._save_row``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from services.registry.adapters.tables import persons
from services.registry.domain import person as domain
from shared.aggregate import fold
from shared.catalogue.people import PersonRegistered
from shared.eventstore.lookup_check import LookupRows
from shared.eventstore.store import RecordedEvent


def person_row(recorded: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """The ``persons`` row a person's stream implies."""
    state = fold(domain.evolve, [r.payload for r in recorded])
    registered = next((r.payload for r in recorded if isinstance(r.payload, PersonRegistered)), None)
    if state is None or registered is None:
        return None
    sealed: dict[str, str] = {}
    for r in recorded:  # later sealed values replace earlier ones
        sealed.update(getattr(r.payload, "sealed", None) or {})
    return {
        "person_id": state.person_id, "version": recorded[-1].envelope.stream_version,
        "township_code": state.township_code, "village_code": state.village_code,
        "category": state.category, "grade": state.grade, "severe": state.severe,
        "hardship": ",".join(state.hardship), "sex": state.sex, "birth_year": state.birth_year,
        "active": state.active, "erased": state.erased, "registered_on": registered.registered_on,
        "sealed": "{}" if state.erased else json.dumps(sealed),
    }


def _normalise(column: str, value: Any) -> Any:
    return json.loads(value) if column == "sealed" and isinstance(value, str) else value


LOOKUPS = (LookupRows(persons, "person", person_row, normalise=_normalise),)
"""The registry's lookup tables that ``verify`` recomputes from events."""
