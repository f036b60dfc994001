import socket
import threading

import pytest

from apps.scanners.detectors.base import ScanContext
from apps.scanners.detectors.geo import GeoScanner
from apps.scanners.detectors.language import detect
from apps.scanners.tests.conftest import NetworkBlockedError


def test_connecting_outside_the_machine_fails_in_scanner_tests():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkBlockedError):
        sock.connect(("8.8.8.8", 443))


def test_resolving_a_host_name_fails_in_scanner_tests():
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("pypi.org", 443)


def test_loopback_stays_usable_for_real_local_servers():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        accepted = []
        thread = threading.Thread(target=lambda: accepted.append(server.accept()[0].recv(5)))
        thread.start()
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            client.sendall(b"hello")
        thread.join(timeout=5)

    assert accepted == [b"hello"]


def test_the_data_driven_scanners_work_with_the_network_blocked():
    assert GeoScanner().scan("", ScanContext(client_ip="8.8.8.8")).details["country"] == "US"
    assert detect("Das ist ein ganz normaler deutscher Satz über das Wetter.")[0] == "de"
