"""Command line of the inspections service: ``python -m services.inspections --help``."""

from __future__ import annotations

import typer

from services.inspections.adapters.facts import FACTS
from services.inspections.adapters.tables import metadata
from services.inspections.bootstrap import CONSUMER_PREFIX, build_app
from services.inspections.settings import InspectionsSettings
from shared.cli import add_audit_commands, offline, run, serve
from shared.rebuild import RebuildReport, rebuild
from shared.runtime import ServiceRuntime

cli = typer.Typer(help="Qingdan inspections service", no_args_is_help=True, add_completion=False)
PROJECTIONS = {p.name: p for p in FACTS}


def _runtime(settings: InspectionsSettings) -> ServiceRuntime:
    return ServiceRuntime.build(settings, schema=(metadata,), publishes=False)


@cli.command("serve")
def serve_command() -> None:
    """Serve HTTP and learn templates, staff and persons from NATS (settings from QD_* variables)."""
    settings = InspectionsSettings()
    serve(lambda: build_app(settings), settings)


add_audit_commands(cli, InspectionsSettings, _runtime)


@cli.command("rebuild")
def rebuild_command(
    facts: str = typer.Argument(..., help=f"One of: {', '.join(PROJECTIONS)}"),
    check: bool = typer.Option(False, "--check", help="Compare with the live tables; change nothing"),
) -> None:
    """Recompute what this service learned from another service's stream (templates, directory, persons)."""
    if facts not in PROJECTIONS:
        typer.secho(f"error: unknown facts {facts!r}; known: {', '.join(PROJECTIONS)}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    settings = InspectionsSettings()

    async def go() -> RebuildReport:
        async with offline(_runtime(settings)) as runtime:
            return await rebuild(runtime.engine, PROJECTIONS[facts], nats_url=settings.nats_url,
                                 namespace=settings.namespace, check=check, prefix=CONSUMER_PREFIX,
                                 keyring=settings.load_keyring())

    report = run(go())
    rows = ", ".join(f"{k}={v}" for k, v in report.rows.items())
    typer.echo(f"{report.projection}: {report.events} events up to stream position {report.position}; rows: {rows}")
    for difference in report.differences:
        typer.secho(difference, fg=typer.colors.RED)
    if report.differences:
        raise typer.Exit(1)
    typer.secho("the live tables match a rebuild from the stream" if check else "facts replaced",
                fg=typer.colors.GREEN)


if __name__ == "__main__":
    cli()
