"""ProxySettings: what it accepts, what it refuses (with Waitress's messages), what it precomputes."""

import pytest
from waitress_proxy import (
    KNOWN_PROXY_HEADERS,
    PROXY_HEADER_ENVIRON_KEYS,
    ProxySettings,
    normalize_trusted_proxy_headers,
)


def test_defaults():
    settings = ProxySettings()
    assert settings.trusted_proxy is None
    assert settings.trusted_proxy_count == 1
    assert settings.trusted_proxy_headers == frozenset()
    assert settings.clear_untrusted_proxy_headers is True
    assert settings.log_untrusted_proxy_headers is False
    assert settings.untrusted_keys == PROXY_HEADER_ENVIRON_KEYS
    assert settings.active


def test_known_headers_are_the_six():
    assert KNOWN_PROXY_HEADERS == {
        "forwarded", "x-forwarded-for", "x-forwarded-host",
        "x-forwarded-proto", "x-forwarded-port", "x-forwarded-by",
    }
    assert set(PROXY_HEADER_ENVIRON_KEYS) == {
        "HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST",
        "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_BY",
    }


@pytest.mark.parametrize(
    "given, expected",
    [
        (None, frozenset()),
        ("", frozenset()),
        ("X-Forwarded-For  x-forwarded-proto\n", {"x-forwarded-for", "x-forwarded-proto"}),
        (["Forwarded"], {"forwarded"}),
        ({"x-forwarded-by"}, {"x-forwarded-by"}),
        (["x-forwarded-for", " "], {"x-forwarded-for"}),  # a blank entry names nothing
    ],
)
def test_header_names_are_normalized(given, expected):
    assert normalize_trusted_proxy_headers(given) == expected
    assert ProxySettings(trusted_proxy_headers=given).trusted_proxy_headers == expected


def test_unknown_header_name_message():
    with pytest.raises(ValueError) as info:
        ProxySettings(trusted_proxy="1.2.3.4", trusted_proxy_headers={"x-foo"})
    message = str(info.value)
    assert message.startswith(
        "Received unknown trusted_proxy_headers value (x-foo) expected one of "
    )
    for name in KNOWN_PROXY_HEADERS:
        assert name in message


def test_unknown_header_names_are_all_listed_in_waitress_words():
    with pytest.raises(ValueError) as info:
        ProxySettings(trusted_proxy_headers="x-foo forwarded x-bar")
    assert str(info.value) == (
        "Received unknown trusted_proxy_headers value (x-bar, x-foo) expected one of "
        "forwarded, x-forwarded-by, x-forwarded-for, x-forwarded-host, "
        "x-forwarded-port, x-forwarded-proto"
    )


def test_forwarded_and_x_forwarded_are_exclusive():
    with pytest.raises(ValueError) as info:
        ProxySettings(trusted_proxy="1.2.3.4",
                      trusted_proxy_headers={"forwarded", "x-forwarded-for"})
    assert str(info.value) == (
        "The Forwarded proxy header and the X-Forwarded-{By,Host,Proto,Port,For} "
        "headers are mutually exclusive. Can't trust both!"
    )


@pytest.mark.parametrize("count", [0, -1, True, 1.5, "2"])
def test_bad_counts_are_refused(count):
    with pytest.raises(ValueError, match="trusted_proxy_count"):
        ProxySettings(trusted_proxy="1.2.3.4", trusted_proxy_count=count)


def test_count_none_is_one():
    assert ProxySettings(trusted_proxy_count=None).trusted_proxy_count == 1


@pytest.mark.parametrize(
    "given, expected",
    [(None, None), ("", None), ("  ", None), ("10.0.0.1", "10.0.0.1"),
     ("[::1]", "::1"), ("*", "*"), ("localhost", "localhost"),
     # Only a bracket pair is taken off; one bracket is left for the compare to refuse.
     ("::1]", "::1]"), ("[::1", "[::1")],
)
def test_trusted_proxy_normalized(given, expected):
    assert ProxySettings(trusted_proxy=given).trusted_proxy == expected


def test_trusted_proxy_must_be_a_string():
    with pytest.raises(ValueError, match="trusted_proxy"):
        ProxySettings(trusted_proxy=("10.0.0.1",))


def test_immutable():
    settings = ProxySettings(trusted_proxy="10.0.0.1")
    with pytest.raises(AttributeError):
        settings.trusted_proxy = "*"
    with pytest.raises(AttributeError):
        del settings.trusted_proxy
    with pytest.raises(AttributeError):
        settings.something_new = 1


def test_precomputed_untrusted_keys():
    settings = ProxySettings(trusted_proxy="10.0.0.1",
                             trusted_proxy_headers="x-forwarded-for x-forwarded-proto")
    assert settings.untrusted_keys == (
        "HTTP_FORWARDED", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
        "HTTP_X_FORWARDED_BY",
    )
    assert settings.use_for and settings.use_proto
    assert not (settings.use_host or settings.use_port or settings.use_by
                or settings.use_forwarded)
    forwarded = ProxySettings(trusted_proxy="10.0.0.1", trusted_proxy_headers="forwarded")
    assert "HTTP_FORWARDED" not in forwarded.untrusted_keys
    assert len(forwarded.untrusted_keys) == 5


def test_inactive_when_nothing_to_do():
    assert not ProxySettings(clear_untrusted_proxy_headers=False).active
    assert ProxySettings(trusted_proxy="*", clear_untrusted_proxy_headers=False).active


def test_equality_hash_and_repr():
    a = ProxySettings("10.0.0.1", 2, "x-forwarded-for")
    b = ProxySettings(trusted_proxy="10.0.0.1", trusted_proxy_count=2,
                      trusted_proxy_headers=["X-Forwarded-For"])
    assert a == b and hash(a) == hash(b)
    assert a != ProxySettings("10.0.0.1", 3, "x-forwarded-for")
    assert "trusted_proxy='10.0.0.1'" in repr(a)
    assert "['x-forwarded-for']" in repr(a)


def test_settings_compare_only_with_settings():
    assert ProxySettings() == ProxySettings()
    assert ProxySettings() != ProxySettings(trusted_proxy="10.0.0.1")
    assert (ProxySettings() == 1) is False and ProxySettings() != "settings"
