"""What the inspections service learns from other services' events, as pure projections.

One durable consumer per source stream (``inspections-from-registry``, ``inspections-from-checklists``)
feeds them, each with its own checkpoint (``inspections-<name>``); ``python -m services.inspections
rebuild NAME [--check]`` recomputes one. The write side reads their tables through
``application/known.py``.
"""

from __future__ import annotations

from services.inspections.projections.directory import DIRECTORY
from services.inspections.projections.persons import PERSONS
from services.inspections.projections.templates import TEMPLATES
from shared.messaging.feeds import ProjectionSet
from shared.staff import STAFF_DIRECTORY

PROJECTIONS = ProjectionSet(prefix="inspections", projections=(TEMPLATES, DIRECTORY, PERSONS,
                                                                 STAFF_DIRECTORY))
"""Every projection of other services' facts."""
