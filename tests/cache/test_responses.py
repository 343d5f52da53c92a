"""The HTTP response cache: keys of identical requests, its bound, and expiry."""

from __future__ import annotations

from keyart.cache.responses import ResponseCache


def test_response_cache_keys_bound_and_expiry() -> None:
    key = ResponseCache.key
    base = key("{ a }", {"x": 1}, None, "v1")
    assert base is not None
    assert key("{ a }", {"x": 1}, None, "v1") == base
    assert key("{ a }", {"x": 1}, None, "v2") != base
    assert key("{ a }", {"x": 2}, None, "v1") != base
    assert key("{ a }", {"x": 1}, "Op", "v1") != base
    assert key("{ a }", {"x": object()}, None, "v1") is None
    assert key(None, None, None, "v1") is None
    cache = ResponseCache(max_entries=2, ttl_s=60)
    for i in range(3):
        cache.put(f"k{i}", f"r{i}".encode())
    assert cache.get("k0") is None
    assert cache.get("k2") == b"r2"
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 2)
    expired = ResponseCache(ttl_s=-1)
    expired.put("k", b"r")
    assert expired.get("k") is None
