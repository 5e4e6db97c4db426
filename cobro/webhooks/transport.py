"""HTTP delivery to integrators' URLs with an SSRF guard.

The host is resolved once; every address it resolves to must be public (not private,
loopback, link-local, multicast, reserved or unspecified, IPv4-mapped forms included) unless
``COBRO_WEBHOOKS_ALLOW_PRIVATE`` is on (development and tests). The connection then goes to
the address that was checked, never to a second resolution (DNS rebinding), while TLS still
verifies the certificate of the host name. Redirects are not followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

TIMEOUT_SECONDS = 10
BODY_EXCERPT_BYTES = 1024


class DestinationRefused(Exception):
    """The URL is malformed or points at an address webhooks may not reach."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP address to connect to


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def allow_private() -> bool:
    return bool(getattr(settings, "COBRO_WEBHOOKS_ALLOW_PRIVATE", False))


def resolve_target(url: str) -> Target:
    """Parse and resolve ``url``; raise ``DestinationRefused`` unless every address is allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused("only http(s) URLs with a host are accepted")
    if parts.scheme == "http" and not allow_private():
        raise DestinationRefused("webhook URLs must use https")
    if parts.username or parts.password:
        raise DestinationRefused("credentials in the URL are not accepted")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DestinationRefused("invalid port") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"cannot resolve {parts.hostname}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise DestinationRefused(f"cannot resolve {parts.hostname}")
    if not allow_private():
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address.split("%", 1)[0])):
                raise DestinationRefused(f"{parts.hostname} resolves to a non-public address")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, **kwargs) -> None:
        super().__init__(target.host, target.port, **kwargs)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, **kwargs) -> None:
        super().__init__(target.host, target.port, context=ssl.create_default_context(), **kwargs)
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PostResult:
    status: int | None
    body_excerpt: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, *, body: bytes, headers: dict[str, str]) -> PostResult:
    """POST ``body`` to ``url``; never raises for network trouble (it is a failed attempt)."""
    try:
        target = resolve_target(url)
    except DestinationRefused as exc:
        return PostResult(None, "", f"refused: {exc}")
    conn_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = conn_class(target, timeout=TIMEOUT_SECONDS)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        excerpt = response.read(BODY_EXCERPT_BYTES).decode("utf-8", errors="replace")
        return PostResult(response.status, excerpt)
    except (OSError, http.client.HTTPException) as exc:
        return PostResult(None, "", f"{type(exc).__name__}: {exc}"[:500])
    finally:
        conn.close()
