"""What signing and checking cost per event: ``python -m bench.signing_cost [N]``.

Signs N (default 10,000) realistic envelopes with Ed25519 as the event store does at append time
(hash, then signature over key id and hash), then checks each as a consumer does (hash
recomputed, signature verified, source and department against the key). One core, no I/O.
"""

from __future__ import annotations

import sys
import time

from shared.catalogue.people import OrgUnitEstablished
from shared.envelope import Envelope, utcnow
from shared.ids import new_id
from shared.signing import KeyRing, Signer


def main(count: int = 10_000) -> None:
    """Print the seconds and microseconds per event of sealing, signing and checking."""
    signer = Signer.generate()
    ring = KeyRing([signer.public("registry", "federation", frozenset({"*"}))])
    payload = OrgUnitEstablished(code="511403000001", name="演示村" * 4, level="village")
    unsealed = [Envelope(
        id=new_id(), source="qingdan/registry/federation", type=payload.event_type, time=utcnow(),
        subject=f"orgunit-{i}", stream_id=f"orgunit-{i}", stream_type=payload.stream_type, stream_version=1,
        schema_version=payload.schema_version, actor="bench", department="federation",
        correlation_id=new_id(), data=payload.model_dump(mode="json")) for i in range(count)]
    started = time.perf_counter()
    sealed = [e.sealed("") for e in unsealed]
    hashed = time.perf_counter()
    signed = [signer.sign(e) for e in sealed]
    signed_at = time.perf_counter()
    assert all(ring.problem(e) is None for e in signed)
    checked = time.perf_counter()
    for what, seconds in (("hash (already paid before signing existed)", hashed - started),
                          ("sign", signed_at - hashed), ("check: hash + verify + key binding", checked - signed_at)):
        print(f"{what:45s} {seconds:6.3f} s for {count} = {seconds / count * 1e6:6.1f} µs/event")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
