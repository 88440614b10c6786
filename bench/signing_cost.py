"""What signing and checking cost per event: ``python -m bench.signing_cost [N]``.

Signs N (default 10,000) realistic envelopes with Ed25519 as the event store does at append time
(hash, then signature over key id and hash), then checks each as a consumer does (hash
recomputed, signature verified, source and department against the key). One core, no I/O.

Then the floor of what every consumer does with each signed message it receives, step by step on
the wire form: the parse (``orjson`` and the envelope's validation, as ``Envelope.parse_unhashed``),
the content hash from the parsed document, and the Ed25519 verification alone (libsodium, as the
signature helper process runs it: consumers verify one signature per chained run of a stream's
events in a batch, see ``KeyRing.check_deliveries``). Against a raw ordered read's cost per message (printed by
``python -m bench --only rebuild``), these say how far below it a consumer can get.
"""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Callable

import orjson

from shared.catalogue.people import OrgUnitEstablished
from shared.envelope import Envelope, utcnow
from shared.ids import new_id
from shared.signature_check import verify_ed25519
from shared.signing import KeyRing, Signer, signed_message
from shared.wire_hash import document_hash


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
    _floor(signed, ring)


def _floor(signed: list[Envelope], ring: KeyRing) -> None:
    """Print the CPU per message of each step a consumer cannot skip for a signed message."""
    wire = [e.to_json() for e in signed]
    documents = [orjson.loads(raw) for raw in wire]
    key = ring.get(signed[0].key_id)
    assert key is not None
    public = key.raw
    checks = [(base64.b64decode(e.signature), signed_message(e)) for e in signed]
    steps: list[tuple[str, Callable[[], object]]] = [
        ("parse: orjson.loads", lambda: [orjson.loads(raw) for raw in wire]),
        ("parse: orjson.loads + Envelope.model_validate", lambda: [Envelope.parse_unhashed(raw) for raw in wire]),
        ("content hash of the parsed document", lambda: [document_hash(d) for d in documents]),
        ("Ed25519 verification alone (libsodium; one per chained run)",
         lambda: [verify_ed25519(public, sig, m) for sig, m in checks]),
    ]
    print(f"floor per received message ({len(wire[0])} bytes each), CPU:")
    for what, step in steps:
        started = time.process_time()
        results = step()
        seconds = time.process_time() - started
        assert isinstance(results, list) and all(r is not False and r is not None for r in results)
        print(f"  {what:60s} {seconds / len(wire) * 1e6:6.1f} µs/message")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
