"""The scanner tests run with the network cut off: a scanner that reaches for a model hub or an API fails here.

Every connect() to an address other than loopback raises, for every test in this folder (autouse), so the
detectors are proven to work from what their packages ship. Loopback stays open for real local servers.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest


class NetworkBlockedError(OSError):
    pass


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
    else:
        return isinstance(address, str | bytes)  # AF_UNIX paths are local
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: resolving and connecting to it would leave the machine


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: object) -> None:
        if not _is_loopback(address):
            raise NetworkBlockedError(f"network access is blocked in scanner tests (connect to {address!r})")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        if not _is_loopback(address):
            raise NetworkBlockedError(f"network access is blocked in scanner tests (connect to {address!r})")
        return real_connect_ex(self, address)

    def refuse_lookup(*args: object, **kwargs: object) -> None:
        raise NetworkBlockedError(f"network access is blocked in scanner tests (name lookup of {args[0]!r})")

    real_getaddrinfo = socket.getaddrinfo

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host in (None, "localhost") or (isinstance(host, str) and _is_loopback((host,))):
            return real_getaddrinfo(host, *args, **kwargs)
        return refuse_lookup(host)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
