"""What apply_proxy_headers logs: removed untrusted headers, unknown Forwarded tokens."""

import logging

import pytest
from waitress_proxy import MalformedProxyHeader, ProxySettings, apply_proxy_headers

REMOVED_TAIL = ". Waitress recommends these be removed upstream."


def environ_with(headers, peer="203.0.113.66"):
    environ = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http", "SERVER_PORT": "8080"}
    environ.update(headers)
    return environ


def messages(caplog):
    return [record.getMessage() for record in caplog.records]


def test_removed_headers_are_logged_in_a_stable_order(caplog):
    caplog.set_level(logging.WARNING, logger="waitress")
    environ = environ_with({"HTTP_X_FORWARDED_PROTO": "https", "HTTP_FORWARDED": "for=a",
                            "HTTP_X_FORWARDED_FOR": "1.1.1.1"})
    apply_proxy_headers(environ, ProxySettings(log_untrusted_proxy_headers=True))
    assert messages(caplog) == [
        "Removed untrusted headers (Forwarded, X-Forwarded-For, X-Forwarded-Proto)"
        + REMOVED_TAIL
    ]
    assert caplog.records[0].levelno == logging.WARNING
    assert caplog.records[0].name == "waitress"


def test_all_six_are_listed_by_their_wire_names(caplog):
    caplog.set_level(logging.WARNING, logger="waitress")
    environ = environ_with({
        "HTTP_FORWARDED": "for=a",
        "HTTP_X_FORWARDED_FOR": "1.1.1.1",
        "HTTP_X_FORWARDED_HOST": "h",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_PORT": "443",
        "HTTP_X_FORWARDED_BY": "2.2.2.2",
    })
    apply_proxy_headers(environ, ProxySettings(log_untrusted_proxy_headers=True))
    assert messages(caplog) == [
        "Removed untrusted headers (Forwarded, X-Forwarded-For, X-Forwarded-Host, "
        "X-Forwarded-Proto, X-Forwarded-Port, X-Forwarded-By)" + REMOVED_TAIL
    ]


