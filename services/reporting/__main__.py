"""Command line of the reporting service: ``python -m services.reporting --help``."""

from __future__ import annotations

import typer

from services.reporting.access import markdown_table
from services.reporting.bootstrap import build_app, build_runtime
from services.reporting.read_models import PROJECTIONS
from services.reporting.settings import ReportingSettings
from shared.cli import add_migrate_command, add_rebuild_command, serve
from shared.messaging.feeds import ProjectionSet
from shared.runtime import ServiceRuntime

cli = typer.Typer(help="Qingdan reporting service", no_args_is_help=True, add_completion=False)


@cli.command("serve")
def serve_command() -> None:
    """Serve HTTP and keep the read models up to date (settings from QD_* variables)."""
    settings = ReportingSettings()
    serve(lambda: build_app(settings), settings)


def _projections() -> tuple[ProjectionSet, ServiceRuntime]:
    return PROJECTIONS, build_runtime(ReportingSettings())


add_rebuild_command(cli, _projections, PROJECTIONS.names)


@cli.command("access-table")
def access_table() -> None:
    """Print the table of who may read what (docs/reporting.md holds it; a test checks they agree)."""
    typer.echo(markdown_table())

add_migrate_command(cli, lambda: build_runtime(ReportingSettings()))


if __name__ == "__main__":
    cli()
