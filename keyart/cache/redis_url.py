"""The Redis store of the result cache, from a `redis://` URL."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from aiocache import RedisCache
from aiocache.serializers import StringSerializer

from keyart.errors import ConfigError


def redis_cache(url: str) -> RedisCache:
    """An aiocache RedisCache for `redis://[:password@]host[:port][/db]`."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or not parts.hostname:
        raise ConfigError(f"cache_url must look like redis://host:port/db, got {url!r}")
    path = parts.path.strip("/")
    try:
        db = int(path) if path else 0
        port = parts.port or 6379
    except ValueError as exc:
        raise ConfigError(f"cache_url {url!r} has a bad port or db: {exc}") from exc
    return RedisCache(
        serializer=StringSerializer(),
        endpoint=parts.hostname,
        port=port,
        db=db,
        password=unquote(parts.password) if parts.password else None,
        create_connection_timeout=2.0,
    )


__all__ = ["redis_cache"]
