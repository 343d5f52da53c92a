"""`keyart keys create|list|revoke` over SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyart.cli import main
from keyart.state import KeyStore, StateStore


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_list_revoke(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--warehouse", str(tmp_path / "wh"), "--state-url", store_url]
    code, out, _ = run(capsys, "keys", "create", *where, "--name", "partner", "--scope", "admin")
    assert code == 0
    token = out.strip().splitlines()[-1]  # the secret is the last line
    store = StateStore.open(store_url)
    try:
        key = KeyStore(store).verify(token)
        assert key is not None and key.name == "partner" and key.scope == "admin"
        code, listed, _ = run(capsys, "keys", "list", *where)
        assert code == 0 and key.id in listed and "partner" in listed and token not in listed
        code, out, _ = run(capsys, "keys", "revoke", *where, "partner")
        assert code == 0 and key.id in out
        assert KeyStore(store).verify(token) is None
        code, _, err = run(capsys, "keys", "revoke", *where, "partner")
        assert code == 2 and "no active key" in err
        code, listed, _ = run(capsys, "keys", "list", *where)
        assert key.id not in listed
        code, listed, _ = run(capsys, "keys", "list", "--all", *where)
        assert key.id in listed
    finally:
        store.close()


def test_the_default_store_is_the_warehouse_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEYART_STATE_URL", raising=False)
    code, _, err = run(capsys, "keys", "list", "--warehouse", str(tmp_path / "typo"))
    assert code == 2 and "does not exist" in err and not (tmp_path / "typo").exists()
    (tmp_path / "wh").mkdir()
    code, _, _ = run(capsys, "keys", "create", "--warehouse", str(tmp_path / "wh"), "--name", "a")
    assert code == 0 and (tmp_path / "wh" / "state.sqlite3").is_file()
    code, _, err = run(capsys, "keys", "create", "--warehouse", str(tmp_path / "wh"), "--name", "a")
    assert code == 2 and "already exists" in err


def test_state_upgrade_reports_the_head_revision(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from keyart.state.store import head_revision

    code, out, _ = run(capsys, "state", "upgrade", "--state-url", store_url)
    assert code == 0 and head_revision() in out
    assert "password" not in out
