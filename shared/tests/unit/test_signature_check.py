"""The signature verifier answers the same in its helper process as in this one, batch after batch."""

from __future__ import annotations

import base64
import os
import random

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.signature_check import SignatureJob, SignatureVerifier, sign_ed25519, verify_ed25519, verify_signatures
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


def _openssl_verifies(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def test_libsodium_signs_and_verifies_as_openssl_does() -> None:
    """Events signed before the switch to libsodium verify, and what it signs is byte for byte what
    OpenSSL (``cryptography``) signed: Ed25519 is deterministic (RFC 8032)."""
    rng = random.Random(3)
    for _ in range(50):
        key = Ed25519PrivateKey.generate()
        seed, public = key.private_bytes_raw(), key.public_key().public_bytes_raw()
        message = os.urandom(rng.randrange(0, 300))
        signature = sign_ed25519(seed + public, message)
        assert signature == key.sign(message)
        assert verify_ed25519(public, signature, message)
        # Whatever is changed, both refuse it.
        flipped = bytearray(signature)
        flipped[rng.randrange(64)] ^= 1 << rng.randrange(8)
        other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        for args in ((public, bytes(flipped), message), (public, signature, message + b"x"),
                     (other, signature, message)):
            assert not verify_ed25519(*args)
            assert not _openssl_verifies(*args)


def test_a_key_or_signature_of_the_wrong_length_does_not_verify() -> None:
    key = Ed25519PrivateKey.generate()
    public, signature = key.public_key().public_bytes_raw(), key.sign(b"m")
    assert verify_ed25519(public, signature, b"m")
    assert not verify_ed25519(public[:31], signature, b"m")
    assert not verify_ed25519(public, signature[:63], b"m")
    assert not verify_ed25519(public, signature + b"\0", b"m")
    assert not verify_ed25519(b"\0" * 32, signature, b"m")
