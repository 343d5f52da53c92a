"""Caches of the API: backend results by IR query (ir), their text form for Redis (codec),
whole HTTP responses (responses) and the Redis store of a `redis://` URL (redis_url)."""

from keyart.cache.codec import decode_result, encode_result
from keyart.cache.ir import DEFAULT_MAX_ENTRIES, ResultCache, result_key
from keyart.cache.redis_url import redis_cache
from keyart.cache.responses import ResponseCache

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "ResponseCache",
    "ResultCache",
    "decode_result",
    "encode_result",
    "redis_cache",
    "result_key",
]
