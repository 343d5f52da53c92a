"""Access settings from KEYART_* variables and `keyart serve` flags; limiter configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyart.access.ratelimit import RateLimiter
from keyart.cli import _parser, settings_from_args
from keyart.config import ApiSettings
from keyart.errors import ConfigError


def test_access_settings_from_the_environment() -> None:
    settings = ApiSettings.from_env(
        {
            "KEYART_ALLOW_ANONYMOUS": "1",
            "KEYART_RATE_LIMIT": "20/second;600/minute",
            "KEYART_INTROSPECTION": "0",
            "KEYART_GRAPHIQL": "false",
            "KEYART_PERSISTED_QUERIES": "off",
            "KEYART_SAFELIST": "/etc/keyart/pq.json",
            "KEYART_STATE_URL": "postgresql://k@db/keyart",
            "KEYART_KEY_CACHE_S": "1.5",
        }
    )
    assert settings.allow_anonymous is True
    assert settings.rate_limit == "20/second;600/minute"
    assert settings.introspection is False and settings.graphiql is False
    assert settings.persisted_queries is False
    assert settings.safelist == Path("/etc/keyart/pq.json")
    assert settings.state_url == "postgresql://k@db/keyart"
    assert settings.key_cache_s == 1.5
    defaults = ApiSettings.from_env({})
    assert defaults.allow_anonymous is False and defaults.introspection is True


def test_serve_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYART_RATE_LIMIT", "5/second")
    args = _parser().parse_args(
        ["serve", "--allow-anonymous", "--rate-limit", "off", "--no-introspection",
         "--no-graphiql", "--no-persisted-queries", "--safelist", "pq.json",
         "--state-url", "postgresql://x@y/z"]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert settings.allow_anonymous and settings.rate_limit == "off"
    assert not settings.introspection and not settings.graphiql
    assert not settings.persisted_queries and settings.safelist == Path("pq.json")
    assert settings.state_url == "postgresql://x@y/z"
    plain = settings_from_args(_parser().parse_args(["serve"]))
    assert plain.rate_limit == "5/second" and plain.allow_anonymous is False
    assert plain.introspection and plain.graphiql and plain.persisted_queries


@pytest.mark.parametrize("rate", ["", "off", "None", None])
def test_rate_limits_can_be_off(rate: str | None) -> None:
    assert not RateLimiter(rate).enabled


def test_bad_rate_limits_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="rate limit 'often' is not valid"):
        RateLimiter("often")
    with pytest.raises(ConfigError, match="rate limit storage"):
        RateLimiter("5/second", "ftp://x")


async def test_a_limiter_counts_per_client() -> None:
    limiter = RateLimiter("2/minute")
    assert [await limiter.retry_after("a") for _ in range(2)] == [None, None]
    wait = await limiter.retry_after("a")
    assert wait is not None and 1 <= wait <= 60
    assert await limiter.retry_after("b") is None
