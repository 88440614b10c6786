"""Helpers for service command lines: run use cases without HTTP, print errors as messages, the one
``migrate`` command of every service and the one ``rebuild NAME [--check]`` command of every service
that has projections."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypeVar

import nats
import typer
import uvicorn
from nats.aio.msg import Msg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.envelope import Envelope
from shared.errors import QingdanError
from shared.eventstore.cutover import last_unsigned_position
from shared.eventstore.lookup_check import LookupRows, check_lookup_rows
from shared.eventstore.verify import verify_log
from shared.messaging.audit import compare_with_stream
from shared.messaging.connection import nats_servers
from shared.messaging.feeds import ProjectionSet
from shared.messaging.replay import replay, stream_last_sequence
from shared.messaging.streams import declare_streams
from shared.messaging.subjects import service_subjects, stream_name
from shared.migrations import migrate, revision_files, schema_status, trees_for
from shared.observability import configure_logging
from shared.pii import PersonalDataError
from shared.rebuild import RebuildReport, rebuild
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from shared.signing import CutOver, write_private

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
        if keyring.unsigned_before_cutover:  # accepted, and said: the auditor signed this history off
            summary.append(f"{keyring.unsigned_before_cutover} of them unsigned (before cut-over)")
        before = keyring.unsigned_before_cutover
        if not offline:
            nc = await nats.connect(servers=nats_servers(settings.nats_url), connect_timeout=5, allow_reconnect=False)
            try:
                read, stream_problems = await compare_with_stream(
                    runtime.engine, nc, namespace=settings.namespace, service=settings.service,
                    source=runtime.store.source, keyring=keyring)
            finally:
                await nc.close()
            problems += stream_problems
            summary.append(f"{read} JetStream messages against the log")
            if keyring.unsigned_before_cutover > before:
                summary.append(f"{keyring.unsigned_before_cutover - before} of them unsigned (before cut-over)")
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


async def record_cutover(runtime: ServiceRuntime, *, offline: bool = False) -> CutOver:
    """This instance's signing cut-over as things stand: its last unsigned event in its log, and
    its last unsigned message in the JetStream stream (none with ``offline``)."""
    settings, source = runtime.settings, runtime.store.source
    stream = stream_name(settings.namespace, settings.service)
    sequence = 0

    def unsigned(msg: Msg) -> None:
        nonlocal sequence
        try:
            envelope = Envelope.from_json(msg.data)
        except ValueError:
            return  # not an event at all: never accepted, cut-over or not
        if envelope.source == source and not (envelope.signature and envelope.key_id):
            sequence = msg.metadata.sequence.stream

    try:
        position = await last_unsigned_position(runtime.engine, source)
        if not offline:
            nc = await nats.connect(servers=nats_servers(settings.nats_url), connect_timeout=5, allow_reconnect=False)
            try:
                end = await stream_last_sequence(nc, stream)
                await replay(nc, stream, service_subjects(settings.namespace, settings.service), start=1, end=end,
                             on_message=unsigned)
            finally:
                await nc.close()
    finally:
        await runtime.engine.dispose()
    return CutOver(source, stream, sequence, position, datetime.now(UTC).isoformat(timespec="seconds"))


def release_stream_command(runtime: ServiceRuntime, stream_id: str | None) -> None:
    """List the streams the relay parked (no ``stream_id``), or release one so that it is retried."""
    assert runtime.relay is not None, "only a service that publishes parks streams"
    outbox = runtime.relay.outbox

    async def go() -> tuple[list[str], list[str]]:
        try:
            parked = [f"{p.stream_id}: event {p.event_id} (position {p.position}): {p.reason}"
                      for p in await outbox.parked()]
            return parked, (await outbox.release(stream_id) if stream_id is not None else [])
        finally:
            await runtime.engine.dispose()

    parked, released = run(go())
    if stream_id is None:
        typer.echo("\n".join(parked) if parked else "no stream is parked")
    elif released:
        typer.secho(f"released {stream_id}: the relay publishes its events at its next batch (and parks it "
                    "again if its event still cannot be published)", fg=typer.colors.GREEN)
    else:
        typer.secho(f"error: {stream_id} is not parked; parked: {', '.join(parked) or 'none'}",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(1)


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
                                         progress=progress, follow_up=projections.follow_ups.get(name),
                                         keyring=settings.load_keyring())

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




def add_audit_commands(
    cli: typer.Typer, settings: Callable[[], S], runtime: Callable[[S], ServiceRuntime],
    *, lookups: Sequence[LookupRows] = (),
) -> None:
    """Give a writing service's command line ``verify``, ``streams``, ``signing-key`` and ``release-stream``."""

    @cli.command("verify")
    def verify(offline: bool = typer.Option(
            False, "--offline", help="Skip the comparison with the JetStream stream (no NATS needed)")) -> None:
        """Check this instance's log: hash chain, signatures, lookup tables, and the JetStream copy.
        Prints the first problem and exits 2 if anything was altered, added or removed."""
        verify_command(runtime(settings()), lookups=lookups, offline=offline)

    @cli.command("release-stream")
    def release_stream(stream_id: str | None = typer.Argument(
            None, help="The parked stream to release; without it, list the parked streams")) -> None:
        """Release a stream the relay parked (an event NATS refused), once the cause is fixed."""
        release_stream_command(runtime(settings()), stream_id)

    @cli.command("streams")
    def streams() -> None:
        """Operator step: create or update this service's stream (deny-delete, deny-purge). Run it
        with the operator's NATS user: service identities may not."""
        current = settings()
        [name] = run(declare_streams(current.nats_url, current.namespace, [current.service],
                                     replicas=current.stream_replicas))
        typer.echo(f"stream {name} ready (deny-delete, deny-purge, {current.stream_replicas} replica(s))")

    @cli.command("signing-cutover")
    def signing_cutover(offline: bool = typer.Option(
            False, "--offline", help="Record no JetStream sequence (unsigned messages in the stream stay refused)"),
    ) -> None:
        """Operator step, once, when signing is switched on over a log that holds unsigned events:
        write this instance's cut-over file (its last unsigned event's log position and stream
        sequence) into the trust folder, to be installed in every instance's trust folder."""
        current = settings()
        cut = run(record_cutover(runtime(current), offline=offline))
        path = current.effective_trust_dir() / cut.file_name
        write_private(path, cut.to_json())
        typer.echo(f"{path}:\n{cut.to_json()}")

    @cli.command("signing-key")
    def signing_key() -> None:
        """Print this instance's public key file, for the other departments' trust folders."""
        current = settings()
        typer.echo(current.load_signer().public(current.service, current.department, current.signs_for()).to_json())
