"""Signed events: each writing instance signs its events with its own Ed25519 key.

The signature covers ``keyid`` and the event's ``hash``; the hash covers the whole envelope and
the previous event's hash, so one signature seals the event and, through the chain, its stream's
history. Someone who rewrites a payload and recomputes the plain SHA-256 chain cannot produce the
signatures without the private key.

Keys are named by a key id (the first 16 hex digits of SHA-256 over the raw public key), which
every event carries. A :class:`KeyRing` holds the public keys a reader trusts, each bound to the
service and department it may sign for. Rotating a key is adding a new key id to the ring and
signing with the new private key; old events keep verifying against the old public key, which
stays in the ring (history is never re-signed).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from shared.envelope import Envelope
from shared.signature_check import SignatureJob, sign_ed25519, verify_signatures

_CONTEXT = b"qingdan-event-v1|"
_UNKNOWN_KEY_RECHECK_SECONDS = 5.0
ANY_DEPARTMENT = "*"
"""In a key's departments: it may sign for any department (a single instance serving all)."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """The id of a public key: 16 hex digits of SHA-256 over its raw bytes."""
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def signed_message(envelope: Envelope) -> bytes:
    """The bytes a signature covers: a fixed context, the key id and the event's chained hash."""
    return signed_bytes(envelope.key_id, envelope.hash)


def signed_bytes(kid: str, content_hash: str) -> bytes:
    """:func:`signed_message` from the key id and hash themselves (no envelope needed)."""
    return _CONTEXT + kid.encode() + b"|" + content_hash.encode()


class Signer:
    """The private key of one writing instance."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)
        # The seed and public key as libsodium signs with them (shared.signature_check.sign_ed25519).
        self._secret = (private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
                        + self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
        self._signed_head = signed_bytes(self.key_id, "")

    @classmethod
    def generate(cls) -> Signer:
        """A fresh key pair."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_base64(cls, seed: str) -> Signer:
        """A key from its base64 32-byte seed (``QD_SIGNING_KEY``)."""
        raw = base64.b64decode(seed.strip(), validate=True)
        if len(raw) != 32:
            raise ValueError("a signing key is 32 bytes (base64)")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def seed_base64(self) -> str:
        """The private seed, base64 (only ever written to a 0600 file or a secret store)."""
        raw = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return base64.b64encode(raw).decode()

    def sign(self, envelope: Envelope) -> Envelope:
        """The envelope with ``keyid`` and ``signature`` filled in (its hash must be set)."""
        if not envelope.hash:
            raise ValueError("seal an envelope (hash) before signing it")
        return envelope.model_copy(update={"key_id": self.key_id, "signature": self.signature(envelope.hash)})

    def signature(self, content_hash: str) -> str:
        """The base64 signature of an event with this hash under this key (what :meth:`sign` fills in)."""
        # ``signed_bytes(self.key_id, content_hash)``, its constant head made once in __init__.
        return base64.b64encode(sign_ed25519(self._secret, self._signed_head + content_hash.encode())).decode()

    def public(self, service: str, department: str, departments: frozenset[str]) -> PublisherKey:
        """This key as others must trust it: bound to its service, instance and departments."""
        return PublisherKey(self.key_id, service, department, departments | {department}, self.public_key)


@dataclass(frozen=True)
class PublisherKey:
    """A public key a reader trusts, and what it may sign for.

    ``department`` is the instance's own department (it appears in the envelope's ``source``);
    ``departments`` every department it may write events for (a federation instance hosts some).
    """

    key_id: str
    service: str
    department: str
    departments: frozenset[str]
    public_key: Ed25519PublicKey

    @cached_property
    def raw(self) -> bytes:
        """The public key's 32 raw bytes (what a signature is verified with)."""
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def source(self) -> str:
        """The ``source`` attribute of every event this key signs."""
        return f"qingdan/{self.service}/{self.department}"

    def to_json(self) -> str:
        """The public key file others install in their trust folder."""
        return json.dumps({
            "key_id": self.key_id, "service": self.service, "department": self.department,
            "departments": sorted(self.departments), "public_key": base64.b64encode(self.raw).decode(),
        }, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PublisherKey:
        """Parse a public key file; the key id must match the key."""
        data = json.loads(text)
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(data["public_key"], validate=True))
        if key_id(public) != data["key_id"]:
            raise ValueError(f"key id {data['key_id']} does not match its public key")
        return cls(data["key_id"], data["service"], data["department"],
                   frozenset(data["departments"]) | {data["department"]}, public)

    @property
    def file_name(self) -> str:
        """Where it lives in a trust folder."""
        return f"{self.service}.{self.department}.{self.key_id}.pub.json"


