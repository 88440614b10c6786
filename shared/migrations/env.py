"""Alembic's environment for every Qingdan migration tree.

Alembic runs this file for each command. It never opens a connection of its own: the caller
(``shared.migrations.runner``) passes the connection, the tree and what to compare in
``config.attributes``, so that the service's engine (and, on SQLite, its single-writer
transaction) is the one that migrates.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.sql.elements import False_, True_

from shared.migrations.trees import Tree

config = context.config
if context.is_offline_mode():
    raise SystemExit("Qingdan migrations run against a database: use `python -m services.<name> migrate`")



def render_item(type_: str, obj: Any, _autogen_context: AutogenContext) -> str | Literal[False]:
    """Render ``server_default=false()`` as ``sa.false()``, not as the scratch database's ``'0'``
    (autogenerate runs on SQLite; PostgreSQL refuses an integer default for a boolean)."""
    if type_ == "server_default" and isinstance(getattr(obj, "arg", None), False_ | True_):
        return "sa.true()" if isinstance(obj.arg, True_) else "sa.false()"
    return False


tree: Tree = config.attributes["tree"]
context.configure(
    connection=config.attributes["connection"],
    target_metadata=list(tree.metadata),
    version_table=tree.version_table,
    include_name=config.attributes["include_name"],
    # SQLite cannot ALTER most things: batch mode copies the table; on PostgreSQL it is a plain ALTER.
    render_as_batch=True,
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
