"""Where a webhook may point: http(s) only, and (unless allowed) no private, loopback, link-local
or other non-global address, checked when an endpoint is made and again at each delivery."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(Exception):
    """The URL may not be called. `retryable`: only because its name did not resolve (now)."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.retryable = retryable


def url_shape_problem(url: str) -> str | None:
    """Why `url` is not an absolute http(s) URL with a host; None when it is one."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in SCHEMES:
        return "use an http:// or https:// URL"
    if not parts.hostname:
        return "the URL has no host"
    return None


def address_refused(address: IPAddress) -> bool:
    """Anything but a global unicast address (IPv4 inside IPv6 judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


async def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused("the host name does not resolve", retryable=True) from None
    # A scoped IPv6 address comes back as "fe80::1%eth0"; the scope is no part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def ensure_url_allowed(url: str, *, allow_private: bool) -> None:
    """Raise UrlRefused unless `url` is http(s) and every address its host resolves to is global
    (`allow_private` skips the address check: a trusted network, or the tests)."""
    problem = url_shape_problem(url)
    if problem is not None:
        raise UrlRefused(problem)
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    addresses = await _addresses(host, port)
    if any(address_refused(address) for address in addresses):
        raise UrlRefused(
            "the host is a private, loopback, link-local or otherwise non-public address"
        )
