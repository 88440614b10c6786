"""Migration trees: which tables each Alembic history owns, where its revisions live.

A service's database holds two histories, each with its own version table so that they never
see each other's revisions: the event store's tables (``events``, ``outbox``, ``tracking``,
``dead_letters``; tree ``eventstore``, the same revisions in every service's database) and the
service's own tables (tree ``<service>``, revisions in ``services/<service>/migrations/``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData

from shared.eventstore.tables import metadata as eventstore_metadata

SCRIPT_DIR = Path(__file__).resolve().parent
"""Alembic's script directory: ``env.py`` and the template of new revisions, shared by every tree."""

VERSION_TABLE_PREFIX = "alembic_version_"


@dataclass(frozen=True)
class Tree:
    """One Alembic history: its name, the folder of its revisions and the models it must match.

    ``claims_unknown``: whether a table that no model of the database names counts as this tree's
    (so that autogenerate proposes dropping it). Only the service's own tree does; the event
    store's tree looks at its four tables alone.
    """

    name: str
    location: Path
    metadata: tuple[MetaData, ...]
    claims_unknown: bool = False

    @property
    def version_table(self) -> str:
        """The table recording this tree's revision, ``alembic_version_<name>``."""
        return f"{VERSION_TABLE_PREFIX}{self.name}"

    @property
    def base_revision(self) -> str:
        """The first revision: the schema as it was when migrations were introduced."""
        return f"{self.name}_0001"

    def table_names(self) -> frozenset[str]:
        """The tables of this tree's models."""
        return frozenset(name for metadata in self.metadata for name in metadata.tables)


EVENTSTORE = Tree("eventstore", SCRIPT_DIR / "eventstore", (eventstore_metadata,))


def service_tree(service: str, schema: tuple[MetaData, ...]) -> Tree:
    """The tree of ``service``'s own tables; its revisions live in ``services/<service>/migrations/``."""
    spec = importlib.util.find_spec(f"services.{service}")
    if spec is None or spec.origin is None:
        raise LookupError(f"no package services.{service}: cannot find its migrations")
    location = Path(spec.origin).resolve().parent / "migrations"
    if not location.is_dir():
        raise LookupError(f"services.{service} has no migrations folder ({location})")
    return Tree(service, location, schema, claims_unknown=True)


def trees_for(service: str, schema: tuple[MetaData, ...]) -> tuple[Tree, ...]:
    """Every tree of a service's database, in the order they are migrated.

    A runtime with no tables of its own (a test's, or a process that only publishes) has only the
    event store's tree.
    """
    if not schema:
        return (EVENTSTORE,)
    return (EVENTSTORE, service_tree(service, schema))
