"""Field encryption, key wrapping, crypto-shredding, blind indexes and the master key file."""

import base64
import os
import stat
import sys
from pathlib import Path

import pytest

from shared.pii import (
    DecryptionFailed,
    InvalidMasterKey,
    MasterKey,
    MasterKeyMissing,
    PersonalDataVault,
    blind_index,
    decrypt_field,
    derive_subkey,
    encrypt_field,
    generate_data_key,
    load_or_create_master_key,
    unwrap_key,
    wrap_key,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.generate()


def _flip_char(token: str, index: int) -> str:
    ch = token[index]
    return token[:index] + ("A" if ch != "A" else "B") + token[index + 1 :]


# --- field encryption -------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", ["张三丰", "", "四川省眉山市彭山区凤鸣街道 1 号", "x" * 2000])
def test_field_round_trip(plaintext: str) -> None:
    key = generate_data_key()
    token = encrypt_field(key, plaintext, context="person/p1/name")
    assert token.startswith("v1:")
    assert token.isascii()
    assert plaintext not in token or plaintext == ""
    assert decrypt_field(key, token, context="person/p1/name") == plaintext


def test_same_plaintext_encrypts_differently() -> None:
    key = generate_data_key()
    assert encrypt_field(key, "张三", context="c") != encrypt_field(key, "张三", context="c")


def test_tampered_token_is_rejected() -> None:
    key = generate_data_key()
    token = encrypt_field(key, "张三", context="person/p1/name")
    for index in (5, len(token) // 2, len(token) - 1):
        with pytest.raises(DecryptionFailed, match="person/p1/name"):
            decrypt_field(key, _flip_char(token, index), context="person/p1/name")
    with pytest.raises(DecryptionFailed):
        decrypt_field(key, token + "!", context="person/p1/name")
    with pytest.raises(DecryptionFailed):
        decrypt_field(key, token[:-4], context="person/p1/name")


@pytest.mark.parametrize("bad", ["", "v1:", "v1:!!!", "v2:abcd", "plain text"])
def test_malformed_token_is_rejected(bad: str) -> None:
    with pytest.raises(DecryptionFailed):
        decrypt_field(generate_data_key(), bad, context="c")


def test_wrong_context_is_rejected() -> None:
    # Binding to the context stops a ciphertext being copied into another field or person.
    key = generate_data_key()
    token = encrypt_field(key, "张三", context="person/p1/name")
    with pytest.raises(DecryptionFailed):
        decrypt_field(key, token, context="person/p1/address")


def test_wrong_data_key_is_rejected() -> None:
    token = encrypt_field(generate_data_key(), "张三", context="c")
    with pytest.raises(DecryptionFailed):
        decrypt_field(generate_data_key(), token, context="c")


def test_data_key_length_is_checked() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt_field(b"short", "x", context="c")


# --- key wrapping -----------------------------------------------------------------------------


def test_wrap_round_trip(master: MasterKey) -> None:
    data_key = generate_data_key()
    assert len(data_key) == 32
    wrapped = wrap_key(master, data_key, "person-1")
    assert data_key not in wrapped
    assert len(wrapped) == 12 + 32 + 16
    assert unwrap_key(master, wrapped, "person-1") == data_key


def test_unwrap_for_another_subject_fails(master: MasterKey) -> None:
    wrapped = wrap_key(master, generate_data_key(), "person-1")
    with pytest.raises(DecryptionFailed, match="person-2"):
        unwrap_key(master, wrapped, "person-2")


def test_unwrap_with_another_master_key_fails(master: MasterKey) -> None:
    wrapped = wrap_key(master, generate_data_key(), "person-1")
    with pytest.raises(DecryptionFailed):
        unwrap_key(MasterKey.generate(), wrapped, "person-1")


def test_tampered_wrapped_key_fails(master: MasterKey) -> None:
    wrapped = bytearray(wrap_key(master, generate_data_key(), "person-1"))
    wrapped[20] ^= 0x01
    with pytest.raises(DecryptionFailed):
        unwrap_key(master, bytes(wrapped), "person-1")
    with pytest.raises(DecryptionFailed):
        unwrap_key(master, b"too short", "person-1")


# --- blind index and subkeys ------------------------------------------------------------------


def test_blind_index_is_stable_and_normalised() -> None:
    secret = os.urandom(32)
    reference = blind_index(secret, "11010519491231002X41")
    assert len(reference) == 64
    assert int(reference, 16) >= 0
    assert blind_index(secret, "11010519491231002X41") == reference
    assert blind_index(secret, "  11010519491231002x41\n") == reference
    assert blind_index(secret, "１１０１０５１９４９１２３１００２Ｘ４１") == reference
    assert blind_index(secret, "11010519491231002X42") != reference
    assert blind_index(os.urandom(32), "11010519491231002X41") != reference
    assert "11010519491231002X41" not in reference


def test_blind_index_rejects_a_weak_secret() -> None:
    with pytest.raises(ValueError):
        blind_index(b"", "x")


def test_derive_subkey(master: MasterKey) -> None:
    first = derive_subkey(master, "blind-index")
    assert len(first) == 32
    assert first != master.key
    assert derive_subkey(master, "blind-index") == first
    assert derive_subkey(master, "other") != first
    assert derive_subkey(MasterKey.generate(), "blind-index") != first
    with pytest.raises(ValueError):
        derive_subkey(master, "")


# --- master key -------------------------------------------------------------------------------


def test_master_key_from_base64(master: MasterKey) -> None:
    assert MasterKey.from_base64(master.to_base64()) == master
    assert MasterKey.from_base64(f"  {master.to_base64()}\n") == master
    urlsafe = base64.urlsafe_b64encode(master.key).decode()
    assert MasterKey.from_base64(urlsafe) == master


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (base64.b64encode(b"x" * 16).decode(), "must decode to 32 bytes, got 16"),
        (base64.b64encode(b"x" * 33).decode(), "got 33"),
        ("", "got 0"),
        ("not base64 at all!", "not valid base64"),
    ],
)
def test_master_key_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(InvalidMasterKey, match=message):
        MasterKey.from_base64(text)


