"""Where a deployment may send requests: http(s), and never to the cloud's metadata service or
another link-local address, from which a crafted `api_base` could read the machine's own
credentials (server-side request forgery). Hosts an operator trusts anyway can be allowed with
LLM_API_BASE_ALLOWED_HOSTS."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

DENIED_NETWORKS = [
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, and the metadata service of most clouds
    ipaddress.ip_network("fe80::/10"),  # link-local
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud metadata
    ipaddress.ip_network("0.0.0.0/32"),
    ipaddress.ip_network("::/128"),
]
DENIED_HOST_NAMES = {
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
}


def validate_api_base(url: str) -> None:
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("An API base is an http:// or https:// URL with a host.")
    host = parts.hostname.lower().rstrip(".")
    if host in {allowed.lower() for allowed in settings.LLM_API_BASE_ALLOWED_HOSTS}:
        return
    if host in DENIED_HOST_NAMES or any(_denied(address) for address in _addresses(host)):
        raise ValidationError(
            f"{host} is a link-local or cloud metadata address: deployments may not call it "
            "(allow it with LLM_API_BASE_ALLOWED_HOSTS if you must)."
        )


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The host itself when it is an address, else what it resolves to now (nothing when it does
    not resolve: the call would fail anyway)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]


def _denied(address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in DENIED_NETWORKS if network.version == address.version)
