"""Tamper evidence in the database: every event's hash covers its content and its predecessor's
hash, and every event is signed by its writer's key over that hash.

A plain hash chain only shows accidental damage: whoever can write the table can recompute it.
The signature makes it a keyed chain: without the instance's private key no edit can be sealed
again. What the database alone cannot show (a deleted tail of a stream, an edited lookup row)
``shared.messaging.audit`` and ``shared.eventstore.lookup_check`` find by comparing with
independent copies.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.envelope import Envelope
from shared.eventstore.tables import events
from shared.signing import KeyRing


def verify_stream(envelopes: Sequence[Envelope], keyring: KeyRing | None = None,
                  positions: Sequence[int] | None = None) -> list[str]:
    """Problems found in one stream's chain (empty if intact); with ``keyring``, its signatures too
    (``positions`` in the writer's log place unsigned events against the signing cut-over)."""
    return [problem for _, problem in _stream_problems(envelopes, keyring, positions)]


def _stream_problems(
    envelopes: Sequence[Envelope], keyring: KeyRing | None, positions: Sequence[int] | None = None
) -> list[tuple[int, str]]:
    """(index of the event in ``envelopes``, problem) for one stream."""
    problems: list[tuple[int, str]] = []
    prev_hash = ""
    for index, envelope in enumerate(envelopes):
        where = f"{envelope.stream_id} v{envelope.stream_version}"
        if envelope.stream_version != index + 1:
            problems.append((index, f"{where}: expected version {index + 1} (an event is missing)"))
        if envelope.prev_hash != prev_hash:
            problems.append((index, f"{where}: does not link to the previous event's hash"))
        if envelope.content_hash() != envelope.hash:
            problems.append((index, f"{where}: content does not match its hash (altered)"))
        elif keyring is not None and (problem := keyring.problem(
                envelope, position=positions[index] if positions is not None else None)) is not None:
            problems.append((index, f"{where}: {problem} (altered, or written without the service's key)"))
        prev_hash = envelope.hash
    return problems


async def verify_log(
    engine: AsyncEngine, *, keyring: KeyRing | None = None, batch: int = 5000
) -> tuple[int, list[str]]:
    """Check every stream of a service's log; returns (events checked, problems).

    Problems come in log order (by position), so the first one names the earliest bad event.
    """
    found: list[tuple[int, str]] = []
    checked = 0
    current: list[Envelope] = []
    positions: list[int] = []
    current_id: str | None = None

    def close_stream() -> None:
        found.extend((positions[i], problem) for i, problem in _stream_problems(current, keyring, positions))

    async with engine.connect() as conn:
        result = await conn.stream(
            select(events.c.position, events.c.stream_id, events.c.envelope, events.c.hash)
            .order_by(events.c.stream_id, events.c.version)
        )
        async for part in result.partitions(batch):
            for row in part:
                envelope = Envelope.from_json(row.envelope)
                if envelope.hash != row.hash:
                    found.append((row.position, f"{row.stream_id} v{envelope.stream_version}: stored hash "
                                                "column differs from the envelope's"))
                if row.stream_id != current_id:
                    close_stream()
                    current, positions, current_id = [], [], row.stream_id
                current.append(envelope)
                positions.append(row.position)
                checked += 1
    close_stream()
    found.sort(key=lambda item: item[0])  # stable: one event's problems keep their order
    return checked, [problem for _, problem in found]
