"""Stream and subject names.

One JetStream stream per service, ``<NS>_<SERVICE>`` (e.g. ``QD_REGISTRY``), holding subjects
``<ns>.<service>.<department>.<event type>`` (e.g. ``qd.registry.federation.person.registered``).
Because the department is a subject token, a department's own deployment can be given NATS
permission to publish only ``qd.checklists.<its code>.>``. The namespace lets several
installations (or test runs) share one NATS cluster without seeing each other's messages.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def check_token(value: str, what: str) -> str:
    """A subject token must not contain dots, wildcards or spaces."""
    if not _TOKEN.match(value):
        raise ValueError(f"{what} {value!r} may only contain letters, digits, '_' and '-'")
    return value


def stream_name(namespace: str, service: str) -> str:
    """The JetStream stream a service owns."""
    return f"{check_token(namespace, 'namespace').upper()}_{check_token(service, 'service').upper()}"


def service_subjects(namespace: str, service: str) -> str:
    """The wildcard covering every subject of a service's stream."""
    return f"{namespace}.{service}.>"


def event_subject(namespace: str, service: str, department: str, event_type: str) -> str:
    """The subject an event is published on."""
    check_token(department, "department")
    return f"{namespace}.{service}.{department}.{event_type}"


def subject_event_type(subject: str) -> str | None:
    """The event type an event subject ends with, read without parsing the message (None if not one)."""
    parts = subject.split(".", 3)
    return parts[3] if len(parts) == 4 else None
