"""The cluster locator: endpoints from the environment, skip when absent, fail when required."""

from __future__ import annotations

import re
import socket

import pytest

from tests.druid_support import (
    DruidEndpoints,
    configured_endpoints,
    druid_endpoints_or_skip,
    druid_required,
)


def test_defaults_are_the_local_cluster() -> None:
    assert configured_endpoints({}) == DruidEndpoints(
        broker="http://127.0.0.1:8082",
        coordinator="http://127.0.0.1:8081",
        overlord="http://127.0.0.1:8081",
    )


def test_coordinator_follows_the_broker_host_and_overrides_win() -> None:
    env = {"KEYART_DRUID_URL": "http://broker:8082/"}
    assert configured_endpoints(env) == DruidEndpoints(
        "http://broker:8082", "http://broker:8081", "http://broker:8081"
    )
    env |= {
        "KEYART_DRUID_COORDINATOR_URL": "http://coord:9081/",
        "KEYART_DRUID_OVERLORD_URL": "http://ovl:9090",
    }
    assert configured_endpoints(env) == DruidEndpoints(
        "http://broker:8082", "http://coord:9081", "http://ovl:9090"
    )


def test_required_only_when_set_to_one() -> None:
    assert druid_required({"KEYART_REQUIRE_DRUID": "1"})
    assert not druid_required({"KEYART_REQUIRE_DRUID": "0"})
    assert not druid_required({})


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_absent_cluster_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYART_DRUID_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.delenv("KEYART_DRUID_COORDINATOR_URL", raising=False)
    monkeypatch.delenv("KEYART_DRUID_OVERLORD_URL", raising=False)
    monkeypatch.setenv("KEYART_REQUIRE_DRUID", "0")
    with pytest.raises(pytest.skip.Exception, match=re.escape("broker at http://127.0.0.1:")):
        druid_endpoints_or_skip()
    monkeypatch.setenv("KEYART_REQUIRE_DRUID", "1")
    with pytest.raises(pytest.fail.Exception, match="KEYART_REQUIRE_DRUID=1"):
        druid_endpoints_or_skip()
