"""The signature verifier answers the same in its helper process as in this one, batch after batch."""

from __future__ import annotations

import base64

from shared.signature_check import SignatureJob, SignatureVerifier, verify_signatures
from shared.signing import Signer, signed_bytes


def _jobs() -> list[SignatureJob]:
    signer, other = Signer.generate(), Signer.generate()
    raw = signer.public("registry", "federation", frozenset()).public_key.public_bytes_raw()
    good = [(raw, signer.signature(f"h{i}"), signed_bytes(signer.key_id, f"h{i}")) for i in range(5)]
    return [
        *good,
        (raw, other.signature("h1"), signed_bytes(signer.key_id, "h1")),  # another key's signature
        (raw, good[0][1], signed_bytes(signer.key_id, "h9")),  # a signature of other bytes
        (raw, "not base64!", good[0][2]),
        (raw, base64.b64encode(b"x" * 64).decode(), good[0][2]),
    ]


def test_verifying_plain_jobs() -> None:
    assert verify_signatures(_jobs()) == [True] * 5 + [False] * 4


async def test_the_helper_process_answers_as_this_one_does_and_stops_when_closed() -> None:
    jobs = _jobs()
    for helper in (True, False):
        verifier = SignatureVerifier(helper=helper)
        try:
            first, second, empty = verifier.verify(jobs), verifier.verify(jobs[3:]), verifier.verify([])
            assert await first == verify_signatures(jobs)
            assert await second == verify_signatures(jobs[3:])
            assert await empty == []
        finally:
            await verifier.aclose()
        await verifier.aclose()  # twice is harmless
