"""What a test needs to see on JetStream itself: every message of a stream, and who replicates it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import nats

from shared.messaging.connection import nats_servers


async def stream_envelopes(url: str, stream: str) -> list[dict[str, Any]]:
    """Every message of ``stream`` in stream-sequence order, decoded as JSON (our envelopes)."""
    nc = await nats.connect(servers=nats_servers(url), connect_timeout=2)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        first, last = info.state.first_seq, info.state.last_seq
        out: list[dict[str, Any]] = []
        for seq in range(first, last + 1):
            message = await js.get_msg(stream, seq)
            assert message.data is not None
            out.append(json.loads(message.data))
        return out
    finally:
        await nc.close()


@dataclass(frozen=True)
class Replication:
    """A stream's replication as its leader reports it."""

    replicas: int
    leader: str
    last_seq: int
    peers: dict[str, bool]
    """Each follower's name → whether it is current with the leader."""


async def stream_replication(url: str, stream: str, *, timeout: float = 1.0) -> Replication:  # noqa: ASYNC109
    """How ``stream`` is replicated: configured replicas, leader, last sequence, followers' state."""
    nc = await nats.connect(servers=nats_servers(url), connect_timeout=2)
    try:
        info = await nc.jetstream(timeout=timeout).stream_info(stream)
        assert info.cluster is not None and info.config.num_replicas is not None
        peers = {str(p.name): bool(p.current) for p in info.cluster.replicas or []}
        return Replication(info.config.num_replicas, str(info.cluster.leader), info.state.last_seq, peers)
    finally:
        await nc.close()
