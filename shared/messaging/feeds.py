"""A consuming service's projections, attached to durable consumers in one way for every service.

A service declares what it learns from other streams as a :class:`ProjectionSet`: its projections
(``services/<name>/projections/``) and the prefix its consumer and checkpoint names carry.
:func:`attach_projections` gives it one durable consumer per source stream
(``<prefix>-from-<source>``), which feeds every projection of that source in one transaction per
batch, each projection with its own checkpoint (``<prefix>-<projection>``) so that each can be
rebuilt or checked on its own (``shared.rebuild``, ``shared.cli.add_rebuild_command``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.catalogue import EventPayload
from shared.envelope import Envelope
from shared.messaging.consumer import AfterCommit, DurableConsumer, Feed, Handler
from shared.projection import Projection, apply_sql
from shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class FollowUp:
    """Work of the consuming service that a projection's change entails, in the same transaction.

    Checklists copies other instances' events (a projection) and then rewrites the lookup row of
    the half it copied: ``on_change`` runs after an event changed the projection's tables,
    ``after_replace`` after a rebuild replaced them.
    """

    on_change: Handler
    after_replace: Callable[[AsyncConnection], Awaitable[None]]


@dataclass(frozen=True)
class ProjectionSet:
    """Every projection one consuming service (or instance) maintains, and the names it uses."""

    prefix: str
    projections: tuple[Projection, ...]
    follow_ups: Mapping[str, FollowUp] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [p.name for p in self.projections]
        if len(set(names)) != len(names):
            raise ValueError(f"projection names repeat in {self.prefix}: {names}")
        strays = set(self.follow_ups) - set(names)
        if strays:
            raise ValueError(f"follow-ups for no projection of {self.prefix}: {sorted(strays)}")

    @property
    def names(self) -> list[str]:
        """The projections' names, in declaration order (what ``rebuild NAME`` accepts)."""
        return [p.name for p in self.projections]

    def named(self, name: str) -> Projection:
        """The projection called ``name``; ``KeyError`` listing the known ones otherwise."""
        for projection in self.projections:
            if projection.name == name:
                return projection
        raise KeyError(f"unknown projection {name!r}; known: {', '.join(self.names)}")

    def checkpoint(self, projection: Projection) -> str:
        """The checkpoint name of one projection (read, locked and set by its rebuild too)."""
        return consumer_name(projection, self.prefix)


def consumer_name(projection: Projection, prefix: str) -> str:
    """The checkpoint name of ``projection`` in the consuming service ``prefix``."""
    return f"{prefix}-{projection.name}"


def source_consumer(prefix: str, source_service: str) -> str:
    """The durable consumer of the consuming service ``prefix`` that reads ``source_service``'s stream."""
    return f"{prefix}-from-{source_service}"


def projection_handler(projection: Projection, follow_up: FollowUp | None = None) -> Handler:
    """Apply the projection's changes in the consumer's transaction, then its follow-up if it changed."""

    async def handle(conn: AsyncConnection, envelope: Envelope, payload: EventPayload) -> None:
        operations = projection.changes(envelope, payload)
        if operations:
            await apply_sql(conn, operations)
            if follow_up is not None:
                await follow_up.on_change(conn, envelope, payload)

    return handle


def projection_consumers(
    engine: AsyncEngine,
    projections: ProjectionSet,
    *,
    nats_url: str,
    namespace: str,
    after_commit: AfterCommit | None = None,
) -> list[DurableConsumer]:
    """One durable consumer per source stream, feeding all that stream's projections."""
    by_source: dict[str, list[Feed]] = {}
    for projection in projections.projections:
        follow_up = projections.follow_ups.get(projection.name)
        handler = projection_handler(projection, follow_up)
        # A follow-up reads what the projection just wrote: such a feed is applied event by event.
        by_source.setdefault(projection.source_service, []).append(
            Feed(projections.checkpoint(projection), handler, projection.event_types,
                 changes=projection.changes if follow_up is None else None))
    return [
        DurableConsumer(engine, nats_url=nats_url, namespace=namespace, source_service=source,
                        name=source_consumer(projections.prefix, source), feeds=feeds, after_commit=after_commit)
        for source, feeds in by_source.items()
    ]


def attach_projections(
    runtime: ServiceRuntime, projections: ProjectionSet, *, after_commit: AfterCommit | None = None
) -> list[DurableConsumer]:
    """Add the consumers of ``projections`` to the runtime (started and stopped with the app)."""
    settings = runtime.settings
    consumers = projection_consumers(runtime.engine, projections, nats_url=settings.nats_url,
                                     namespace=settings.namespace, after_commit=after_commit)
    runtime.consumers.extend(consumers)
    return consumers
