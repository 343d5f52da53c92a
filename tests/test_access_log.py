"""The access log: one line per HTTP request with method, path, operation, status, duration
and API key name, at the configured level, or none when turned off."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from keyart.config import ApiSettings
from keyart.errors import ConfigError
from keyart.server import create_app
from tests.e2e.harness import api, running


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "keyart.access"]


async def test_one_line_per_request_with_operation_and_status(
    tiny_warehouse: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="keyart.access")
    async with api(tiny_warehouse) as client:
        query = {"query": "query Versions { dataVersion }", "operationName": "Versions"}
        assert (await client.post("/graphql", json=query)).status_code == 200
        assert (await client.post("/graphql", json=query)).status_code == 200  # cached
        assert (await client.get("/nowhere")).status_code == 404
    records = lines(caplog)
    assert [r.levelno for r in records] == [logging.INFO] * 3
    texts = [r.getMessage() for r in records]
    assert texts[0].startswith("POST /graphql op=Versions status=200 ")
    assert texts[1].startswith("POST /graphql op=Versions status=200 ")
    assert texts[2].startswith("GET /nowhere op=- status=404 ")
    assert all(t.endswith(" key=-") for t in texts)


async def test_anonymous_operations_and_the_key_name_set_by_authentication(
    tiny_warehouse: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="keyart.access")
    app = create_app(ApiSettings(warehouse=tiny_warehouse, access_log_level="debug"))

    async def with_key(scope: Scope, receive: Receive, send: Send) -> None:
        # what authentication middleware in front of the app does once API keys exist
        scope["keyart.key_name"] = "partner-tool"
        await app(scope, receive, send)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=with_key)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.post("/graphql", json={"query": "query Named { dataVersion }"})
            await client.post("/graphql", json={"query": "{ affinities }"})
    texts = [r.getMessage() for r in lines(caplog)]
    assert [r.levelno for r in lines(caplog)] == [logging.DEBUG] * 2
    assert texts[0].startswith("POST /graphql op=Named status=200 ")
    assert texts[1].startswith("POST /graphql op=- status=200 ")
    assert all(t.endswith(" key=partner-tool") for t in texts)


async def test_turned_off_logs_nothing(
    tiny_warehouse: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="keyart.access")
    app = create_app(ApiSettings(warehouse=tiny_warehouse, access_log=False))
    async with running(app) as client:
        await client.get("/healthz")
    assert lines(caplog) == []


def test_unknown_level_is_a_config_error(tiny_warehouse: Path) -> None:
    with pytest.raises(ConfigError, match="access log level 'LOUD'"):
        create_app(ApiSettings(warehouse=tiny_warehouse, access_log_level="LOUD"))


def test_settings_from_environment() -> None:
    env = {"KEYART_ACCESS_LOG": "off", "KEYART_ACCESS_LOG_LEVEL": "WARNING"}
    settings = ApiSettings.from_env(env)
    assert settings.access_log is False
    assert settings.access_log_level == "WARNING"
