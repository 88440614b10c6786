"""Declaring the streams a service owns: file storage, kept forever, duplicates dropped by id."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.messaging.subjects import service_subjects, stream_name

DUPLICATE_WINDOW_SECONDS = 600.0
"""How long JetStream remembers message ids; the relay's retries happen well within it."""


async def ensure_service_stream(
    js: JetStreamContext, namespace: str, service: str, *, replicas: int = 1
) -> str:
    """Create (or update) the stream owned by ``service``; returns its name.

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
    )
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)
    return name
