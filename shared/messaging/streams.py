"""Declaring the streams a service owns: file storage, kept forever, duplicates dropped by id."""

from __future__ import annotations

from collections.abc import Iterable

import nats
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.messaging.connection import nats_servers
from shared.messaging.credentials import WRITING_SERVICES
from shared.messaging.subjects import service_subjects, stream_name

DUPLICATE_WINDOW_SECONDS = 600.0
"""How long JetStream remembers message ids; the relay's retries happen well within it."""


async def ensure_service_stream(
    js: JetStreamContext, namespace: str, service: str, *, replicas: int = 1
) -> str:
    """Create (or update) the stream owned by ``service``; returns its name.

    An operator step (``python -m services.<name> streams``, the launcher, test stacks) calls this
    with the operator's NATS user: service identities may not create or change streams.

    Audits replay from the beginning, so nothing expires: limits retention with no age, size or
    count limit. ``replicas`` is 3 on a production cluster.
    """
    name = stream_name(namespace, service)
    config = StreamConfig(
        name=name,
        subjects=[service_subjects(namespace, service)],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=0,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
        description=f"Qingdan {service} events (kept forever)",
        # The audit trail: no message may be deleted and the stream may not be purged, by anyone.
        deny_delete=True,
        deny_purge=True,
    )
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)
    return name


async def declare_streams(url: str, namespace: str, services: Iterable[str], *, replicas: int = 1) -> list[str]:
    """The operator step: connect as the operator (``url`` carries its credentials) and create or
    update each writing service's stream, with deny-delete and deny-purge."""
    nc = await nats.connect(servers=nats_servers(url), connect_timeout=5, allow_reconnect=False)
    try:
        js = nc.jetstream()
        return [await ensure_service_stream(js, namespace, service, replicas=replicas) for service in services]
    finally:
        await nc.close()


async def declare_stack_streams(url: str, namespace: str, services: Iterable[str], *, replicas: int = 1) -> list[str]:
    """The operator step of a stack running ``services`` (the embedded launcher's, a test's): the
    streams of those among them that write (reporting only reads)."""
    return await declare_streams(url, namespace, sorted(set(services) & set(WRITING_SERVICES)), replicas=replicas)
