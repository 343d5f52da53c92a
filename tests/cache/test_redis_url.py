"""Redis URLs of the result cache: what they name, and a clear error for anything else."""

from __future__ import annotations

import pytest

from keyart.cache.ir import ResultCache
from keyart.cache.redis_url import redis_cache
from keyart.errors import ConfigError


def test_a_redis_url_names_host_port_db_and_password() -> None:
    cache = redis_cache("redis://:s%40cret@cache.internal:6380/3")
    assert (cache.endpoint, cache.port, cache.db, cache.password) == (
        "cache.internal",
        6380,
        3,
        "s@cret",
    )
    default = redis_cache("redis://localhost")
    assert (default.port, default.db, default.password) == (6379, 0, None)


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("memcached://localhost", "redis://"),
        ("redis://", "redis://"),
        ("redis://localhost/zero", "bad port or db"),
        ("redis://localhost:port/0", "bad port or db"),
    ],
)
def test_a_bad_cache_url_is_a_config_error(url: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        redis_cache(url)
    with pytest.raises(ConfigError, match=named):
        ResultCache.from_settings(url, 60)
