"""WSGITask.request: Waitress's view of the parsed request, over our RequestHead."""

from waitress.request_view import RequestView
from waitress_http import RequestHead


def make_view(headers):
    return RequestView(RequestHead("GET", "/a/b?x=1", "1.1", headers))


def test_request_line_fields():
    view = make_view([])
    assert (view.command, view.version, view.request_uri) == ("GET", "1.1", "/a/b?x=1")


def test_header_names_are_upper_cased_with_dashes_as_underscores():
    view = make_view([("Content-Type", "text/plain"), ("x-forwarded-for", "203.0.113.9")])
    assert view.headers == {"CONTENT_TYPE": "text/plain", "X_FORWARDED_FOR": "203.0.113.9"}


def test_repeated_fields_are_joined_in_order():
    view = make_view([("Accept", "a/b"), ("X-Other", "1"), ("accept", "c/d")])
    assert view.headers == {"ACCEPT": "a/b, c/d", "X_OTHER": "1"}


def test_names_with_an_underscore_are_left_out():
    view = make_view([("X-Auth_User", "forged"), ("X-Auth-User", "real")])
    assert view.headers == {"X_AUTH_USER": "real"}


def test_each_read_is_a_new_dict():
    view = make_view([("Host", "example")])
    view.headers["HOST"] = "changed"
    assert view.headers == {"HOST": "example"}


def test_target_fields_of_an_origin_form_request():
    view = RequestView(RequestHead("GET", "/a%20b/c?x=1&y=%41", "1.1", [("Host", "h")]), "https")
    assert (view.path, view.query, view.url_scheme) == ("/a b/c", "x=1&y=%41", "https")
    assert (view.proxy_scheme, view.proxy_netloc) == ("", "")
    assert view.first_line == b"GET /a%20b/c?x=1&y=%41 HTTP/1.1"


def test_an_absolute_form_target_gives_the_proxy_fields():
    view = RequestView(RequestHead("GET", "http://example.com:8080/p?q", "1.1", []))
    assert (view.proxy_scheme, view.proxy_netloc, view.path, view.query) == (
        "http", "example.com:8080", "/p", "q")
    assert view.url_scheme == "http"


def test_framing_fields_and_the_parse_state():
    plain = RequestView(RequestHead("POST", "/", "1.0", [], 12, False, False, False))
    assert (plain.content_length, plain.chunked, plain.connection_close) == (12, False, True)
    chunked = RequestView(RequestHead("POST", "/", "1.1", [], None, True, True, True))
    assert (chunked.content_length, chunked.chunked, chunked.expect_continue,
            chunked.connection_close) == (0, True, True, False)
    assert (plain.completed, plain.empty, plain.error, plain.headers_finished) == (
        True, False, None, True)
