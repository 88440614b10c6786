"""Helpers for service command lines: run use cases without HTTP, print errors as messages."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import nats
import typer
import uvicorn

from shared.errors import QingdanError
from shared.eventstore.lookup_check import LookupRows, check_lookup_rows
from shared.eventstore.verify import verify_log
from shared.messaging.audit import compare_with_stream
from shared.messaging.streams import declare_streams
from shared.observability import configure_logging
from shared.pii import PersonalDataError
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

T = TypeVar("T")
S = TypeVar("S", bound=ServiceSettings)


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


def verify_command(runtime: ServiceRuntime, *, lookups: Sequence[LookupRows] = (), offline: bool = False) -> None:
    """Check the log (chain and signatures), the lookup tables against the events and, unless
    ``offline``, the log against the JetStream stream; print the first problem and exit 2 if any."""
    settings = runtime.settings
    keyring = settings.load_keyring()

    async def go() -> tuple[list[str], list[str]]:
        checked, problems = await verify_log(runtime.engine, keyring=keyring)
        summary = [f"{checked} events: hash chain and signatures"]
        if not offline:
            nc = await nats.connect(settings.nats_url, connect_timeout=5, allow_reconnect=False)
            try:
                read, stream_problems = await compare_with_stream(
                    runtime.engine, nc, namespace=settings.namespace, service=settings.service,
                    source=runtime.store.source, keyring=keyring)
            finally:
                await nc.close()
            problems += stream_problems
            summary.append(f"{read} JetStream messages against the log")
        # Rows last: they are recomputed from the events, which must be trusted first.
        rows, row_problems = await check_lookup_rows(runtime.engine, lookups)
        problems += row_problems
        if lookups:
            summary.append(f"{rows} rows of {', '.join(lookup.table.name for lookup in lookups)} against their events")
        await runtime.engine.dispose()
        return summary, problems

    summary, problems = run(go())
    if problems:
        typer.secho(f"first problem: {problems[0]}", fg=typer.colors.RED)
        for problem in problems[1:]:
            typer.secho(problem, fg=typer.colors.RED)
        typer.secho(f"{len(problems)} problem(s); checked " + "; ".join(summary), fg=typer.colors.RED)
        sys.exit(2)
    typer.secho("intact: " + "; ".join(summary), fg=typer.colors.GREEN)


def add_audit_commands(
    cli: typer.Typer, settings: Callable[[], S], runtime: Callable[[S], ServiceRuntime],
    *, lookups: Sequence[LookupRows] = (),
) -> None:
    """Give a writing service's command line ``verify``, ``streams`` and ``signing-key``."""

    @cli.command("verify")
    def verify(offline: bool = typer.Option(
            False, "--offline", help="Skip the comparison with the JetStream stream (no NATS needed)")) -> None:
        """Check this instance's log: hash chain, signatures, lookup tables, and the JetStream copy.
        Prints the first problem and exits 2 if anything was altered, added or removed."""
        verify_command(runtime(settings()), lookups=lookups, offline=offline)

    @cli.command("streams")
    def streams() -> None:
        """Operator step: create or update this service's stream (deny-delete, deny-purge). Run it
        with the operator's NATS user: service identities may not."""
        current = settings()
        [name] = run(declare_streams(current.nats_url, current.namespace, [current.service],
                                     replicas=current.stream_replicas))
        typer.echo(f"stream {name} ready (deny-delete, deny-purge, {current.stream_replicas} replica(s))")

    @cli.command("signing-key")
    def signing_key() -> None:
        """Print this instance's public key file, for the other departments' trust folders."""
        current = settings()
        typer.echo(current.load_signer().public(current.service, current.department, current.signs_for()).to_json())
