"""The gate's sockets and addresses: peers as gRPC names them, the per-address key, the descriptor budget, binding."""

from __future__ import annotations

import ipaddress
import logging
import resource
import socket
import struct
from typing import Any

log = logging.getLogger(__name__)

SPARE_DESCRIPTORS = 128  # for the RTI's own files, the audit log, gRPC's wake-up pipes...
FDS_PER_CONNECTION = 3  # the client's socket, the gate's upstream socket, gRPC's side of it


def peer_string(address: tuple[Any, ...]) -> str:
    """A socket address as gRPC writes a peer ('ipv4:10.0.0.1:5123', 'ipv6:[::1]:5123')."""
    host, port = address[0], address[1]
    ip = ipaddress.ip_address(host.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:  # a dual-stack socket's IPv4 client
        ip = ip.ipv4_mapped
    return f"ipv4:{ip}:{port}" if ip.version == 4 else f"ipv6:[{ip}]:{port}"


def address_key(address: tuple[Any, ...]) -> str:
    """What the per-address cap counts: the IPv4 address, or the IPv6 /64 (one machine's share)."""
    ip = ipaddress.ip_address(address[0].split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def connection_budget(wanted: int) -> int:
    """How many relayed connections the descriptor limit allows, at most `wanted`.

    Raises the soft limit (RLIMIT_NOFILE) towards the hard one when it is too low for `wanted`."""
    need = wanted * FDS_PER_CONNECTION + SPARE_DESCRIPTORS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        raised = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= need:
        return wanted
    return max(1, (soft - SPARE_DESCRIPTORS) // FDS_PER_CONNECTION)


def bind(listen: str) -> list[socket.socket]:
    """Listening sockets for HOST:PORT ('' or '[::]' host: every interface), all on one port."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit():
        raise OSError(f"expected HOST:PORT, got {listen!r}")
    infos = socket.getaddrinfo(host.strip("[]") or None, int(port_text), socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                               socket.AI_PASSIVE)
    seen, addresses = set(), []
    for family, _, _, _, address in infos:
        if (family, address[0]) not in seen and family in (socket.AF_INET, socket.AF_INET6):
            seen.add((family, address[0]))
            addresses.append((family, address))
    both = {f for f, _ in addresses} == {socket.AF_INET, socket.AF_INET6}
    port = int(port_text)
    sockets: list[socket.socket] = []
    try:
        for family, address in addresses:
            s = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # '[::]' alone takes IPv4 clients too, as gRPC's would
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if both else 0)
            s.bind((address[0], port, *address[2:]))
            port = s.getsockname()[1]  # port 0: every address gets the one the first was given
            s.listen(socket.SOMAXCONN)
            s.setblocking(False)
    except BaseException:
        for s in sockets:
            s.close()
        raise
    if not sockets:
        raise OSError(f"{listen!r} resolves to no IPv4 or IPv6 address")
    return sockets


def linger_zero(sock: Any) -> None:
    """Make the socket's close a reset (RST) rather than an orderly end (FIN)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


def reset(sock: socket.socket) -> None:
    """Close at once with a reset: a refused peer leaves no TIME_WAIT behind on our side."""
    linger_zero(sock)
    sock.close()
