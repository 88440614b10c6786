"""Command line of the checklists service: ``python -m services.checklists --help``."""

from __future__ import annotations

import typer

from services.checklists.application.access import markdown_table
from services.checklists.application.lookup_rows import VERIFIED
from services.checklists.bootstrap import build_app, build_deps, build_runtime
from services.checklists.projections import NAMES, projection_set
from services.checklists.settings import ChecklistsSettings
from shared.cli import add_audit_commands, add_migrate_command, add_rebuild_command, serve
from shared.messaging.feeds import ProjectionSet
from shared.runtime import ServiceRuntime

cli = typer.Typer(help="Qingdan checklists service (one instance per department)", no_args_is_help=True,
                  add_completion=False)


@cli.command("serve")
def serve_command() -> None:
    """Serve HTTP for the department in QD_DEPARTMENT (settings from QD_* environment variables)."""
    settings = ChecklistsSettings()
    serve(lambda: build_app(settings), settings)


@cli.command("access-table")
def access_table() -> None:
    """Print the table of who may call which route (docs/checklists.md holds it; a test checks they agree)."""
    typer.echo(markdown_table())


add_audit_commands(cli, ChecklistsSettings,
                   lambda settings: build_runtime(settings, publishes=False), lookups=VERIFIED)


add_migrate_command(cli, lambda: build_runtime(ChecklistsSettings(), publishes=False))


def _projections() -> tuple[ProjectionSet, ServiceRuntime]:
    settings = ChecklistsSettings()
    runtime = build_runtime(settings, publishes=False)
    return projection_set(build_deps(settings, runtime)), runtime


add_rebuild_command(cli, _projections, NAMES)

if __name__ == "__main__":
    cli()
