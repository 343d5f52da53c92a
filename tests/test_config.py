import dataclasses
from pathlib import Path
from typing import Any

import pytest

from keyart.config import ApiSettings, EtlSettings, GateSettings
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


# one bad KEYART_<FIELD> value per field of every settings class, and the part of it the
# error must quote (the bad element of a list); a new field needs a row here
BAD_VALUES: dict[type[Any], dict[str, tuple[str, str]]] = {
    EtlSettings: {
        "lg_k": ("3", "3"),
        "qualify_seconds": ("-1", "-1"),
        "engaged_seconds": ("-1", "-1"),
        "attribution_hours": ("0", "0"),
        "serving_layout": ("maybe", "maybe"),
    },
    GateSettings: {
        "max_without_profile_share": ("1.5", "1.5"),
        "min_day_volume_ratio": ("-0.1", "-0.1"),
        "accept_anomalies": ("maybe", "maybe"),
    },
    ApiSettings: {
        "warehouse": ("wh\0", "wh"),
        "snapshot_dir": ("snaps\0", "snaps"),
        "backend": ("oracle", "oracle"),
        "druid_url": ("not a url", "not a url"),
        "druid_timeout_s": ("0", "0"),
        "host": ("", "''"),
        "port": ("-1", "-1"),
        "workers": ("0", "0"),
        "backend_threads": ("65", "65"),
        "gc_threshold": ("-1", "-1"),
        "max_window_days": ("-5", "-5"),
        "cache_url": ("memcached://cache:11211", "memcached://cache:11211"),
        "cache_ttl_s": ("-1", "-1"),
        "snapshot_poll_s": ("0", "0"),
        "snapshot_pin": ("latest", "latest"),
        "ready_requires_serving_copy": ("maybe", "maybe"),
        "cors_origins": ("https://ok.example, ftp://files", "ftp://files"),
        "max_query_depth": ("0", "0"),
        "max_query_tokens": ("0", "0"),
        "max_aliases": ("-1", "-1"),
        "parser_cache_size": ("-1", "-1"),
        "state_url": ("not a url", "not a url"),
        "allow_anonymous": ("2", "2"),
        "rate_limit": ("often", "often"),
        "key_cache_s": ("-1", "-1"),
        "introspection": ("sometimes", "sometimes"),
        "graphiql": ("sometimes", "sometimes"),
        "persisted_queries": ("sometimes", "sometimes"),
        "persisted_query_cache_mb": ("-1", "-1"),
        "safelist": ("pq.json\0", "pq.json"),
        "max_query_cost": ("0", "0"),
        "execution_timeout_s": ("0", "0"),
        "max_response_bytes": ("0", "0"),
        "max_body_bytes": ("1MB", "1MB"),
        "max_inflight": ("0", "0"),
        "max_queued": ("-1", "-1"),
        "queue_timeout_s": ("-1", "-1"),
        "parser_cache_max_chars": ("-1", "-1"),
        "access_log": ("loud", "loud"),
        "access_log_level": ("LOUD", "LOUD"),
        "wait_for_data": ("later", "later"),
        "wait_for_data_timeout_s": ("-1", "-1"),
        "shadow_backend": ("oracle", "oracle"),
        "shadow_sample": ("1.5", "1.5"),
        "shadow_queue_size": ("0", "0"),
        "routing_poll_s": ("-1", "-1"),
        "alerts": ("sometimes", "sometimes"),
        "alert_poll_s": ("0", "0"),
        "alert_lease_s": ("0", "0"),
        "alert_cooldown_s": ("-1", "-1"),
        "webhook_allow": ("10.0.0.0/8, intranet", "intranet"),
        "webhook_https_only": ("sometimes", "sometimes"),
        "webhook_timeout_s": ("inf", "inf"),
        "webhook_attempts": ("0", "0"),
        "webhook_backoff_s": ("-1", "-1"),
        "ws_max_subscriptions": ("0", "0"),
        "ws_idle_timeout_s": ("nan", "nan"),
    },
}
CASES = [
    pytest.param(cls, name, raw, shown, id=f"{cls.__name__}.{name}")
    for cls, table in BAD_VALUES.items()
    for name, (raw, shown) in table.items()
]


@pytest.mark.parametrize("cls", list(BAD_VALUES))
def test_every_field_has_a_bad_value_case(cls: type[Any]) -> None:
    assert set(BAD_VALUES[cls]) == {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize(("cls", "name", "raw", "shown"), CASES)
def test_a_bad_value_names_its_variable_and_the_value(
    cls: type[Any], name: str, raw: str, shown: str
) -> None:
    variable = f"KEYART_{name.upper()}"
    with pytest.raises(ConfigError) as info:
        cls.from_env({variable: raw})
    message = str(info.value)
    assert message.startswith(f"{variable}="), message
    assert shown in message and f"({name})" in message
    assert cls.from_env({}) == cls()  # the defaults themselves are valid


def test_the_issue_examples_fail_at_construction() -> None:
    for bad, variable in (
        ({"backend": "oracle"}, "KEYART_BACKEND"),
        ({"max_window_days": -5}, "KEYART_MAX_WINDOW_DAYS"),
        ({"port": -1}, "KEYART_PORT"),
    ):
        with pytest.raises(ConfigError, match=variable):
            ApiSettings(**bad)


def test_overrides_and_replace_are_checked_and_settings_stay_frozen() -> None:
    base = ApiSettings()
    with pytest.raises(ConfigError, match="KEYART_MAX_INFLIGHT"):
        base.with_overrides(max_inflight=0)
    with pytest.raises(ConfigError, match="KEYART_PORT"):
        dataclasses.replace(base, port=70000)
    with pytest.raises(ConfigError, match="has no setting 'colour'"):
        ApiSettings(colour="blue")  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.port = 1  # type: ignore[misc]
    assert GateSettings().with_overrides(accept_anomalies=True).accept_anomalies is True


def test_environment_forms_of_lists_flags_and_unset_optionals() -> None:
    settings = ApiSettings.from_env(
        {
            "KEYART_WEBHOOK_ALLOW": "10.0.0.0/8, ::1/128",
            "KEYART_ALERTS": "OFF",
            "KEYART_CACHE_URL": "",
            "KEYART_SHADOW_BACKEND": "",
            "KEYART_SNAPSHOT_PIN": "s000042-20260101T000000Z",
            "KEYART_RATE_LIMIT": "20/second;600/minute",
            "KEYART_STATE_URL": "postgresql://keyart@db:5432/keyart",
        }
    )
    assert settings.webhook_allow == ("10.0.0.0/8", "::1/128")
    assert settings.alerts is False
    assert settings.cache_url is None and settings.shadow_backend is None
    assert settings.snapshot_pin == "s000042-20260101T000000Z"
    assert settings.rate_limit == "20/second;600/minute"
    assert settings.state_url == "postgresql://keyart@db:5432/keyart"
    assert ApiSettings.from_env({"KEYART_RATE_LIMIT": ""}).rate_limit == ""  # no limit


def test_serve_with_a_bad_variable_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from keyart.cli import main

    monkeypatch.setenv("KEYART_PORT", "-1")
    assert main(["serve", "--warehouse", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "KEYART_PORT='-1'" in err and "greater than or equal to 0" in err
