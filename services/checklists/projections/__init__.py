"""What a checklists instance learns from events: the registry's departments, and the other half of
its tasks and highlights from the other checklists instances (``projections/replica.py``).

One durable consumer per source stream (``checklists-<department>-from-registry``,
``checklists-<department>-from-checklists``) feeds them, each with its own checkpoint
(``checklists-<department>-<name>``): every instance consumes the same streams, and JetStream
durable names are per stream, so the names carry the instance's department.
``python -m services.checklists rebuild NAME [--check]`` recomputes one.
"""

from __future__ import annotations

from services.checklists.application.deps import ChecklistsDeps
from services.checklists.projections.departments import DEPARTMENTS
from services.checklists.projections.replica import NAME as REPLICA
from services.checklists.projections.replica import replica_follow_up, replica_projection
from shared.messaging.feeds import ProjectionSet
from shared.staff import STAFF_DIRECTORY

NAMES = (DEPARTMENTS.name, REPLICA, STAFF_DIRECTORY.name)
"""The projections of every instance, by name."""


def projection_set(deps: ChecklistsDeps) -> ProjectionSet:
    """This instance's projections (the replica depends on which departments it serves)."""
    return ProjectionSet(prefix=f"checklists-{deps.department}",
                         projections=(DEPARTMENTS, replica_projection(deps), STAFF_DIRECTORY),
                         follow_ups={REPLICA: replica_follow_up(deps)})
