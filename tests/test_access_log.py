"""The access log: one line per HTTP request with method, path, operation, status, duration
and API key name, at the configured level, or none when turned off."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from keyart.config import ApiSettings
from keyart.errors import ConfigError
from keyart.server import create_app
from keyart.state import KeyStore, StateStore, state_url
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


async def test_anonymous_operations_the_key_name_and_refusals(
    tiny_warehouse: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="keyart.access")
    store = StateStore.open(state_url(tmp_path / "state"))
    try:
        token = KeyStore(store).create("partner-tool", "read")[1]
    finally:
        store.close()
    settings = ApiSettings(
        warehouse=tiny_warehouse,
        state_url=state_url(tmp_path / "state"),
        allow_anonymous=False,
        access_log_level="debug",
    )
    async with running(create_app(settings)) as client:
        auth = {"Authorization": f"Bearer {token}"}
        await client.post("/graphql", json={"query": "query Named { dataVersion }"}, headers=auth)
        await client.post("/graphql", json={"query": "{ affinities }"}, headers=auth)
        await client.post("/graphql", json={"query": "query Named { dataVersion }"})
    records = lines(caplog)
    texts = [r.getMessage() for r in records]
    assert [r.levelno for r in records] == [logging.DEBUG] * 3
    assert texts[0].startswith("POST /graphql op=Named status=200 ")
    assert texts[1].startswith("POST /graphql op=- status=200 ")
    assert texts[0].endswith(" key=partner-tool") and texts[1].endswith(" key=partner-tool")
    assert texts[2].startswith("POST /graphql op=- status=401 ")  # refused before GraphQL
    assert texts[2].endswith(" key=-")


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
