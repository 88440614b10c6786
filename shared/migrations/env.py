"""Alembic's environment for every Qingdan migration tree.

Alembic runs this file for each command. It never opens a connection of its own: the caller
(``shared.migrations.runner``) passes the connection, the tree and what to compare in
``config.attributes``, so that the service's engine (and, on SQLite, its single-writer
transaction) is the one that migrates.
"""

from __future__ import annotations

from alembic import context

from shared.migrations.trees import Tree

config = context.config
if context.is_offline_mode():
    raise SystemExit("Qingdan migrations run against a database: use `python -m services.<name> migrate`")

tree: Tree = config.attributes["tree"]
context.configure(
    connection=config.attributes["connection"],
    target_metadata=list(tree.metadata),
    version_table=tree.version_table,
    include_name=config.attributes["include_name"],
    # SQLite cannot ALTER most things: batch mode copies the table; on PostgreSQL it is a plain ALTER.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
