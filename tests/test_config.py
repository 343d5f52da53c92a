from pathlib import Path

import pytest

from keyart.config import ApiSettings, EtlSettings
from keyart.errors import ConfigError


def test_api_settings_read_typed_values_from_the_environment() -> None:
    settings = ApiSettings.from_env(
        {
            "KEYART_PORT": "9001",
            "KEYART_WAREHOUSE": "/data/wh",
            "KEYART_DRUID_TIMEOUT_S": "2.5",
            "KEYART_CORS_ORIGINS": "http://a.example, http://b.example",
            "KEYART_CACHE_URL": "redis://127.0.0.1:6379/0",
            "KEYART_READY_REQUIRES_SERVING_COPY": "yes",
        }
    )
    assert settings.ready_requires_serving_copy is True
    assert settings.port == 9001
    assert settings.warehouse == Path("/data/wh")
    assert settings.druid_timeout_s == 2.5
    assert settings.cors_origins == ("http://a.example", "http://b.example")
    assert settings.cache_url == "redis://127.0.0.1:6379/0"
    assert settings.snapshots == Path("/data/wh/snapshots")


def test_bad_environment_values_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="KEYART_PORT"):
        ApiSettings.from_env({"KEYART_PORT": "eighty"})
    with pytest.raises(ConfigError, match="KEYART_READY_REQUIRES_SERVING_COPY"):
        ApiSettings.from_env({"KEYART_READY_REQUIRES_SERVING_COPY": "maybe"})
    assert (
        ApiSettings.from_env(
            {"KEYART_READY_REQUIRES_SERVING_COPY": "0"}
        ).ready_requires_serving_copy
        is False
    )


def test_overrides_skip_none() -> None:
    base = ApiSettings(port=8000)
    assert base.with_overrides(port=None, host="0.0.0.0").port == 8000
    assert base.with_overrides(port=9000).port == 9000


def test_etl_settings_are_checked() -> None:
    assert EtlSettings().lg_k == 14
    with pytest.raises(ConfigError, match="lg_k"):
        EtlSettings(lg_k=30)
    with pytest.raises(ConfigError, match="attribution_hours"):
        EtlSettings(attribution_hours=0)
