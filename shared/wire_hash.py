"""The content hash of an envelope's parsed wire form, without the envelope model.

``Envelope.parse_checked`` hashes the document it parsed through here, and so does the signature
helper process (``shared.signature_check``), which imports neither pydantic nor the envelope:
one definition of the fast path, two processes.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

UNHASHED = frozenset({"hash", "key_id", "keyid", "signature"})
"""Left out of the content hash: the field names (a model dump) and their wire aliases (a parsed document)."""


def document_hash(document: dict[str, Any]) -> str | None:
    """SHA-256 of a parsed envelope document's canonical JSON, its hash and signature left out;
    ``None`` where orjson cannot write it (an integer beyond 64 bits).

    orjson's sorted compact UTF-8 output is ``json.dumps``'s canonical form for what ``to_json``
    writes; a document it spells otherwise (a float) hashes differently, and the caller falls back
    to ``Envelope.content_hash``, which is the definition.
    """
    hashed = document.copy()  # a copy and four pops: cheaper than filtering twenty keys
    for name in UNHASHED:
        hashed.pop(name, None)
    try:
        canonical = orjson.dumps(hashed, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        return None
    return hashlib.sha256(canonical).hexdigest()


def body_hash_holds(body: bytes, claimed: str) -> bool:
    """Whether a message body is a JSON object whose :func:`document_hash` is ``claimed``.

    ``False`` only says the fast path did not confirm it: the caller decides with the model.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(document, dict) and document_hash(document) == claimed
