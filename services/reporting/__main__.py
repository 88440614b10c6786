"""Command line of the reporting service: ``python -m services.reporting --help``."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.reporting.bootstrap import build_app, build_runtime
from services.reporting.read_models import PROJECTIONS
from services.reporting.settings import ReportingSettings
from shared.cli import offline, run, serve
from shared.rebuild import RebuildReport, rebuild

cli = typer.Typer(help="Qingdan reporting service", no_args_is_help=True, add_completion=False)


@cli.command("serve")
def serve_command() -> None:
    """Serve HTTP and keep the read models up to date (settings from QD_* variables)."""
    settings = ReportingSettings()
    serve(lambda: build_app(settings), settings)


@cli.command("rebuild")
def rebuild_command(
    projection: str = typer.Argument(..., help=f"One of: {', '.join(PROJECTIONS)}"),
    check: bool = typer.Option(False, "--check", help="Compare with the live model; change nothing"),
) -> None:
    """Recompute a read model from its source stream, from scratch, while the old one keeps serving."""
    if projection not in PROJECTIONS:
        typer.secho(f"error: unknown read model {projection!r}; known: {', '.join(PROJECTIONS)}", err=True,
                    fg=typer.colors.RED)
        raise typer.Exit(2)
    settings = ReportingSettings()

    async def go() -> RebuildReport:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn()) as bar:
            task = bar.add_task(f"replaying {projection}", total=None)

            def progress(done: int, total: int) -> None:
                if done % 500 == 0 or done == total:
                    bar.update(task, completed=done, total=total)

            async with offline(build_runtime(settings)) as runtime:
                return await rebuild(runtime.engine, PROJECTIONS[projection], nats_url=settings.nats_url,
                                     namespace=settings.namespace, check=check, progress=progress,
                                     keyring=settings.load_keyring())

    report = run(go())
    rows = ", ".join(f"{k}={v}" for k, v in report.rows.items())
    typer.echo(f"{report.projection}: {report.events} events up to stream position {report.position}; rows: {rows}")
    if check:
        for difference in report.differences:
            typer.secho(difference, fg=typer.colors.RED)
        if report.differences:
            raise typer.Exit(1)
        typer.secho("the live read model matches a rebuild from the stream", fg=typer.colors.GREEN)
    else:
        typer.secho("read model replaced", fg=typer.colors.GREEN)


if __name__ == "__main__":
    cli()
