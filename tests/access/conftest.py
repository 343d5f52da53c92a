"""An API app that requires keys, a client for it, and keys of each scope."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from keyart.config import ApiSettings
from keyart.server import create_app
from keyart.state import KeyStore, StateStore, state_url

TITLE_QUERY = "query Titles { titles(first: 3) { totalCount edges { node { id name } } } }"


class ScopeRecorder:
    """Outermost ASGI layer that keeps each request's scope (to read what inner layers set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def keyed_api(
    state: Path, warehouse: Path, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over `warehouse` with its state store at `state` (keys required unless the
    settings say otherwise); the client's `recorder` holds every request scope."""
    settings.setdefault("allow_anonymous", False)
    app = create_app(ApiSettings(warehouse=warehouse, state_url=state_url(state), **settings))
    recorder = ScopeRecorder(app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=recorder)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://keyart.test", timeout=60
        ) as client:
            client.recorder = recorder  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A folder for this test's own SQLite state store (the shared warehouse is untouched)."""
    return tmp_path / "state"


@pytest.fixture
def make_key(state_dir: Path) -> Callable[[str, str], str]:
    """Creates a key in the test's state store and returns its token."""

    def make(name: str, scope: str = "read") -> str:
        store = StateStore.open(state_url(state_dir))
        try:
            return KeyStore(store).create(name, scope)[1]
        finally:
            store.close()

    return make


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of `token`."""
    return {"Authorization": f"Bearer {token}"}
