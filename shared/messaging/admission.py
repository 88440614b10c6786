"""What a reader checks before an event may touch a read model: that it parses, and that it is
signed by a key trusted for the service, department and subject it arrived on.

Each message is parsed once and its content hash computed once (``Envelope.parse_checked``);
a batch verifies one signature per chained run of an aggregate stream (``KeyRing.check_deliveries``).
A long read that verifies the signatures in a helper process (``SignatureVerifier``) has the
bodies' content hashes confirmed there too (``plan_batch(..., hash_elsewhere=True)``): this process
plans with the hashes the envelopes claim, and settles with the true ones, so the answer is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from shared.envelope import Envelope
from shared.messaging.subjects import stream_name
from shared.signature_check import HashJob, SignatureJob, verify_signatures
from shared.signing import Delivery, KeyRing, PlannedChecks


@dataclass(frozen=True)
class Admission:
    """A parsed envelope (``None`` if it did not parse) and why it is refused (``None``: admitted)."""

    envelope: Envelope | None
    reason: str | None = None

    @property
    def admitted(self) -> bool:
        """Whether the event may be applied."""
        return self.reason is None and self.envelope is not None


def admit(
    subject: str, data: bytes, keyring: KeyRing | None, *, namespace: str, service: str, sequence: int | None = None,
) -> Admission:
    """Parse a delivered message and, with a key ring, check its signature against its subject.

    Without a key ring (library tests that sign nothing) only parsing is checked; every service
    process reads with one (``ServiceRuntime.start``). ``sequence`` (of the service's stream) lets
    an unsigned event written before its publisher's signing cut-over in.
    """
    return admit_batch([(subject, data, sequence)], keyring, namespace=namespace, service=service)[0]


def admit_batch(messages: Sequence[tuple[str, bytes, int | None]], keyring: KeyRing | None, *, namespace: str,
                service: str) -> list[Admission]:
    """``admit`` for each of a batch of (subject, body, stream sequence), in order, verifying one
    signature per chained run."""
    planned = plan_batch(messages, keyring, namespace=namespace, service=service)
    return planned.settle(verify_signatures(planned.jobs()))


@dataclass(frozen=True)
class PlannedBatch:
    """A batch parsed and checked but for its signatures (:func:`plan_batch`), and with
    ``hash_elsewhere`` but for its signed bodies' content hashes."""

    admissions: list[Admission | None]
    """Each message's refusal if it did not parse, ``None`` where its delivery is checked."""
    checks: PlannedChecks | None
    """The parsed ones' checks (``None``: no key ring, nothing more to check)."""
    deliveries: list[Delivery]
    keyring: KeyRing | None = None
    namespace: str = ""
    service: str = ""
    unhashed: list[tuple[int, bytes]] = field(default_factory=list)
    """The deliveries (by index) planned with the content hash their envelope claims, and their bodies."""

    def jobs(self) -> list[SignatureJob]:
        """The signatures left to verify (:func:`shared.signing.verify_signatures`), anywhere."""
        return self.checks.jobs() if self.checks is not None else []

    def hash_jobs(self) -> list[HashJob]:
        """The content hashes left to confirm (:func:`shared.signature_check.check_batch`), anywhere."""
        return [(body, self.deliveries[index].content_hash) for index, body in self.unhashed]

    def settle(self, verified: Sequence[bool], holds: Sequence[bool] | None = None) -> list[Admission]:
        """The batch's admissions, in order, given whether each of :meth:`jobs` verified and (if the
        batch has any) whether each of :meth:`hash_jobs` held."""
        checks = self.checks
        if self.unhashed:
            if holds is None or len(holds) != len(self.unhashed):
                raise ValueError("a batch planned with claimed hashes is settled with their checks")
            checks, verified = self._rehashed(holds, verified)
        problems = checks.settle(verified) if checks is not None else [None] * len(self.deliveries)
        results = iter(zip(self.deliveries, problems, strict=True))
        admitted: list[Admission] = []
        for admission in self.admissions:
            if admission is not None:
                admitted.append(admission)
                continue
            delivery, problem = next(results)
            admitted.append(Admission(delivery.envelope, f"not a genuine event: {problem}" if problem else None))
        return admitted

    def _rehashed(self, holds: Sequence[bool], verified: Sequence[bool]) -> tuple[PlannedChecks, Sequence[bool]]:
        """The checks with the true content hash of each body whose claimed one the fast path did not
        confirm (``Envelope.parse_checked``'s slow path), and the signatures verified for them.

        Rare (a forgery, a sender spelling a float otherwise): the chained runs are formed anew
        without the bodies that do not match and their signatures verified here, as the batch's
        would have been had it been planned with the true hashes.
        """
        assert self.checks is not None and self.keyring is not None  # unhashed only with a key ring
        corrected: dict[int, str] = {}
        for (index, _), ok in zip(self.unhashed, holds, strict=True):
            if not ok:
                delivery = self.deliveries[index]
                true = delivery.envelope.content_hash()
                if true != delivery.content_hash:
                    corrected[index] = true
        if not corrected:
            return self.checks, verified
        checks = self.keyring.recheck(self.checks, corrected, namespace=self.namespace, service=self.service)
        return checks, verify_signatures(checks.jobs())


def plan_batch(messages: Sequence[tuple[str, bytes, int | None]], keyring: KeyRing | None, *, namespace: str,
               service: str, hash_elsewhere: bool = False) -> PlannedBatch:
    """``admit_batch`` but for verifying the signatures, which :meth:`PlannedBatch.jobs` lists, so
    that they may be verified in another process while this one goes on.

    With ``hash_elsewhere`` (and a key ring), the content hashes of the signed envelopes are not
    computed here either: they are planned with the hashes they claim and
    :meth:`PlannedBatch.hash_jobs` lists their bodies, for the same other process to confirm.
    """
    admissions: list[Admission | None] = []
    deliveries: list[Delivery] = []
    unhashed: list[tuple[int, bytes]] = []
    stream = stream_name(namespace, service)
    elsewhere = hash_elsewhere and keyring is not None
    for subject, data, sequence in messages:
        try:
            if elsewhere:
                envelope = Envelope.parse_unhashed(data)
                # only a signed envelope's check compares its hash (KeyRing._problem)
                if envelope.signature and envelope.key_id:
                    unhashed.append((len(deliveries), data))
                    content_hash = envelope.hash
                else:
                    content_hash = ""  # never read
            else:
                envelope, content_hash = Envelope.parse_checked(data)
        except (ValidationError, ValueError) as exc:
            admissions.append(Admission(None, f"not a valid envelope: {exc}"))
            continue
        admissions.append(None)
        deliveries.append(Delivery(subject, envelope, content_hash, stream=stream, sequence=sequence))
    checks = (keyring.plan_deliveries(deliveries, namespace=namespace, service=service)
              if keyring is not None else None)
    return PlannedBatch(admissions, checks, deliveries, keyring, namespace, service, unhashed)
