from __future__ import annotations

from forno.http.proxy import TrustedProxies, forwarded

PEER = ("10.0.0.1", 5000)


def test_rightmost_untrusted_address_is_the_client() -> None:
    trusted = TrustedProxies(["10.0.0.1", "10.0.0.2"])
    headers = [(b"x-forwarded-for", b"6.6.6.6, 1.2.3.4, 10.0.0.2")]
    assert forwarded(headers, PEER, "http", trusted) == (("1.2.3.4", 0), "http")


def test_proto_from_proxy() -> None:
    trusted = TrustedProxies(["10.0.0.1"])
    headers = [(b"x-forwarded-proto", b"HTTPS"), (b"x-forwarded-for", b"1.2.3.4")]
    assert forwarded(headers, PEER, "http", trusted) == (("1.2.3.4", 0), "https")
    assert forwarded([(b"x-forwarded-proto", b"gopher")], PEER, "http", trusted) == (PEER, "http")


def test_everyone_trusted_takes_leftmost() -> None:
    trusted = TrustedProxies(["*"])
    headers = [(b"x-forwarded-for", b"1.1.1.1, 2.2.2.2")]
    assert forwarded(headers, PEER, "http", trusted)[0] == ("1.1.1.1", 0)


def test_membership() -> None:
    trusted = TrustedProxies(["127.0.0.1", " ::1 "])
    assert "127.0.0.1" in trusted
    assert "::1" in trusted
    assert "8.8.8.8" not in trusted
    assert None in trusted