@dataclass(frozen=True)
class CutOver:
    """When one publisher (an instance, by its ``source``) switched signing on over a log that
    already held unsigned events: its unsigned events at or below database ``position`` of its own
    log, and its unsigned messages at or below ``sequence`` of JetStream ``stream``, are accepted as
    "unsigned (before cut-over)"; any unsigned event above them is refused like a forgery.

    Recorded once by the operator (``python -m services.<name> signing-cutover``) and distributed
    like a public key file, through the read-only trust folder: an instance cannot move its own.
    """

    source: str
    stream: str
    sequence: int
    position: int
    recorded_at: str

    @property
    def file_name(self) -> str:
        """Where it lives in a trust folder: ``<service>.<department>.cutover.json``."""
        return ".".join(self.source.split("/")[1:]) + ".cutover.json"

    def to_json(self) -> str:
        """The file the operator installs in every trust folder."""
        return json.dumps({"source": self.source, "stream": self.stream, "sequence": self.sequence,
                           "position": self.position, "recorded_at": self.recorded_at}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> CutOver:
        """Parse a cut-over file."""
        data = json.loads(text)
        return cls(str(data["source"]), str(data["stream"]), int(data["sequence"]), int(data["position"]),
                   str(data["recorded_at"]))

    def covers(self, envelope: Envelope, *, position: int | None, stream: str | None, sequence: int | None) -> bool:
        """Whether an unsigned ``envelope`` (at ``position`` of its writer's log, or ``sequence`` of
        JetStream ``stream``) was written before the cut-over."""
        if envelope.source != self.source:
            return False
        if position is not None:
            return position <= self.position
        return stream == self.stream and sequence is not None and sequence <= self.sequence


class KeyRing:
    """The publishers' public keys a reader trusts, by key id, read from a trust folder.

    An unknown key id makes the ring re-read its folder once (a new instance, or a rotated key,
    may have been installed since), so a consumer never needs a restart to trust a new key.
    """

    def __init__(self, keys: list[PublisherKey] | None = None, folder: Path | None = None) -> None:
        self.folder = folder
        self._keys = {k.key_id: k for k in keys or []}
        self._cutovers: dict[str, CutOver] = {}
        self._unknown: dict[str, float] = {}
        self.unsigned_before_cutover = 0
        """Unsigned events accepted because they precede their publisher's cut-over (``verify`` reports it)."""
        if folder is not None:
            self.reload()

    def reload(self) -> None:
        """Read every ``*.pub.json`` of the trust folder (unreadable files are an error)."""
        if self.folder is None or not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.pub.json")):
            key = PublisherKey.from_json(path.read_text())
            self._keys[key.key_id] = key
        for path in sorted(self.folder.glob("*.cutover.json")):
            cut = CutOver.from_json(path.read_text())
            self._cutovers[cut.source] = cut

    def cutover(self, source: str) -> CutOver | None:
        """The signing cut-over recorded for a publisher (re-reading the folder, at most every few
        seconds, when there is none yet: it may have been installed since)."""
        if source not in self._cutovers and time.monotonic() >= self._unknown.get(f"cutover {source}", 0.0):
            self.reload()
            if source not in self._cutovers:
                self._unknown[f"cutover {source}"] = time.monotonic() + _UNKNOWN_KEY_RECHECK_SECONDS
        return self._cutovers.get(source)

    def get(self, kid: str) -> PublisherKey | None:
        """The trusted key with this id, re-reading the folder if it is not known yet.

        A key id still unknown after a re-read is not looked for again for a few seconds, so a
        flood of messages with made-up key ids costs no more than one folder read each.
        """
        if kid not in self._keys and time.monotonic() >= self._unknown.get(kid, 0.0):
            self.reload()
            if kid not in self._keys:
                self._unknown[kid] = time.monotonic() + _UNKNOWN_KEY_RECHECK_SECONDS
        return self._keys.get(kid)

    def problem(
        self, envelope: Envelope, *, position: int | None = None, stream: str | None = None,
        sequence: int | None = None,
    ) -> str | None:
        """Why this envelope is not a genuine event of its publisher (None if it is).

        An unsigned event is accepted only below its publisher's :class:`CutOver`, at ``position``
        of the writer's own log or ``sequence`` of JetStream ``stream`` (and counted in
        :attr:`unsigned_before_cutover`); above it, or with none recorded, it is "not signed".
        """
        return self._problem(envelope, envelope.content_hash(), position=position, stream=stream, sequence=sequence)

    def _problem(
        self, envelope: Envelope, content_hash: str, *, verify: bool = True, position: int | None = None,
        stream: str | None = None, sequence: int | None = None,
    ) -> str | None:
        """``problem`` with the content hash already computed; ``verify=False`` leaves out the signature."""
        if not envelope.signature or not envelope.key_id:
            cut = self.cutover(envelope.source)
            if cut is not None and cut.covers(envelope, position=position, stream=stream, sequence=sequence):
                self.unsigned_before_cutover += 1
                return None
            return "not signed" if cut is None else "not signed, and not before its signing cut-over"
        key = self.get(envelope.key_id)
        if key is None:
            return f"signed with unknown key {envelope.key_id}"
        if content_hash != envelope.hash:
            return "content does not match its hash"
        if verify:
            problem = _signature_problem(envelope, key)
            if problem is not None:
                return problem
        if envelope.source != key.source:
            return f"source {envelope.source} is not {key.source}, which key {envelope.key_id} signs for"
        if envelope.department not in key.departments and ANY_DEPARTMENT not in key.departments:
            return f"department {envelope.department} is not one key {envelope.key_id} may sign for"
        return None

    def check_delivery(
        self, subject: str, envelope: Envelope, *, namespace: str, service: str, stream: str | None = None,
        sequence: int | None = None, content_hash: str | None = None,
    ) -> str | None:
        """``problem`` plus: the subject names this service, the envelope's department and type.

        ``stream`` and ``sequence`` place the message for the signing cut-over; ``content_hash`` is
        the envelope's content hash if the caller has computed it already.
        """
        return self._delivery_problem(subject, envelope, namespace=namespace, service=service,
                                      content_hash=content_hash or envelope.content_hash(), stream=stream,
                                      sequence=sequence)

    def _delivery_problem(
        self, subject: str, envelope: Envelope, *, namespace: str, service: str, content_hash: str,
        verify: bool = True, stream: str | None = None, sequence: int | None = None,
    ) -> str | None:
        expected = f"{namespace}.{service}.{envelope.department}.{envelope.type}"
        if subject != expected:
            return f"subject {subject} does not match the envelope (expected {expected})"
        key = self.get(envelope.key_id) if envelope.key_id else None
        if key is not None and key.service != service:
            return f"key {envelope.key_id} signs for {key.service}, not {service}"
        return self._problem(envelope, content_hash, verify=verify, stream=stream, sequence=sequence)

    def check_deliveries(self, deliveries: Sequence[Delivery], *, namespace: str, service: str) -> list[str | None]:
        """``check_delivery`` for each of a batch, verifying one signature per chained run.

        Every event is checked as on its own (subject, key, its recomputed content hash, source,
        department), except that within a run of events of one aggregate stream signed by one
        key, each linked to the one before (version + 1, ``prev_hash`` = the previous ``hash``),
        only the last signature is verified: it covers that event's hash, which covers the
        previous hash, and so on back to the run's first event, so it seals the whole run just
        as the key's holder sealed each event when it appended them (see the module's docstring).
        A run whose last signature fails has each of its events verified on its own. Catching up,
        this verifies one signature per stream per batch instead of one per event.
        """
        planned = self.plan_deliveries(deliveries, namespace=namespace, service=service)
        return planned.settle(verify_signatures(planned.jobs()))

    def plan_deliveries(self, deliveries: Sequence[Delivery], *, namespace: str, service: str) -> PlannedChecks:
        """``check_deliveries`` but for the signatures: every other check, and the chained runs whose
        last signatures remain to verify (:meth:`PlannedChecks.jobs`, then :meth:`PlannedChecks.settle`).

        Split so that a caller may verify the signatures elsewhere (another process, while it
        applies the previous batch): the answer is ``check_deliveries``'s either way.
        """
        problems = [self._delivery_problem(d.subject, d.envelope, namespace=namespace, service=service,
                                           content_hash=d.content_hash, verify=False, stream=d.stream,
                                           sequence=d.sequence) for d in deliveries]
        return self._planned(deliveries, problems)

    def recheck(self, checks: PlannedChecks, content_hashes: dict[int, str], *, namespace: str,
                service: str) -> PlannedChecks:
        """``checks`` planned again with some deliveries' content hashes corrected (by index): what
        :meth:`plan_deliveries` gives with those hashes in the first place.

        For a caller that planned with the hashes the envelopes claim while their bodies were hashed
        elsewhere: only the corrected deliveries are checked again (each signed: no signing cut-over
        is counted twice), and the chained runs are formed anew, without them.
        """
        deliveries, problems = list(checks.deliveries), list(checks.problems)
        for index, content_hash in content_hashes.items():
            d = deliveries[index] = replace(deliveries[index], content_hash=content_hash)
            problems[index] = self._delivery_problem(d.subject, d.envelope, namespace=namespace, service=service,
                                                     content_hash=content_hash, verify=False, stream=d.stream,
                                                     sequence=d.sequence)
        return self._planned(deliveries, problems)

    def _planned(self, deliveries: Sequence[Delivery], problems: list[str | None]) -> PlannedChecks:
        """The checks of ``deliveries`` given their problems but for the signatures: their chained runs."""
        by_stream: dict[tuple[str, str], list[int]] = {}
        for index, delivery in enumerate(deliveries):
            if problems[index] is None and delivery.envelope.signature:  # unsigned: before a cut-over
                by_stream.setdefault((delivery.envelope.stream_id, delivery.envelope.key_id), []).append(index)
        runs: list[list[int]] = []
        for indices in by_stream.values():
            indices.sort(key=lambda i: deliveries[i].envelope.stream_version)
            run = [indices[0]]
            for index in indices[1:]:
                before, this = deliveries[run[-1]].envelope, deliveries[index].envelope
                if this.stream_version == before.stream_version + 1 and this.prev_hash == before.hash:
                    run.append(index)
                else:
                    runs.append(run)
                    run = [index]
            runs.append(run)
        # every run passed the key check: its key is known
        keys = {kid: self._keys[kid] for kid in {deliveries[run[-1]].envelope.key_id for run in runs}}
        return PlannedChecks(deliveries, problems, runs, keys)


@dataclass(frozen=True)
class PlannedChecks:
    """A batch checked but for its signatures (:meth:`KeyRing.plan_deliveries`): the problems found
    so far and the chained runs, each sealed by its last event's signature."""

    deliveries: Sequence[Delivery]
    problems: list[str | None]
    runs: list[list[int]]
    keys: dict[str, PublisherKey]

    def jobs(self) -> list[SignatureJob]:
        """The signature of each run's last event, to verify (:func:`verify_signatures`), in run order."""
        return [(self.keys[e.key_id].raw, e.signature, signed_message(e))
                for e in (self.deliveries[run[-1]].envelope for run in self.runs)]

    def settle(self, verified: Sequence[bool]) -> list[str | None]:
        """The batch's problems, given whether each job's signature verified: a run whose last
        signature did not has each of its events verified on its own."""
        problems = list(self.problems)
        for run, ok in zip(self.runs, verified, strict=True):
            if ok:
                continue
            for index in run:
                envelope = self.deliveries[index].envelope
                problems[index] = _signature_problem(envelope, self.keys[envelope.key_id])
        return problems


@dataclass(frozen=True)
class Delivery:
    """A delivered event to check: the subject it came on, its envelope and its recomputed content hash
    (and where it sits in JetStream, for the signing cut-over)."""

    subject: str
    envelope: Envelope
    content_hash: str
    stream: str | None = None
    sequence: int | None = None


def _signature_problem(envelope: Envelope, key: PublisherKey) -> str | None:
    if verify_signatures([(key.raw, envelope.signature, signed_message(envelope))])[0]:
        return None
    return f"signature does not verify with key {envelope.key_id}"


def write_private(path: Path, text: str) -> None:
    """Write a secret file readable by its owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)


def load_or_create_signer(path: Path, *, allow_create: bool) -> Signer:
    """The instance's signing key from ``path``; generated there (0600) only if ``allow_create``."""
    if path.exists():
        return Signer.from_base64(path.read_text())
    if not allow_create:
        raise ValueError(f"no signing key at {path}: set QD_SIGNING_KEY or QD_SIGNING_KEY_FILE "
                         "(production never generates one)")
    signer = Signer.generate()
    write_private(path, signer.seed_base64() + "\n")
    return signer


def publish_public_key(folder: Path, key: PublisherKey) -> Path:
    """Install a public key in a trust folder (development: each instance enrols itself)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / key.file_name
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(key.to_json())
        tmp.replace(path)
    return path
