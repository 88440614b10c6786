"""Drive Alembic from code: upgrade, check, compare and write revisions for a service's trees.

Every function takes a SQLAlchemy *sync* connection already inside a transaction (the async
wrappers in ``shared.migrations`` provide one through ``run_sync``), so one migration run is
one transaction on PostgreSQL and on SQLite alike: it applies whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, inspect

from shared.migrations.trees import SCRIPT_DIR, VERSION_TABLE_PREFIX, Tree


class MigrationError(ValueError):
    """The database's schema is not one this code can run on (or cannot be migrated safely)."""


@dataclass(frozen=True)
class TreeStatus:
    """Where one tree of a database stands: ``current`` is None when never migrated."""

    tree: str
    current: str | None
    head: str | None
    versioned: bool

    @property
    def at_head(self) -> bool:
        """Whether the database has every revision of this tree."""
        return self.current == self.head


def _include_name(tree: Tree, trees: Sequence[Tree]) -> Callable[..., bool]:
    """Which reflected tables autogenerate compares for ``tree``: its own, never another tree's,
    never a version table; a table no model names only if the tree claims unknown tables."""
    own = tree.table_names()
    others = frozenset(name for t in trees if t is not tree for name in t.table_names())

    def include(name: str | None, type_: str, _parents: dict[str, Any]) -> bool:
        if type_ != "table" or name is None:
            return True
        if name in own:
            return True
        if name in others or name.startswith(VERSION_TABLE_PREFIX) or name == "alembic_version":
            return False
        return tree.claims_unknown
    return include


def _config(tree: Tree, connection: Connection, trees: Sequence[Tree]) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(tree.location))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes.update(connection=connection, tree=tree, include_name=_include_name(tree, trees))
    return config


def _script(config: Config) -> ScriptDirectory:
    return ScriptDirectory.from_config(config)


def _status(connection: Connection, tree: Tree, script: ScriptDirectory) -> TreeStatus:
    head = script.get_current_head()  # None only while a new tree has no revision yet
    versioned = inspect(connection).has_table(tree.version_table)
    current = None
    if versioned:
        context = MigrationContext.configure(connection, opts={"version_table": tree.version_table})
        current = context.get_current_revision()
    return TreeStatus(tree.name, current, head, versioned)


def status(connection: Connection, trees: Sequence[Tree]) -> list[TreeStatus]:
    """The revision each tree of the database is at, and the code's head revision."""
    return [_status(connection, tree, _script(_config(tree, connection, trees))) for tree in trees]


def baseline_tables(tree: Tree) -> frozenset[str]:
    """The tables the first revision of ``tree`` creates (its module's ``TABLES``)."""
    script = ScriptDirectory(str(SCRIPT_DIR), version_locations=[str(tree.location)])
    revision = script.get_revision(tree.base_revision)
    if revision is None:
        raise MigrationError(f"migration tree {tree.name} has no baseline {tree.base_revision}")
    return frozenset(revision.module.TABLES)


def upgrade(connection: Connection, trees: Sequence[Tree]) -> list[str]:
    """Bring every tree to its head; return what was done, one line per tree.

    A database made before migrations existed (tables created by ``create_all``, no version
    table) is *adopted*: if it has exactly the baseline's tables it is stamped at the baseline,
    then upgraded. One with only some of them is refused rather than guessed at.
    """
    done = []
    for tree in trees:
        config = _config(tree, connection, trees)
        before = _status(connection, tree, _script(config))
        adopted = False
        if not before.versioned and before.head is not None:
            expected = baseline_tables(tree)
            present = expected & set(inspect(connection).get_table_names())
            if present == expected:
                command.stamp(config, tree.base_revision)
                adopted = True
            elif present:
                raise MigrationError(
                    f"{tree.name}: the database has some of the tables of the first revision "
                    f"({', '.join(sorted(present))}) but not {', '.join(sorted(expected - present))} and no "
                    f"{tree.version_table} table; refusing to guess its schema")
        _check_known(tree, before.current, _script(config))
        command.upgrade(config, "head")
        after = _status(connection, tree, _script(config))
        note = " (adopted: tables made before migrations, stamped at the baseline)" if adopted else ""
        if before.current == after.current:
            done.append(f"{tree.name}: at {after.current}{note}")
        else:
            done.append(f"{tree.name}: {before.current or 'empty'} -> {after.current}{note}")
    return done


def _check_known(tree: Tree, current: str | None, script: ScriptDirectory) -> None:
    if current is None:
        return
    try:
        script.get_revision(current)
    except CommandError:
        raise MigrationError(
            f"{tree.name}: the database is at revision {current}, which this version of Qingdan does not "
            "know: a newer version migrated it; run that version (or restore the backup)") from None


def require_head(connection: Connection, trees: Sequence[Tree], service: str) -> None:
    """Raise :class:`MigrationError`, saying what to run, unless every tree is at its head."""
    behind = []
    for tree, state in zip(trees, status(connection, trees), strict=True):
        _check_known(tree, state.current, _script(_config(tree, connection, trees)))
        if not state.at_head:
            behind.append(f"{state.tree} at {state.current or 'nothing (never migrated)'}, code needs {state.head}")
    if behind:
        raise MigrationError(
            f"the {service} database is not at this version's schema ({'; '.join(behind)}): "
            f"run `python -m services.{service} migrate` first")


def compare(connection: Connection, trees: Sequence[Tree]) -> dict[str, list[Any]]:
    """What autogenerate would change, per tree (empty lists: models and migrations agree)."""
    found = {}
    for tree in trees:
        context = MigrationContext.configure(connection, opts={
            "version_table": tree.version_table, "compare_type": True,
            "include_name": _include_name(tree, trees), "target_metadata": list(tree.metadata)})
        metadata: Any = list(tree.metadata)  # alembic accepts a sequence of MetaData here
        found[tree.name] = compare_metadata(context, metadata)
    return found


def new_revision(connection: Connection, tree: Tree, trees: Sequence[Tree], message: str) -> Path | None:
    """Write the next revision of ``tree`` from what autogenerate finds (None: nothing to do).

    The database must be at head (the caller migrates a scratch database first).
    """
    config = _config(tree, connection, trees)
    number = len(list(_script(config).walk_revisions())) + 1

    def skip_empty(_context: MigrationContext, _revision: Any, directives: list[MigrationScript]) -> None:
        if directives and all(ops.is_empty() for ops in directives[0].upgrade_ops_list):
            directives[:] = []

    created = command.revision(config, message=message, autogenerate=True, rev_id=f"{tree.name}_{number:04d}",
                               process_revision_directives=skip_empty)
    scripts = created if isinstance(created, list) else [created]
    paths = [Path(s.path) for s in scripts if s is not None]
    return paths[0] if paths else None