def test_master_key_repr_hides_the_key(master: MasterKey) -> None:
    assert master.to_base64() not in repr(master)
    assert repr(master.key) not in repr(master)


def test_key_file_created_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys" / "master.key"
    created = load_or_create_master_key(path, allow_create=True)
    assert path.exists()
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MasterKey.from_base64(path.read_text()) == created
    assert load_or_create_master_key(path, allow_create=True) == created
    assert load_or_create_master_key(path, allow_create=False) == created
    # No temporary files are left next to the key.
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]


def test_concurrent_creation_keeps_the_first_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another service writes the key between our check and our link: we must adopt its key.
    path = tmp_path / "master.key"
    winner = MasterKey.generate()
    real_link = os.link

    def racing_link(src: str, dst: Path) -> None:
        Path(dst).write_text(winner.to_base64())
        real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    assert load_or_create_master_key(path, allow_create=True) == winner
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]


def test_missing_key_file_without_create_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    with pytest.raises(MasterKeyMissing) as excinfo:
        load_or_create_master_key(path, allow_create=False)
    message = str(excinfo.value)
    assert str(path) in message
    assert "QD_MASTER_KEY " in message and "QD_MASTER_KEY_FILE" in message  # the real settings
    assert not path.exists()


def test_missing_key_message_uses_the_given_hint(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyMissing, match="set MY_KEY"):
        load_or_create_master_key(tmp_path / "k", allow_create=False, hint="set MY_KEY")


def test_corrupt_key_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text("abcd")
    with pytest.raises(InvalidMasterKey, match=r"master\.key"):
        load_or_create_master_key(path, allow_create=True)


# --- vault ------------------------------------------------------------------------------------


def test_a_scoped_text_opens_only_in_its_scope(master: MasterKey) -> None:
    """A plan item's description cannot be moved to another item, nor read as a top-level field."""
    vault = PersonalDataVault(master)
    _, wrapped = vault.new_subject("person-1")
    sealed = vault.seal(wrapped, "person-1", {"description": "张三每周康复两次"}, scope="item/i-1")
    assert vault.open(wrapped, "person-1", sealed, scope="item/i-1") == {"description": "张三每周康复两次"}
    for scope in ("item/i-2", ""):
        with pytest.raises(DecryptionFailed):
            vault.open(wrapped, "person-1", sealed, scope=scope)
    assert vault.open(None, "person-1", sealed, scope="item/i-1") is None  # erased


def test_vault_seal_and_open(master: MasterKey) -> None:
    vault = PersonalDataVault(master)
    fields = {"name": "张三丰", "address": "凤鸣街道示例一村 3 组", "certificate": "11010519491231002X41"}
    _, wrapped = vault.new_subject("person-1")
    sealed = vault.seal(wrapped, "person-1", fields)
    assert set(sealed) == set(fields)
    assert all(token.startswith("v1:") for token in sealed.values())
    assert vault.open(wrapped, "person-1", sealed) == fields
    # A fresh vault (another process) with the same master key opens it too: nothing depends on the cache.
    assert PersonalDataVault(master).open(wrapped, "person-1", sealed) == fields


def test_vault_fields_cannot_be_moved_between_subjects_or_fields(master: MasterKey) -> None:
    vault = PersonalDataVault(master)
    _, wrapped = vault.new_subject("person-1")
    sealed = vault.seal(wrapped, "person-1", {"name": "张三", "address": "某地"})
    with pytest.raises(DecryptionFailed):
        vault.open(wrapped, "person-1", {"name": sealed["address"]})
    with pytest.raises(DecryptionFailed):
        vault.open(wrapped, "person-2", sealed)


def test_vault_shredded_key_returns_none(master: MasterKey) -> None:
    vault = PersonalDataVault(master)
    _, wrapped = vault.new_subject("person-1")
    sealed = vault.seal(wrapped, "person-1", {"name": "张三"})
    vault.forget("person-1")
    assert vault.open(None, "person-1", sealed) is None


def test_vault_cache_is_bounded(master: MasterKey) -> None:
    vault = PersonalDataVault(master, cache_size=2)
    subjects = {f"p{i}": vault.new_subject(f"p{i}") for i in range(5)}
    for subject_id, (data_key, wrapped) in subjects.items():
        sealed = vault.seal(wrapped, subject_id, {"name": subject_id})
        assert decrypt_field(data_key, sealed["name"], context=f"{subject_id}/name") == subject_id
        assert vault.open(wrapped, subject_id, sealed) == {"name": subject_id}
    assert len(vault._cache) <= 2


def test_vault_blind_index_uses_a_derived_key(master: MasterKey) -> None:
    vault = PersonalDataVault(master)
    value = "11010519491231002X41"
    assert vault.blind_index(value) == vault.blind_index(" 11010519491231002x41 ")
    assert vault.blind_index(value) == PersonalDataVault(master).blind_index(value)
    assert vault.blind_index(value) != blind_index(master.key, value)
    assert vault.blind_index(value) != PersonalDataVault(MasterKey.generate()).blind_index(value)
