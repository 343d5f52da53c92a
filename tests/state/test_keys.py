"""API keys over SQLite and PostgreSQL: one-time secrets, salted hashes, revocation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from keyart.errors import BadUserInput, NotFound
from keyart.state import KeyStore, StateStore
from keyart.state.tables import api_keys


def test_a_created_key_verifies_and_only_its_hash_is_stored(store: StateStore) -> None:
    keys = KeyStore(store)
    key, token = keys.create("partner one", "read")
    other, other_token = keys.create("ops", "admin")
    assert token.startswith(f"ka_{key.id}_")
    assert keys.verify(token) == key
    assert keys.verify(other_token) == other
    assert other.scope == "admin"
    secret = token.removeprefix(f"ka_{key.id}_").encode()  # it may hold "_" itself
    with store.engine.connect() as conn:
        rows = conn.execute(select(api_keys)).all()
    stored = b"".join(str(v).encode() if not isinstance(v, bytes) else v for r in rows for v in r)
    assert secret not in stored and token.encode() not in stored
    salts = {bytes(r.salt) for r in rows}
    assert len(salts) == 2  # salted per key


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: t.replace("ka_", "kb_"),  # malformed
        lambda t: "ka_" + "0" * 16 + t[19:],  # unknown id
        lambda t: "",
    ],
)
def test_anything_but_the_exact_token_is_refused(store: StateStore, mangle) -> None:  # type: ignore[no-untyped-def]
    keys = KeyStore(store)
    _, token = keys.create("partner", "read")
    assert keys.verify(mangle(token)) is None


def test_revocation_by_name_or_id(store: StateStore) -> None:
    keys = KeyStore(store)
    first, first_token = keys.create("a", "read")
    second, second_token = keys.create("b", "admin")
    assert keys.revoke("a").revoked_at is not None
    assert keys.revoke(second.id).name == "b"
    assert keys.verify(first_token) is None
    assert keys.verify(second_token) is None
    listed = {k.id: k for k in keys.list()}
    assert not listed[first.id].active and not listed[second.id].active
    assert keys.list(include_revoked=False) == []
    with pytest.raises(NotFound, match="no active key"):
        keys.revoke("a")


def test_names_are_unique_among_active_keys(store: StateStore) -> None:
    keys = KeyStore(store)
    keys.create("partner", "read")
    with pytest.raises(BadUserInput, match="already exists"):
        keys.create("partner", "admin")
    keys.revoke("partner")
    again, token = keys.create("partner", "admin")
    assert keys.verify(token) == again
    assert [k.name for k in keys.list()] == ["partner", "partner"]


@pytest.mark.parametrize("name, scope", [("x", "write"), ("", "read"), ("-x", "read")])
def test_bad_names_and_scopes_are_refused(store: StateStore, name: str, scope: str) -> None:
    with pytest.raises(BadUserInput):
        KeyStore(store).create(name, scope)
