"""What a reader checks before an event may touch a read model: that it parses, and that it is
signed by a key trusted for the service, department and subject it arrived on.

Each message is parsed once and its content hash computed once (``Envelope.parse_checked``);
a batch verifies one signature per chained run of an aggregate stream (``KeyRing.check_deliveries``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from shared.envelope import Envelope
from shared.messaging.subjects import stream_name
from shared.signature_check import SignatureJob, verify_signatures
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
    """A batch parsed and checked but for its signatures (:func:`plan_batch`)."""

    admissions: list[Admission | None]
    """Each message's refusal if it did not parse, ``None`` where its delivery is checked."""
    checks: PlannedChecks | None
    """The parsed ones' checks (``None``: no key ring, nothing more to check)."""
    deliveries: list[Delivery]

    def jobs(self) -> list[SignatureJob]:
        """The signatures left to verify (:func:`shared.signing.verify_signatures`), anywhere."""
        return self.checks.jobs() if self.checks is not None else []

    def settle(self, verified: Sequence[bool]) -> list[Admission]:
        """The batch's admissions, in order, given whether each of :meth:`jobs` verified."""
        problems = self.checks.settle(verified) if self.checks is not None else [None] * len(self.deliveries)
        results = iter(zip(self.deliveries, problems, strict=True))
        admitted: list[Admission] = []
        for admission in self.admissions:
            if admission is not None:
                admitted.append(admission)
                continue
            delivery, problem = next(results)
            admitted.append(Admission(delivery.envelope, f"not a genuine event: {problem}" if problem else None))
        return admitted


def plan_batch(messages: Sequence[tuple[str, bytes, int | None]], keyring: KeyRing | None, *, namespace: str,
               service: str) -> PlannedBatch:
    """``admit_batch`` but for verifying the signatures, which :meth:`PlannedBatch.jobs` lists, so
    that they may be verified in another process while this one goes on."""
    admissions: list[Admission | None] = []
    deliveries: list[Delivery] = []
    stream = stream_name(namespace, service)
    for subject, data, sequence in messages:
        try:
            envelope, content_hash = Envelope.parse_checked(data)
        except (ValidationError, ValueError) as exc:
            admissions.append(Admission(None, f"not a valid envelope: {exc}"))
            continue
        admissions.append(None)
        deliveries.append(Delivery(subject, envelope, content_hash, stream=stream, sequence=sequence))
    checks = (keyring.plan_deliveries(deliveries, namespace=namespace, service=service)
              if keyring is not None else None)
    return PlannedBatch(admissions, checks, deliveries)
