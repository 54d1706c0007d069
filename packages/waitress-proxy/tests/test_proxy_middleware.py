"""ProxyHeadersMiddleware: the same rules in front of any WSGI app, 400 on malformed headers."""

import io
import logging
import wsgiref.util
import wsgiref.validate

import pytest
from waitress_proxy import ProxyHeadersMiddleware, ProxySettings

SETTINGS = ProxySettings(
    trusted_proxy="127.0.0.1",
    trusted_proxy_headers="x-forwarded-for x-forwarded-proto x-forwarded-host",
)


def echo_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    keys = ("REMOTE_ADDR", "wsgi.url_scheme", "HTTP_HOST", "HTTP_X_FORWARDED_PORT")
    return ["{}={}\n".format(k, environ.get(k)).encode("latin-1") for k in keys]


def call(app, headers, peer="127.0.0.1"):
    environ = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ["REMOTE_ADDR"] = peer
    environ["wsgi.input"] = io.BytesIO(b"")
    environ.setdefault("QUERY_STRING", "")
    environ.update(headers)
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"] = status
        seen["headers"] = response_headers
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return seen["status"], dict(seen["headers"]), body


def test_applies_trusted_headers_before_the_app():
    app = ProxyHeadersMiddleware(echo_app, SETTINGS)
    status, _, body = call(app, {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7",
                                 "HTTP_X_FORWARDED_PROTO": "https",
                                 "HTTP_X_FORWARDED_PORT": "1234"})
    assert status == "200 OK"
    assert b"REMOTE_ADDR=198.51.100.7\n" in body
    assert b"wsgi.url_scheme=https\n" in body
    assert b"HTTP_X_FORWARDED_PORT=None\n" in body


def test_untrusted_peer_sees_nothing():
    app = ProxyHeadersMiddleware(echo_app, SETTINGS)
    _, _, body = call(app, {"HTTP_X_FORWARDED_FOR": "198.51.100.7",
                            "HTTP_X_FORWARDED_PROTO": "https"}, peer="10.1.1.1")
    assert b"REMOTE_ADDR=10.1.1.1\n" in body
    assert b"wsgi.url_scheme=http\n" in body


@pytest.mark.parametrize(
    "headers, blamed",
    [
        ({"HTTP_X_FORWARDED_PROTO": "gopher"}, "X-Forwarded-Proto"),
        ({"HTTP_X_FORWARDED_FOR": "not-an-address"}, "X-Forwarded-For"),
        ({"HTTP_X_FORWARDED_HOST": "a b"}, "X-Forwarded-Host"),
    ],
)
def test_malformed_header_gets_400_and_a_log_line(caplog, headers, blamed):
    caplog.set_level(logging.WARNING, logger="waitress")
    called = []

    def app(environ, start_response):
        called.append(True)
        return echo_app(environ, start_response)

    status, response_headers, body = call(ProxyHeadersMiddleware(app, SETTINGS), headers)
    assert called == []
    assert status == "400 Bad Request"
    assert response_headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response_headers["Content-Length"] == str(len(body))
    text = body.decode("utf-8")
    # The words of a server's own 400 and log line (Waitress's), found apart
    # by audit AC.
    assert text.startswith('Bad Request\r\n\r\nHeader "{}" malformed. '.format(blamed))
    [record] = caplog.records
    assert record.getMessage().startswith(
        'Malformed proxy header "{}" from "127.0.0.1": '.format(blamed)
    )


def test_logged_value_is_truncated(caplog):
    caplog.set_level(logging.WARNING, logger="waitress")
    call(ProxyHeadersMiddleware(echo_app, SETTINGS), {"HTTP_X_FORWARDED_PROTO": "x" * 10000})
    [record] = caplog.records
    assert len(record.getMessage()) < 500


def test_given_logger_is_used(caplog):
    caplog.set_level(logging.WARNING)
    logger = logging.getLogger("middleware-test")
    app = ProxyHeadersMiddleware(echo_app, SETTINGS, logger=logger)
    call(app, {"HTTP_X_FORWARDED_PROTO": "gopher"})
    assert [record.name for record in caplog.records] == ["middleware-test"]


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_X_FORWARDED_PROTO": "https"}, {"HTTP_X_FORWARDED_PROTO": "gopher"}],
)
def test_is_a_valid_wsgi_application(headers):
    """The wsgiref validator rejects, among others, hop-by-hop response headers."""
    app = wsgiref.validate.validator(ProxyHeadersMiddleware(echo_app, SETTINGS))
    status, _, _ = call(app, headers)
    assert status in ("200 OK", "400 Bad Request")
