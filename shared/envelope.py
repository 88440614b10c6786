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

from shared.wire_hash import document_hash


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
    def trusted(cls, fields: dict[str, Any]) -> Envelope:
        """An envelope from every field's value (by field name), each known valid: no validation.

        What ``model_construct`` does, without its loop over the fields' aliases and defaults, which
        costs more than validating (bench/README.md): for the event store, whose attributes are its
        own and whose data is a payload model's JSON dump.
        """
        envelope = cls.__new__(cls)
        object.__setattr__(envelope, "__dict__", fields)
        object.__setattr__(envelope, "__pydantic_fields_set__", set(fields))
        object.__setattr__(envelope, "__pydantic_extra__", None)
        object.__setattr__(envelope, "__pydantic_private__", None)
        return envelope

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
        document = cls._document(raw)
        envelope = cls.model_validate(document)
        computed = document_hash(document)
        if computed is None or computed != envelope.hash:
            computed = envelope.content_hash()
        return envelope, computed

    @classmethod
    def parse_unhashed(cls, raw: bytes | str) -> Envelope:
        """``parse_checked`` but for the content hash, for a caller that has it checked elsewhere
        (the signature helper process: ``shared.messaging.admission``)."""
        return cls.model_validate(cls._document(raw))

    @staticmethod
    def _document(raw: bytes | str) -> dict[str, Any]:
        document = orjson.loads(raw)
        if not isinstance(document, dict):
            raise ValueError("an envelope is a JSON object")
        return document

    def sealed(self, prev_hash: str) -> Envelope:
        """This envelope linked to its predecessor in the stream, with its own hash filled in."""
        linked = self.model_copy(update={"prev_hash": prev_hash, "hash": "", "key_id": "", "signature": ""})
        return linked.model_copy(update={"hash": linked.content_hash()})


def content_hash_of(body: dict[str, Any], *, plain: bool | None = None) -> str:
    """The hash of an envelope's wire-form attributes (by alias, JSON values), ``hash`` and signature left out.

    :meth:`Envelope.content_hash` and the event store's append (which builds the wire form once,
    without a model in between) both hash through here, so the two cannot drift apart. ``plain``:
    what :func:`plain_json` says of ``body``, if the caller has asked already.
    """
    return hashlib.sha256(canonical_json(body, plain=plain)).hexdigest()


def canonical_json(body: dict[str, Any], *, plain: bool | None = None) -> bytes:
    """``json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, UTF-8 encoded.

    The content hash is defined by that call. orjson writes the same bytes, several times faster,
    for documents of plain JSON values (str, int, bool, None, lists, dicts with str keys: orjson
    sorts keys by UTF-8 bytes, which is code point order, and escapes exactly the characters
    ``json`` does, checked for every code point in shared/tests). A float (``1e-07`` against
    ``1e-7``), an integer beyond 64 bits or any other type goes through ``json`` itself.
    """
    if plain_json(body) if plain is None else plain:
        try:
            return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits
            pass
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_SCALARS = frozenset({str, int, bool, type(None)})


def plain_json(value: object) -> bool:
    """Whether ``value`` holds only str, int, bool, None, lists and str-keyed dicts (no float, no subclass)."""
    # Written out, not as all(...) over generators: it runs for every event appended (a few µs).
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            if type(item) not in _SCALARS and not plain_json(item):
                return False
        return True
    if type(value) is list:
        return all(type(item) in _SCALARS or plain_json(item) for item in value)
    return type(value) in _SCALARS


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
