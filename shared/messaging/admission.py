"""What a reader checks before an event may touch a read model: that it parses, and that it is
signed by a key trusted for the service, department and subject it arrived on."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from shared.envelope import Envelope
from shared.messaging.subjects import stream_name
from shared.signing import KeyRing


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
    try:
        envelope = Envelope.from_json(data)
    except ValidationError as exc:
        return Admission(None, f"not a valid envelope: {exc}")
    if keyring is not None:
        problem = keyring.check_delivery(subject, envelope, namespace=namespace, service=service,
                                         stream=stream_name(namespace, service), sequence=sequence)
        if problem is not None:
            return Admission(envelope, f"not a genuine event: {problem}")
    return Admission(envelope)
