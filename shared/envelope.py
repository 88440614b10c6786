"""The one envelope every Qingdan event travels in.

It carries the CloudEvents 1.0 attributes (``id``, ``source``, ``type``, ``specversion``,
``time``, ``subject``, ``datacontenttype``) plus our extension attributes. CloudEvents requires
extension names in lower-case letters and digits only, so the Python field ``stream_id`` is
serialised as ``streamid`` and so on.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field


def _cloudevents_alias(name: str) -> str:
    return name.replace("_", "")


class Envelope(BaseModel):
    """A stored or published event: CloudEvents attributes, our extensions and the payload."""

    model_config = ConfigDict(
        frozen=True, alias_generator=_cloudevents_alias, populate_by_name=True, extra="forbid"
    )

    id: str
    source: str
    type: str
    specversion: str = "1.0"
    time: datetime
    subject: str
    datacontenttype: str = "application/json"
    stream_id: str
    stream_type: str
    stream_version: int = Field(ge=1)
    schema_version: int = Field(ge=1)
    actor: str
    department: str
    correlation_id: str
    causation_id: str | None = None
    prev_hash: str = ""
    hash: str = ""
    key_id: str = Field(default="", description="Id of the publisher's key that signed this event")
    signature: str = Field(default="", description="Base64 Ed25519 signature over keyid and hash")
    data: dict[str, Any]

    def to_json(self) -> bytes:
        """The wire form: CloudEvents structured JSON."""
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        """Parse the wire form."""
        return cls.model_validate_json(raw)

    def content_hash(self) -> str:
        """SHA-256 over the canonical JSON of everything but ``hash`` itself, chained by ``prev_hash``.

        The signature fields are left out: the signature covers the hash (see ``shared.signing``),
        and hashes of events written before signing existed stay what they were.
        """
        return content_hash_of(self.model_dump(mode="json", by_alias=True, exclude={"hash", "key_id", "signature"}))

    @classmethod
    def parse_checked(cls, raw: bytes | str) -> tuple[Envelope, str]:
        """Parse the wire form once; the envelope and its content hash (what ``content_hash`` gives).

        The wire form (``to_json``) already is the envelope's JSON dump, so the hash is computed
        from the parsed document itself and the model is validated from that same document,
        instead of dumping the model again. Only if that hash is not the one the envelope claims
        (a sender that spells a value differently, a field left to its default) is it recomputed
        from the model, so the answer is always ``content_hash``'s.
        """
        document = orjson.loads(raw)
        if not isinstance(document, dict):
            raise ValueError("an envelope is a JSON object")
        envelope = cls.model_validate(document)
        try:
            # orjson's sorted compact UTF-8 output is json.dumps's canonical form for what
            # to_json writes; any difference (a float spelled otherwise) only costs the slow path
            hashed = document.copy()  # a copy and four pops: cheaper than filtering twenty keys
            for name in _UNHASHED:
                hashed.pop(name, None)
            canonical = orjson.dumps(hashed, option=orjson.OPT_SORT_KEYS)
            computed = hashlib.sha256(canonical).hexdigest()
        except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
            computed = ""
        if computed != envelope.hash:
            computed = envelope.content_hash()
        return envelope, computed

    def sealed(self, prev_hash: str) -> Envelope:
        """This envelope linked to its predecessor in the stream, with its own hash filled in."""
        linked = self.model_copy(update={"prev_hash": prev_hash, "hash": "", "key_id": "", "signature": ""})
        return linked.model_copy(update={"hash": linked.content_hash()})


_UNHASHED = frozenset({"hash", "key_id", "keyid", "signature"})
"""Left out of the content hash: the field names (a model dump) and their wire aliases (a parsed document)."""


def content_hash_of(body: dict[str, Any]) -> str:
    """The hash of an envelope's wire-form attributes (by alias, JSON values), ``hash`` and signature left out.

    :meth:`Envelope.content_hash` and the event store's append (which builds the wire form once,
    without a model in between) both hash through here, so the two cannot drift apart.
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
