"""Command line of the inspections service: ``python -m services.inspections --help``."""

from __future__ import annotations

import typer

from services.inspections.adapters.tables import metadata
from services.inspections.application.access import markdown_table
from services.inspections.application.lookup_rows import VERIFIED
from services.inspections.bootstrap import build_app
from services.inspections.projections import PROJECTIONS
from services.inspections.settings import InspectionsSettings
from shared.cli import add_audit_commands, add_migrate_command, add_rebuild_command, serve
from shared.messaging.feeds import ProjectionSet
from shared.runtime import ServiceRuntime

cli = typer.Typer(help="Qingdan inspections service", no_args_is_help=True, add_completion=False)


def _runtime(settings: InspectionsSettings) -> ServiceRuntime:
    return ServiceRuntime.build(settings, schema=(metadata,), publishes=False)


@cli.command("serve")
def serve_command() -> None:
    """Serve HTTP and learn templates, staff and persons from NATS (settings from QD_* variables)."""
    settings = InspectionsSettings()
    serve(lambda: build_app(settings), settings)


@cli.command("access-table")
def access_table() -> None:
    """Print the table of who may call which route (docs/inspections.md holds it; a test checks they agree)."""
    typer.echo(markdown_table())


add_audit_commands(cli, InspectionsSettings, _runtime, lookups=VERIFIED)


def _projections() -> tuple[ProjectionSet, ServiceRuntime]:
    return PROJECTIONS, _runtime(InspectionsSettings())


add_rebuild_command(cli, _projections, PROJECTIONS.names)

add_migrate_command(cli, lambda: _runtime(InspectionsSettings()))


if __name__ == "__main__":
    cli()