def test_only_untrusted_ones_are_listed_for_a_trusted_peer(caplog):
    caplog.set_level(logging.WARNING, logger="waitress")
    environ = environ_with({"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "x"},
                           peer="10.0.0.1")
    settings = ProxySettings(trusted_proxy="10.0.0.1",
                             trusted_proxy_headers="x-forwarded-proto",
                             log_untrusted_proxy_headers=True)
    apply_proxy_headers(environ, settings)
    assert messages(caplog) == ["Removed untrusted headers (X-Forwarded-Host)" + REMOVED_TAIL]
    assert environ["wsgi.url_scheme"] == "https"


def test_nothing_logged_when_nothing_removed(caplog):
    caplog.set_level(logging.DEBUG)
    apply_proxy_headers(environ_with({}), ProxySettings(log_untrusted_proxy_headers=True))
    assert messages(caplog) == []


def test_nothing_logged_when_not_asked(caplog):
    caplog.set_level(logging.DEBUG)
    environ = environ_with({"HTTP_X_FORWARDED_FOR": "1.1.1.1"})
    apply_proxy_headers(environ, ProxySettings())
    assert "HTTP_X_FORWARDED_FOR" not in environ
    assert messages(caplog) == []


def test_nothing_logged_nor_removed_without_clearing(caplog):
    caplog.set_level(logging.DEBUG)
    environ = environ_with({"HTTP_X_FORWARDED_FOR": "1.1.1.1"})
    apply_proxy_headers(environ, ProxySettings(clear_untrusted_proxy_headers=False,
                                               log_untrusted_proxy_headers=True))
    assert environ["HTTP_X_FORWARDED_FOR"] == "1.1.1.1"
    assert messages(caplog) == []


def test_given_logger_is_used(caplog):
    caplog.set_level(logging.WARNING)
    logger = logging.getLogger("proxy-test-logger")
    environ = environ_with({"HTTP_X_FORWARDED_BY": "x"})
    apply_proxy_headers(environ, ProxySettings(log_untrusted_proxy_headers=True), logger)
    assert [record.name for record in caplog.records] == ["proxy-test-logger"]


def test_unknown_forwarded_tokens_are_logged_once_each(caplog):
    caplog.set_level(logging.WARNING, logger="waitress")
    environ = environ_with(
        {"HTTP_FORWARDED": "for=1.1.1.1;secret=x, for=2.2.2.2;Secret=z;other=1"},
        peer="10.0.0.1",
    )
    settings = ProxySettings(trusted_proxy="10.0.0.1", trusted_proxy_count=2,
                             trusted_proxy_headers="forwarded")
    apply_proxy_headers(environ, settings)
    assert messages(caplog) == [
        "Unknown Forwarded token: secret",
        "Unknown Forwarded token: other",
    ]
    assert environ["REMOTE_ADDR"] == "1.1.1.1"


def test_unknown_forwarded_tokens_logged_are_capped(caplog):
    caplog.set_level(logging.WARNING, logger="waitress")
    names = ["x{}".format(i) for i in range(25)]
    value = ";".join(name + "=1" for name in names) + ";for=1.1.1.1"
    environ = environ_with({"HTTP_FORWARDED": value}, peer="10.0.0.1")
    settings = ProxySettings(trusted_proxy="*", trusted_proxy_headers="forwarded")
    apply_proxy_headers(environ, settings)
    assert messages(caplog) == [
        "Unknown Forwarded token: " + name for name in names[:10]
    ] + ["15 more unknown Forwarded tokens not logged"]
    assert environ["REMOTE_ADDR"] == "1.1.1.1"


@pytest.mark.parametrize("count, summary", [(10, []), (11, ["1 more unknown Forwarded tokens not logged"])])
def test_the_cap_on_unknown_tokens_logged_is_ten(caplog, count, summary):
    caplog.set_level(logging.WARNING, logger="waitress")
    names = ["x{}".format(i) for i in range(count)]
    value = ";".join(name + "=1" for name in names) + ";for=1.1.1.1;by=10.0.0.1"  # by: a known token
    environ = environ_with({"HTTP_FORWARDED": value}, peer="10.0.0.1")
    settings = ProxySettings(trusted_proxy="*", trusted_proxy_headers="forwarded")
    apply_proxy_headers(environ, settings)
    assert messages(caplog) == ["Unknown Forwarded token: " + name for name in names[:10]] + summary


def test_unknown_tokens_go_to_the_logger_given(caplog):
    caplog.set_level(logging.WARNING)
    environ = environ_with({"HTTP_FORWARDED": "for=1.1.1.1;secret=x"}, peer="10.0.0.1")
    settings = ProxySettings(trusted_proxy="10.0.0.1", trusted_proxy_headers="forwarded")
    apply_proxy_headers(environ, settings, logging.getLogger("proxy-test-logger"))
    assert [record.name for record in caplog.records] == ["proxy-test-logger"]


def test_unknown_tokens_of_untrusted_elements_are_not_logged(caplog):
    caplog.set_level(logging.WARNING, logger="waitress")
    environ = environ_with({"HTTP_FORWARDED": "for=6.6.6.6;spam=1, for=1.1.1.1;ext=2"},
                           peer="10.0.0.1")
    settings = ProxySettings(trusted_proxy="10.0.0.1", trusted_proxy_headers="forwarded")
    apply_proxy_headers(environ, settings)
    assert messages(caplog) == ["Unknown Forwarded token: ext"]
    assert environ["REMOTE_ADDR"] == "1.1.1.1"


@pytest.mark.parametrize(
    "length, logged",
    [(256, "v" * 256), (300, "v" * 256 + "... (44 more characters)")],
)
def test_a_malformed_value_is_logged_whole_up_to_256_characters(length, logged):
    error = MalformedProxyHeader("X-Forwarded-Proto", "bad", "v" * length)
    assert error.log_args("192.0.2.1") == ("X-Forwarded-Proto", "192.0.2.1", "bad", logged)


def test_control_characters_are_escaped_in_the_log_and_nothing_else():
    # C0, DEL and C1 (NEL among them) could forge a log line; space, '~' and
    # NBSP are text.
    raw = "\x00\x1f \x7e\x7f\x85\x9f\xa0"
    escaped = "\\x00\\x1f ~\\x7f\\x85\\x9f\xa0"
    error = MalformedProxyHeader("X-Forwarded-For", "bad " + raw, raw)
    assert error.log_args(None)[2:] == ("bad " + escaped, escaped)

