"""Verifying Ed25519 signatures (and confirming messages' content hashes) given as plain data, in
this process or in a helper process.

Kept apart from ``shared.signing`` (which imports the envelope model and pydantic) so that a
helper process started to verify signatures imports only this, ``shared.wire_hash`` (orjson) and
PyNaCl (libsodium's Ed25519).
"""

from __future__ import annotations

import asyncio
import base64
import os
import pickle
import struct
import sys
from collections.abc import Sequence
from pathlib import Path

from nacl.bindings import crypto_sign, crypto_sign_open
from nacl.exceptions import BadSignatureError

from shared.wire_hash import body_hash_holds

SignatureJob = tuple[bytes, str, bytes]
"""A signature to verify: the raw Ed25519 public key, the base64 signature and the signed bytes."""
HashJob = tuple[bytes, str]
"""A content hash to confirm: a message body and the hash its envelope claims (:func:`body_hash_holds`)."""
Checked = tuple[list[bool], list[bool]]
"""Whether each hash job held, and whether each signature job verified (:func:`check_batch`)."""


# Ed25519 (RFC 8032) is deterministic: libsodium makes the same signatures as OpenSSL (through
# ``cryptography``, which keeps the keys), in about half the time on this machine: sign 24 µs
# against 40–47 µs, verify 66 µs against 125–135 µs (docs/measurements.md).


def sign_ed25519(secret: bytes, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``message`` under ``secret`` (libsodium's form: the 32-byte
    seed followed by the 32-byte public key)."""
    return crypto_sign(message, secret)[:64]


def verify_ed25519(public: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` under the raw 32-byte
    ``public`` key (any other length of either: not valid)."""
    if len(public) != 32 or len(signature) != 64:
        return False
    try:
        crypto_sign_open(signature + message, public)
    except (BadSignatureError, ValueError):
        return False
    return True


def verify_signatures(jobs: Sequence[SignatureJob]) -> list[bool]:
    """Whether each signature verifies (plain data in and out: it may run in another process)."""
    verified: list[bool] = []
    for raw, signature, message in jobs:
        try:
            decoded = base64.b64decode(signature, validate=True)
        except ValueError:
            verified.append(False)
            continue
        verified.append(verify_ed25519(raw, decoded, message))
    return verified


def check_batch(hashes: Sequence[HashJob], jobs: Sequence[SignatureJob]) -> Checked:
    """Whether each body's claimed hash holds (the fast path only), and whether each signature verifies."""
    return [body_hash_holds(body, claimed) for body, claimed in hashes], verify_signatures(jobs)


class SignatureVerifier:
    """Verifies batches of signatures in one helper process when the machine has a core to spare.

    A long read (a rebuild) hands it a batch's signatures and parses and applies the batch before
    while they are verified: the same checks, on the other core. With one core (or ``helper=False``)
    it verifies in this process. The helper is a plain ``python`` running :func:`serve` over pipes
    (not ``multiprocessing``, which would re-import the caller's main module); :meth:`aclose` stops it.
    """

    def __init__(self, *, helper: bool = True) -> None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self._wanted = helper and cores > 1
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()  # one batch on the pipes at a time

    @property
    def in_helper(self) -> bool:
        """Whether batches are checked in the helper process (else here, when asked)."""
        return self._wanted

    def verify(self, jobs: Sequence[SignatureJob]) -> asyncio.Future[list[bool]]:
        """A future of :func:`verify_signatures` over ``jobs`` (:meth:`check` without hashes)."""
        return asyncio.ensure_future(self._signatures(jobs))

    def check(self, hashes: Sequence[HashJob], jobs: Sequence[SignatureJob]) -> asyncio.Future[Checked]:
        """A future of :func:`check_batch`: where the helper runs, the bodies' hashes go there too."""
        if not self._wanted or not (hashes or jobs):
            done: asyncio.Future[Checked] = asyncio.get_running_loop().create_future()
            done.set_result(check_batch(hashes, jobs))
            return done
        return asyncio.ensure_future(self._exchange(list(hashes), list(jobs)))

    async def _signatures(self, jobs: Sequence[SignatureJob]) -> list[bool]:
        return (await self.check([], jobs))[1]

    async def _exchange(self, hashes: list[HashJob], jobs: list[SignatureJob]) -> Checked:
        async with self._lock:
            if self._process is None:
                path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)
                env = {**os.environ, "PYTHONPATH": path}
                self._process = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", "from shared.signature_check import serve; serve()",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env)
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            body = pickle.dumps((hashes, jobs), protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.write(_LENGTH.pack(len(body)))
            process.stdin.write(body)  # not concatenated: a chunk's bodies are megabytes
            await process.stdin.drain()
            answer = await process.stdout.readexactly(len(hashes) + len(jobs))
            return [b == 1 for b in answer[:len(hashes)]], [b == 1 for b in answer[len(hashes):]]

    async def aclose(self) -> None:
        """Stop the helper process, if one was started (it ends when its input does)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=5)
        except TimeoutError:
            process.kill()
            await process.wait()


_LENGTH = struct.Struct(">I")
_ROOT = str(Path(__file__).resolve().parents[1])
"""Where ``shared`` is importable from, for the helper process."""


def serve() -> None:
    """The helper process: read length-prefixed batches of (hash jobs, signature jobs) from stdin
    until it closes, answer one byte per job, hashes first (1: holds, verified) on stdout. Its only
    peer is the process that started it."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = source.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return
        hashes, jobs = pickle.loads(source.read(_LENGTH.unpack(head)[0]))  # from our own parent, over a pipe
        holds, verified = check_batch(hashes, jobs)
        sink.write(bytes(1 if ok else 0 for ok in holds + verified))
        sink.flush()
