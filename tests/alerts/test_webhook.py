"""Webhook sending against a real loopback receiver: signatures, retries, no redirects,
and the SSRF guard."""

from __future__ import annotations

import ipaddress

import pytest

from keyart.alerts.guard import RefusedTarget, WebhookGuard
from keyart.alerts.webhook import WebhookSender
from tests.alerts.receiver import Receiver

LOOPBACK = WebhookGuard.of(["127.0.0.1/32"], https_only=False)
BODY = b'{"type":"test","n":1}'


def test_a_delivery_is_signed_with_the_secret(receiver: Receiver) -> None:
    outcome = WebhookSender(LOOPBACK).send("d1", receiver.url, BODY, "s3cret")
    assert outcome.delivered and outcome.attempts == 1 and outcome.status == 204
    (got,) = receiver.wait_for(1)
    assert got.body == BODY and got.delivery == "d1" and got.timestamp
    assert got.signed_with("s3cret") and not got.signed_with("other")


def test_a_receiver_failing_twice_gets_the_third_attempt() -> None:
    receiver = Receiver(fail_first=2, fail_status=503).start()
    try:
        outcome = WebhookSender(LOOPBACK, backoff_s=0.01).send("d2", receiver.url, BODY, "k")
    finally:
        receiver.stop()
    assert outcome.delivered and outcome.attempts == 3
    assert [r.status for r in receiver.requests] == [503, 503, 204]
    assert {r.delivery for r in receiver.requests} == {"d2"}  # receivers de-duplicate on it


def test_attempts_are_bounded_then_failed() -> None:
    receiver = Receiver(fail_first=99, fail_status=429).start()
    try:
        outcome = WebhookSender(LOOPBACK, attempts=3, backoff_s=0.01).send(
            "d3", receiver.url, BODY, "k"
        )
    finally:
        receiver.stop()
    assert not outcome.delivered and outcome.attempts == 3 and len(receiver.requests) == 3
    assert outcome.status == 429 and "429" in (outcome.error or "")


def test_a_client_error_is_not_retried_and_a_redirect_not_followed() -> None:
    receiver = Receiver(redirect=True).start()
    try:
        outcome = WebhookSender(LOOPBACK, backoff_s=0.01).send("d4", receiver.url, BODY, "k")
    finally:
        receiver.stop()
    assert not outcome.delivered and outcome.attempts == 1 and len(receiver.requests) == 1
    assert "redirect" in (outcome.error or "")


def test_a_closed_port_is_retried_then_failed() -> None:
    outcome = WebhookSender(LOOPBACK, attempts=2, backoff_s=0.01).send(
        "d5", "http://127.0.0.1:9/hook", BODY, "k"
    )
    assert not outcome.delivered and outcome.attempts == 2


def test_loopback_is_refused_unless_allowed(receiver: Receiver) -> None:
    outcome = WebhookSender(WebhookGuard()).send("d6", receiver.url, BODY, "k")
    assert not outcome.delivered and "non-public" in (outcome.error or "")
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("http:///nohost", "no host"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://10.0.0.5/hook", "non-public"),
        ("http://169.254.169.254/latest/meta-data", "non-public"),
        ("http://[::1]:8080/", "non-public"),
        ("http://[::ffff:127.0.0.1]/", "non-public"),
        ("http://192.168.1.1/", "non-public"),
        ("http://localhost:80/", "non-public"),
    ],
)
def test_the_guard_refuses(url: str, fragment: str) -> None:
    with pytest.raises(RefusedTarget, match=fragment):
        WebhookGuard().check(url)


def test_https_only_refuses_http() -> None:
    with pytest.raises(RefusedTarget, match="https://"):
        WebhookGuard(https_only=True).check_url("http://example.com/hook")
    assert WebhookGuard(https_only=True).check_url("https://example.com/hook") == (
        "example.com",
        443,
    )


def test_public_addresses_pass_and_allow_lists_widen() -> None:
    assert WebhookGuard().allowed(ipaddress.ip_address("93.184.216.34"))
    assert not WebhookGuard().allowed(ipaddress.ip_address("10.1.2.3"))
    assert WebhookGuard.of(["10.0.0.0/8"], False).allowed(ipaddress.ip_address("10.1.2.3"))
