"""Helpers for service command lines: run use cases without HTTP, print errors as messages, the one
``migrate`` command of every service and the one ``rebuild NAME [--check]`` command of every service
that has projections."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
import uvicorn
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.errors import QingdanError
from shared.eventstore.verify import verify_log
from shared.messaging.feeds import ProjectionSet
from shared.migrations import migrate, revision_files, schema_status, trees_for
from shared.observability import configure_logging
from shared.pii import PersonalDataError
from shared.rebuild import RebuildReport, rebuild
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

T = TypeVar("T")


@asynccontextmanager
async def offline(runtime: ServiceRuntime) -> AsyncIterator[ServiceRuntime]:
    """The service's database and writer, without HTTP or NATS (a running relay publishes later)."""
    await runtime.create_schema()
    await runtime.executor.start()
    try:
        yield runtime
    finally:
        await runtime.executor.stop()
        await runtime.engine.dispose()


def run(coro: Awaitable[T]) -> T:
    """Run a coroutine; user errors become a message and exit code 1, never a traceback."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except (QingdanError, PersonalDataError, ValueError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.secho(f"error: cannot reach a server or file: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def serve(app_factory: Callable[[], object], settings: ServiceSettings) -> None:
    """Serve the HTTP app with uvicorn, logs structured."""
    configure_logging(settings.log_level, json=settings.log_json)
    uvicorn.run(app_factory(), host=settings.http_host, port=settings.http_port,  # type: ignore[arg-type]
                log_level=settings.log_level.lower(), access_log=False)


def verify_command(runtime: ServiceRuntime) -> None:
    """Check the hash chain of every stream; exit 2 if anything was altered or removed."""
    checked, problems = run(verify_log(runtime.engine))
    for problem in problems:
        typer.secho(problem, fg=typer.colors.RED)
    if problems:
        typer.secho(f"{len(problems)} problem(s) in {checked} events", fg=typer.colors.RED)
        sys.exit(2)
    typer.secho(f"log intact: {checked} events verified", fg=typer.colors.GREEN)


def migrate_command(runtime: ServiceRuntime, *, check: bool = False, new_revision: str | None = None) -> None:
    """Bring the service's database to this version's schema (the ``migrate`` command).

    ``check``: change nothing, exit 1 unless the database is at head. ``new_revision``: write the
    next revision of each tree whose models changed (compared on a scratch database; the
    configured one is not touched).
    """
    service, schema = runtime.settings.service, runtime.schema
    trees = trees_for(service, schema)

    async def go() -> tuple[list[str], bool]:
        try:
            if new_revision is not None:
                written = [f"wrote {path}" for path in await revision_files(service, schema, new_revision)]
                return written or ["the models match the migrations: nothing to write"], True
            if check:
                states = await schema_status(runtime.engine, trees)
                return [f"{s.tree}: at {s.current or 'nothing (never migrated)'}, head {s.head}" for s in states], all(
                    s.at_head for s in states)
            return await migrate(runtime.engine, trees), True
        finally:
            await runtime.engine.dispose()

    lines, ok = run(go())
    for line in lines:
        typer.echo(line)
    if not ok:
        typer.secho(f"not at head: run `python -m services.{service} migrate`", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)


def add_migrate_command(cli: typer.Typer, open_runtime: Callable[[], ServiceRuntime]) -> None:
    """Add ``migrate [--check] [--new-revision MESSAGE]`` to a service's CLI (see ``migrate_command``).

    ``open_runtime`` builds the service's runtime from its settings, without a relay; it is called
    only when the command runs, so ``--help`` needs no configuration.
    """

    @cli.command("migrate")
    def migrate_cli(
        check: bool = typer.Option(False, "--check", help="Change nothing; exit 1 unless the database is at head"),
        new_revision: str = typer.Option("", "--new-revision", metavar="MESSAGE",
                                         help="Developers: write a revision for the models' changes"),
    ) -> None:
        """Bring the database to this version's schema (run before `serve`; compose and the launcher do)."""
        migrate_command(open_runtime(), check=check, new_revision=new_revision or None)


def add_rebuild_command(
    cli: typer.Typer,
    open_projections: Callable[[], tuple[ProjectionSet, ServiceRuntime]],
    names: Sequence[str],
) -> None:
    """Add ``rebuild NAME [--check]`` to a service's CLI: recompute one projection from its source
    stream with a progress bar, then replace it (the old one serves until the swap) or compare.

    ``open_projections`` builds the service's projections and an offline runtime (no relay) from
    its settings; ``names`` are listed in ``--help``. Exit code 1 if ``--check`` finds differences,
    2 for an unknown name.
    """

    @cli.command("rebuild")
    def rebuild_command(
        name: str = typer.Argument(..., help=f"One of: {', '.join(names)}"),
        check: bool = typer.Option(False, "--check", help="Compare with the live tables; change nothing"),
    ) -> None:
        """Recompute a projection from its source stream, from scratch, while the old one keeps serving."""
        projections, runtime = open_projections()
        if name not in projections.names:
            typer.secho(f"error: unknown projection {name!r}; known: {', '.join(projections.names)}", err=True,
                        fg=typer.colors.RED)
            raise typer.Exit(2)
        projection = projections.named(name)
        settings = runtime.settings

        async def go() -> RebuildReport:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn()) as bar:
                task = bar.add_task(f"replaying {name}", total=None)

                def progress(done: int, total: int) -> None:
                    if done % 500 == 0 or done == total:
                        bar.update(task, completed=done, total=total)

                async with offline(runtime):
                    return await rebuild(runtime.engine, projection, prefix=projections.prefix,
                                         nats_url=settings.nats_url, namespace=settings.namespace, check=check,
                                         progress=progress, follow_up=projections.follow_ups.get(name))

        report = run(go())
        rows = ", ".join(f"{k}={v}" for k, v in report.rows.items())
        typer.echo(f"{report.projection}: {report.events} events up to stream position {report.position}; "
                   f"rows: {rows}")
        for difference in report.differences:
            typer.secho(difference, fg=typer.colors.RED)
        if report.differences:
            raise typer.Exit(1)
        typer.secho("the live projection matches a rebuild from the stream" if check else "projection replaced",
                    fg=typer.colors.GREEN)
