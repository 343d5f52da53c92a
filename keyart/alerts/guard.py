"""The webhook SSRF guard: a target must be http(s), and a host resolving to a private,
loopback, link-local or otherwise non-public address is refused unless an allowed CIDR
(KEYART_WEBHOOK_ALLOW) contains it."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from keyart.errors import BadUserInput, ConfigError

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(BadUserInput):
    """A webhook URL the guard does not send to."""


@dataclass(frozen=True, slots=True)
class WebhookGuard:
    """Which webhook targets may be sent to."""

    allow: tuple[IpNetwork, ...] = ()
    https_only: bool = False

    @classmethod
    def of(cls, allow: Sequence[str], https_only: bool) -> WebhookGuard:
        """A guard from KEYART_WEBHOOK_ALLOW's CIDRs; ConfigError naming a bad one."""
        networks = []
        for cidr in allow:
            try:
                networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError as exc:
                raise ConfigError(f"KEYART_WEBHOOK_ALLOW: {cidr!r} is not a CIDR") from exc
        return cls(tuple(networks), https_only)

    def check_url(self, url: str) -> tuple[str, int]:
        """The (host, port) of a well-formed webhook URL; RefusedTarget saying what is wrong
        (no DNS lookup: see `check`)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise RefusedTarget(f"webhookUrl {url!r} is not a valid URL: {exc}") from exc
        if parts.scheme not in ("http", "https"):
            raise RefusedTarget(f"webhookUrl must be http:// or https://, got {url!r}")
        if self.https_only and parts.scheme != "https":
            raise RefusedTarget("webhookUrl must be https:// (KEYART_WEBHOOK_HTTPS_ONLY is set)")
        if not parts.hostname:
            raise RefusedTarget(f"webhookUrl {url!r} has no host")
        if parts.username or parts.password:
            raise RefusedTarget("webhookUrl must not carry credentials")
        return parts.hostname, port or (443 if parts.scheme == "https" else 80)

    def check(self, url: str) -> list[IpAddress]:
        """The addresses `url`'s host resolves to, every one of them allowed; RefusedTarget
        otherwise (called before every attempt: a name may resolve differently later)."""
        host, port = self.check_url(url)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise RefusedTarget(f"webhookUrl host {host!r} does not resolve: {exc}") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        for address in addresses:
            if not self.allowed(address):
                raise RefusedTarget(
                    f"webhookUrl host {host!r} resolves to {address}, a non-public address "
                    "(allow it with KEYART_WEBHOOK_ALLOW)"
                )
        return addresses

    def allowed(self, address: IpAddress) -> bool:
        """Public addresses, and any address inside an allowed network."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in net for net in self.allow):
            return True
        return address.is_global and not address.is_multicast


__all__ = ["RefusedTarget", "WebhookGuard"]
