"""`keyart serve --workers N`: the settings each worker receives, and their validation."""

from __future__ import annotations

import base64
import pickle
from pathlib import Path

import pytest

from keyart.cli import _parser, settings_from_args
from keyart.config import ApiSettings
from keyart.errors import ConfigError
from keyart.workers import SETTINGS_ENV, decode_settings, encode_settings, worker_app


def test_workers_and_backend_threads_from_the_environment_and_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEYART_WORKERS", "3")
    monkeypatch.setenv("KEYART_BACKEND_THREADS", "6")
    settings = settings_from_args(_parser().parse_args(["serve"]))
    assert (settings.workers, settings.backend_threads) == (3, 6)
    args = _parser().parse_args(["serve", "--workers", "2", "--backend-threads", "8"])
    settings = settings_from_args(args)
    assert (settings.workers, settings.backend_threads) == (2, 8)  # flags win
    assert (ApiSettings().workers, ApiSettings().backend_threads) == (1, 4)


@pytest.mark.parametrize(
    ("field", "value"),
    [("workers", 0), ("workers", 65), ("backend_threads", 0), ("backend_threads", 1000)],
)
def test_out_of_range_parallelism_is_refused(field: str, value: int) -> None:
    with pytest.raises(ConfigError, match=f"KEYART_{field.upper()}={value!r}"):
        ApiSettings().with_overrides(**{field: value})


def test_every_worker_gets_the_main_process_settings() -> None:
    settings = ApiSettings(
        warehouse=Path("/data/wh"),
        workers=4,
        cors_origins=("https://a.example", "https://b.example"),
        snapshot_pin="s000003-20260101T000000Z",
        execution_timeout_s=2.5,
    )
    assert decode_settings(encode_settings(settings)) == settings


def test_a_garbled_hand_over_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=f"{SETTINGS_ENV} does not hold server settings"):
        decode_settings("not base64 at all!")
    other = base64.b64encode(pickle.dumps({"workers": 2})).decode()
    with pytest.raises(ConfigError, match="holds a dict, not ApiSettings"):
        decode_settings(other)
    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    with pytest.raises(ConfigError, match="start workers with `keyart serve`"):
        worker_app()
