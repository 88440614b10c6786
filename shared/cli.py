"""Helpers for service command lines: run use cases without HTTP, print errors as messages."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
import uvicorn

from shared.errors import QingdanError
from shared.eventstore.verify import verify_log
from shared.migrations import migrate, revision_files, schema_status, trees_for
from shared.observability import configure_logging
from shared.pii import PersonalDataError
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
