"""Personal data protection: field encryption, key wrapping, crypto-shredding, blind indexes.

Each person (subject) gets a random data key. Their personal fields are encrypted with it
(AES-GCM), and the data key is stored only wrapped (encrypted) by a key derived from the master
key. Erasing a person means destroying the wrapped data key: the event log stays intact, but the
ciphertexts in it can no longer be opened. Certificate numbers are searched through a keyed hash
(HMAC) so the clear value is never stored for lookups.

Everything here is pure except :func:`load_or_create_master_key`, which reads or writes the key file.
"""

import base64
import binascii
import hashlib
import hmac
import os
import tempfile
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "KEY_BYTES",
    "DecryptionFailed",
    "InvalidMasterKey",
    "MasterKey",
    "MasterKeyMissing",
    "PersonalDataError",
    "PersonalDataVault",
    "blind_index",
    "decrypt_field",
    "derive_subkey",
    "encrypt_field",
    "generate_data_key",
    "load_or_create_master_key",
    "unwrap_key",
    "wrap_key",
]

KEY_BYTES = 32
NONCE_BYTES = 12
TOKEN_PREFIX = "v1:"
DEFAULT_KEY_HINT = (
    "set QD_MASTER_KEY (base64 of 32 bytes) or point QD_MASTER_KEY_FILE at a key file"
)

_HKDF_INFO_PREFIX = b"qingdan/pii/"
# The master key itself is only ever HKDF input; each use gets its own derived key.
_WRAP_PURPOSE = "key-wrap/v1"
_BLIND_INDEX_PURPOSE = "blind-index/v1"


class PersonalDataError(Exception):
    """Base class for errors raised by this module."""


class MasterKeyMissing(PersonalDataError):
    """The master key is not configured and may not be generated (production mode)."""


class InvalidMasterKey(PersonalDataError, ValueError):
    """The configured master key is not base64 of exactly 32 bytes."""


class DecryptionFailed(PersonalDataError):
    """A ciphertext or wrapped key could not be opened: wrong key, wrong context, or tampered."""


