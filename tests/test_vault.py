"""The vault: AES-GCM at rest, bound to tenant and entry, clear messages for wrong keys."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import select

from mlconnector.store import Store
from mlconnector.store.models import Credential
from mlconnector.vault import KEY_ENV, Secret, Vault, VaultError, encode_key, load_master_key

PASSWORD = "s3cret-Sage-pa55"


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    s = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    yield s
    s.close()


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)


def test_round_trip_and_nothing_in_plain_text_on_disk(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = load_master_key(tmp_path, "demo", create=True)
    vault = Vault(store, key, "demo")
    vault.put("sage", {"user": "edi", "password": PASSWORD, "company": "ABC"})
    got = vault.get("sage")
    assert got["password"].reveal() == PASSWORD
    assert PASSWORD not in repr(got) and PASSWORD not in str(got["password"])
    store.close()
    raw = (tmp_path / "state.sqlite").read_bytes()
    assert PASSWORD.encode() not in raw


def test_key_file_is_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    load_master_key(tmp_path, "demo", create=True)
    mode = stat.S_IMODE((tmp_path / "master.key").stat().st_mode)
    assert mode == 0o600


def test_missing_key_says_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VaultError, match="ml-connector init"):
        load_master_key(tmp_path, "demo")


def test_env_key_wins_over_file_and_bad_env_is_named(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    load_master_key(tmp_path, "demo", create=True)
    monkeypatch.setenv(KEY_ENV, encode_key(b"k" * 32))
    assert load_master_key(tmp_path, "demo").source == "env"
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(VaultError, match=KEY_ENV):
        load_master_key(tmp_path, "demo")


def test_wrong_key_is_named_not_cryptic(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = load_master_key(tmp_path, "demo", create=True)
    Vault(store, key, "demo").put("cleo", {"username": "u", "password": PASSWORD})
    other = load_master_key(tmp_path / "elsewhere", "demo", create=True)
    with pytest.raises(VaultError, match="encrypted with master key") as info:
        Vault(store, other, "demo").get("cleo")
    assert PASSWORD not in str(info.value)


def test_ciphertext_is_bound_to_tenant(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = load_master_key(tmp_path, "demo", create=True)
    Vault(store, key, "demo").put("cleo", {"username": "u", "password": PASSWORD})
    with store.transaction() as session:
        row = session.scalars(select(Credential)).one()
        session.add(
            Credential(tenant="other", name="cleo", key_id=row.key_id, nonce=row.nonce, ciphertext=row.ciphertext)
        )
    with pytest.raises(VaultError, match="do not decrypt"):
        Vault(store, key, "other").get("cleo")


def test_rotate_key_re_encrypts_everything(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    old = load_master_key(tmp_path, "demo", create=True)
    vault = Vault(store, old, "demo")
    vault.put("sage", {"user": "edi", "password": PASSWORD, "company": "ABC"})
    vault.put("cleo", {"username": "u", "password": "other-secret"})
    with store.transaction() as session:
        before = {r.name: r.ciphertext for r in session.scalars(select(Credential))}
    new = load_master_key(tmp_path / "new", "demo", create=True)
    assert vault.rotate_key(new) == 2
    with store.transaction() as session:
        rows = list(session.scalars(select(Credential)))
    assert all(r.key_id == new.key_id and r.ciphertext != before[r.name] for r in rows)
    assert Vault(store, new, "demo").get("sage")["password"] == Secret(PASSWORD)
    with pytest.raises(VaultError):
        Vault(store, old, "demo").get("sage")


def test_unknown_entry_rejected(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    vault = Vault(store, load_master_key(tmp_path, "demo", create=True), "demo")
    with pytest.raises(VaultError, match="Unknown credential"):
        vault.put("email", {"x": "y"})
    with pytest.raises(VaultError, match="credentials set sage"):
        vault.get("sage")


def test_ciphertext_is_bound_to_its_entry(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One entry's ciphertext copied onto another entry of the same tenant is refused, not read as that entry."""
    key = load_master_key(tmp_path, "demo", create=True)
    vault = Vault(store, key, "demo")
    vault.put("sage", {"user": "edi", "password": PASSWORD, "company": "ABC"})
    vault.put("cleo", {"username": "u", "password": "cleo-secret"})
    with store.transaction() as session:
        sage = session.get(Credential, ("demo", "sage"))
        cleo = session.get(Credential, ("demo", "cleo"))
        assert sage is not None and cleo is not None
        cleo.nonce, cleo.ciphertext = sage.nonce, sage.ciphertext
    with pytest.raises(VaultError, match="cleo credentials do not decrypt") as info:
        vault.get("cleo")
    assert PASSWORD not in str(info.value)
    assert vault.get("sage")["password"] == Secret(PASSWORD)


def test_every_encryption_uses_a_fresh_nonce(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """AES-GCM breaks if a nonce repeats under one key: the same secret stored twice differs, and no nonce recurs."""
    key = load_master_key(tmp_path, "demo", create=True)
    vault = Vault(store, key, "demo")
    seen_nonces: set[bytes] = set()
    seen_ciphertexts: set[bytes] = set()
    for _ in range(40):
        vault.put("sage", {"user": "edi", "password": PASSWORD, "company": "ABC"})
        with store.transaction() as session:
            row = session.get(Credential, ("demo", "sage"))
            assert row is not None
            assert len(row.nonce) == 12
            seen_nonces.add(bytes(row.nonce))
            seen_ciphertexts.add(bytes(row.ciphertext))
    assert len(seen_nonces) == 40
    assert len(seen_ciphertexts) == 40
    vault.put("cleo", {"username": "u", "password": PASSWORD})
    new = load_master_key(tmp_path / "new", "demo", create=True)
    for target in (new, key, new, key):
        assert vault.rotate_key(target) == 2
        with store.transaction() as session:
            rotated = [bytes(r.nonce) for r in session.scalars(select(Credential))]
        assert len(rotated) == 2 and not seen_nonces.intersection(rotated)
        seen_nonces.update(rotated)
    assert len(seen_nonces) == 40 + 4 * 2
    assert vault.get("sage")["password"] == Secret(PASSWORD)
