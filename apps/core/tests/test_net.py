"""client_ip: the one rule for the caller's address (rate limits, audit log). X-Forwarded-For is read only
behind TRUSTED_PROXY_COUNT proxies, and then only the entry the first trusted proxy wrote."""

import pytest
from django.test import RequestFactory

from apps.core.net import client_ip


def request_from(remote_addr: str = "10.0.0.1", forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, headers=headers)


def test_without_trusted_proxies_the_header_is_never_read(settings):
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_ip(request_from("10.0.0.1", "203.0.113.7")) == "10.0.0.1"


def test_behind_one_proxy_the_rightmost_entry_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip(request_from("10.0.0.1", "203.0.113.7")) == "203.0.113.7"


def test_entries_a_caller_prepends_are_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    # The caller sent "X-Forwarded-For: 1.2.3.4, 5.6.7.8"; the proxy appended the address it saw.
    assert client_ip(request_from("10.0.0.1", "1.2.3.4, 5.6.7.8, 198.51.100.20")) == "198.51.100.20"


def test_behind_two_proxies_the_second_entry_from_the_right_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    assert client_ip(request_from("10.0.0.2", "1.2.3.4, 198.51.100.20, 10.0.0.1")) == "198.51.100.20"


def test_repeated_headers_count_as_one_list(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6,198.51.100.20")

    assert client_ip(request) == "198.51.100.20"


def test_fewer_entries_than_trusted_proxies_falls_back_to_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    assert client_ip(request_from("10.0.0.2", "203.0.113.7")) == "10.0.0.2"


def test_a_missing_header_falls_back_to_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip(request_from("10.0.0.1")) == "10.0.0.1"


@pytest.mark.parametrize(
    "garbage",
    ["not-an-ip", "", " , ", "1.2.3.4:8080", "999.1.1.1", "<script>", "1.2.3.4\x00", "unknown", "2001:db8::1%eth0/64"],
)
def test_garbage_in_the_trusted_entry_falls_back_to_the_peer(settings, garbage):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip(request_from("10.0.0.1", f"203.0.113.7, {garbage}")) == "10.0.0.1"


def test_ipv6_entries_are_normalised(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip(request_from("10.0.0.1", "[2001:DB8:0:0::1]")) == "2001:db8::1"
    assert client_ip(request_from("10.0.0.1", "2001:db8:0:0::2")) == "2001:db8::2"


def test_no_request_has_no_address():
    assert client_ip(None) is None