@dataclass(frozen=True, eq=False)
class MasterKey:
    """The 32-byte master key that wraps every data key. Its repr never shows the key."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise InvalidMasterKey(f"master key must be {KEY_BYTES} bytes, got {len(self.key)}")

    @classmethod
    def generate(cls) -> "MasterKey":
        """A fresh random master key."""
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def from_base64(cls, text: str) -> "MasterKey":
        """Parse a base64 (standard or URL-safe) master key, e.g. from an environment variable."""
        cleaned = "".join(text.split())
        try:
            raw = base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidMasterKey(
                f"master key is not valid base64; expected base64 of {KEY_BYTES} random bytes "
                "(e.g. `python -c 'import os, base64; print(base64.b64encode(os.urandom(32)).decode())'`)"
            ) from None
        if len(raw) != KEY_BYTES:
            raise InvalidMasterKey(f"master key must decode to {KEY_BYTES} bytes, got {len(raw)}")
        return cls(raw)

    def to_base64(self) -> str:
        """Standard base64 text of the key, as written to the key file."""
        return base64.b64encode(self.key).decode("ascii")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MasterKey):
            return NotImplemented
        return hmac.compare_digest(self.key, other.key)

    def __hash__(self) -> int:
        return hash(self.key)

    @cached_property
    def _wrapping_key(self) -> AESGCM:
        return AESGCM(derive_subkey(self, _WRAP_PURPOSE))


def load_or_create_master_key(path: Path, *, allow_create: bool, hint: str = DEFAULT_KEY_HINT) -> MasterKey:
    """Read the base64 master key at ``path``; create it (mode 0600) if missing and allowed.

    ``allow_create`` is meant for the embedded default only; in production a missing key raises
    :class:`MasterKeyMissing`, because a fresh key would make all existing personal data unreadable.
    ``hint`` tells the operator which setting provides the key.
    """
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        if not allow_create:
            raise MasterKeyMissing(
                f"master key file {path} does not exist and creating keys is not allowed here; {hint}"
            ) from None
    return _create_key_file(path)


def _read_key_file(path: Path) -> MasterKey:
    text = path.read_text(encoding="ascii")
    try:
        return MasterKey.from_base64(text)
    except InvalidMasterKey as exc:
        raise InvalidMasterKey(f"{path}: {exc}") from None


def _create_key_file(path: Path) -> MasterKey:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = MasterKey.generate()
    # Write to a private temporary file, then hard-link it into place: the key file appears
    # complete or not at all, and if services race on first start, all of them end up with the
    # one key that won instead of each overwriting the others'.
    fd, tmp_name = tempfile.mkstemp(prefix=".master-key-", dir=path.parent)  # mkstemp uses mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key.to_base64() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return _read_key_file(path)
    finally:
        os.unlink(tmp_name)
    return key


def generate_data_key() -> bytes:
    """A fresh random 32-byte data key for one subject."""
    return os.urandom(KEY_BYTES)


def derive_subkey(master: MasterKey, purpose: str) -> bytes:
    """Derive a 32-byte key for one ``purpose`` from the master key (HKDF-SHA256)."""
    if not purpose:
        raise ValueError("purpose must not be empty")
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_HKDF_INFO_PREFIX + purpose.encode()
    )
    return hkdf.derive(master.key)


def wrap_key(master: MasterKey, data_key: bytes, subject_id: str) -> bytes:
    """Encrypt ``data_key`` for storage; it can only be unwrapped for the same ``subject_id``."""
    _check_key(data_key, "data key")
    nonce = os.urandom(NONCE_BYTES)
    return nonce + master._wrapping_key.encrypt(nonce, data_key, subject_id.encode("utf-8"))


def unwrap_key(master: MasterKey, wrapped: bytes, subject_id: str) -> bytes:
    """Recover a data key wrapped by :func:`wrap_key` for the same ``subject_id``."""
    nonce, ciphertext = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
    try:
        data_key = master._wrapping_key.decrypt(nonce, ciphertext, subject_id.encode("utf-8"))
    except (InvalidTag, ValueError):
        raise DecryptionFailed(
            f"could not unwrap the data key of subject {subject_id!r}: "
            "wrong master key, key of another subject, or tampered"
        ) from None
    _check_key(data_key, "unwrapped data key")
    return data_key


def encrypt_field(data_key: bytes, plaintext: str, *, context: str) -> str:
    """Encrypt one field into a compact ASCII token bound to ``context`` (e.g. ``"person/<id>/name"``)."""
    _check_key(data_key, "data key")
    return _encrypt(AESGCM(data_key), plaintext, context)


def _encrypt(cipher: AESGCM, plaintext: str, context: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + cipher.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
    return TOKEN_PREFIX + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")


def decrypt_field(data_key: bytes, token: str, *, context: str) -> str:
    """Decrypt a token from :func:`encrypt_field`; raise :class:`DecryptionFailed` if it was altered."""
    _check_key(data_key, "data key")
    if not token.startswith(TOKEN_PREFIX):
        raise DecryptionFailed(f"field {context!r}: not a {TOKEN_PREFIX!r} token")
    body = token[len(TOKEN_PREFIX) :]
    try:
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        # The decoder skips foreign characters and ignores spare bits; insisting on the canonical
        # form keeps one ciphertext to one token, so altered tokens never decrypt.
        if base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii") != body:
            raise ValueError("non-canonical base64")
        nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        plaintext = AESGCM(data_key).decrypt(nonce, ciphertext, context.encode("utf-8"))
        return plaintext.decode("utf-8")
    except (InvalidTag, ValueError, binascii.Error):
        raise DecryptionFailed(
            f"field {context!r} could not be decrypted: wrong key, wrong context, or tampered"
        ) from None


def blind_index(secret: bytes, value: str) -> str:
    """Keyed hash (HMAC-SHA256, hex) of a normalised value, for lookups without the clear value.

    Normalisation (NFKC, trimmed, upper-case) makes ``" 11010519491231002x41"`` and
    ``"11010519491231002X41"`` index the same.
    """
    if len(secret) < 16:
        raise ValueError("blind index secret must be at least 16 bytes")
    normalised = unicodedata.normalize("NFKC", value).strip().upper()
    return hmac.new(secret, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def _context(subject_id: str, scope: str, name: str) -> str:
    return f"{subject_id}/{scope}/{name}" if scope else f"{subject_id}/{name}"


def _check_key(key: bytes, what: str) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"{what} must be {KEY_BYTES} bytes, got {len(key)}")


class PersonalDataVault:
    """Seals and opens a subject's personal fields; holds the master key, stores nothing itself.

    The caller persists the wrapped key per subject and deletes it to erase the subject; after
    that :meth:`open` returns ``None`` and the caller shows the data as erased.
    """

    def __init__(self, master: MasterKey, *, cache_size: int = 4096) -> None:
        self._master = master
        self._cache_size = cache_size
        # Listing persons decrypts many rows, and unwrapping is the costly part; keep recent keys.
        self._cache: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._index_secret = derive_subkey(master, _BLIND_INDEX_PURPOSE)

    def new_subject(self, subject_id: str) -> tuple[bytes, bytes]:
        """Create a data key for a new subject; return ``(data_key, wrapped_key)``."""
        data_key = generate_data_key()
        wrapped = wrap_key(self._master, data_key, subject_id)
        self._remember((subject_id, wrapped), data_key)
        return data_key, wrapped

    def seal(
        self, wrapped_key: bytes, subject_id: str, fields: dict[str, str], *, scope: str = ""
    ) -> dict[str, str]:
        """Encrypt each field with the subject's key, bound to ``"<subject_id>/<field>"``.

        ``scope`` (e.g. ``"item/<id>"``) binds the fields to one part of the subject's record too
        (``"<subject_id>/<scope>/<field>"``), so that a token cannot be moved to another part.
        """
        data_key = self._data_key(wrapped_key, subject_id)
        _check_key(data_key, "data key")
        cipher = AESGCM(data_key)  # once for all the fields: making one costs more than encrypting
        return {name: _encrypt(cipher, value, _context(subject_id, scope, name)) for name, value in fields.items()}

    def open(
        self, wrapped_key: bytes | None, subject_id: str, sealed: dict[str, str], *, scope: str = ""
    ) -> dict[str, str] | None:
        """Decrypt sealed fields; ``None`` when the wrapped key is gone (the subject was erased)."""
        if wrapped_key is None:
            return None
        data_key = self._data_key(wrapped_key, subject_id)
        return {
            name: decrypt_field(data_key, token, context=_context(subject_id, scope, name))
            for name, token in sealed.items()
        }

    def blind_index(self, value: str) -> str:
        """Blind index of ``value`` under a key derived from the master key (see :func:`blind_index`)."""
        return blind_index(self._index_secret, value)

    def forget(self, subject_id: str) -> None:
        """Drop a subject's cached data key, so an erased subject's key does not linger in memory."""
        with self._lock:
            for cache_key in [k for k in self._cache if k[0] == subject_id]:
                del self._cache[cache_key]

    def _data_key(self, wrapped_key: bytes, subject_id: str) -> bytes:
        cache_key = (subject_id, wrapped_key)
        with self._lock:
            cached = self._cache.get(cache_key)
            if cached is not None:
                self._cache.move_to_end(cache_key)
                return cached
        data_key = unwrap_key(self._master, wrapped_key, subject_id)
        self._remember(cache_key, data_key)
        return data_key

    def _remember(self, cache_key: tuple[str, bytes], data_key: bytes) -> None:
        if self._cache_size <= 0:
            return
        with self._lock:
            self._cache[cache_key] = data_key
            self._cache.move_to_end(cache_key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
