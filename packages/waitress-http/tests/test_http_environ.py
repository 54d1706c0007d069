"""EnvironBuilder: every key of the PEP 3333 environ, checked against the rules."""

import io
import sys
import tracemalloc
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from waitress_http.environ import (
    EnvironBuilder,
    decode_path,
    field_key,
    normalize_url_prefix,
    unquote_in_windows,
)
from waitress_http.events import RequestHead


def make_head(target="/", method="GET", version="1.1", headers=None, chunked=False):
    return RequestHead(
        method,
        target,
        version,
        list(headers or []),
        content_length=None,
        chunked=chunked,
    )


def build(target="/", builder=None, content_length=None, **head_kw):
    builder = builder or EnvironBuilder("example.invalid", "8080")
    head = make_head(target, **head_kw)
    return builder.build(head, "192.0.2.7", 51234, io.BytesIO(b""), content_length)


class TestFixedKeys:
    def test_every_constant_key(self):
        stream = io.BytesIO(b"abc")
        errors = io.StringIO()
        builder = EnvironBuilder(
            "srv.example", "8443", url_scheme="https", ident="myserver", errors=errors
        )
        environ = builder.build(make_head("/x"), "198.51.100.1", "4711", stream, 3)
        assert environ["SERVER_NAME"] == "srv.example"
        assert environ["SERVER_PORT"] == "8443"
        assert environ["SERVER_SOFTWARE"] == "myserver"
        assert environ["SCRIPT_NAME"] == ""
        assert environ["wsgi.version"] == (1, 0)
        assert environ["wsgi.url_scheme"] == "https"
        assert environ["wsgi.input"] is stream
        assert environ["wsgi.input_terminated"] is True
        assert environ["wsgi.errors"] is errors
        assert environ["wsgi.multithread"] is True
        assert environ["wsgi.multiprocess"] is False
        assert environ["wsgi.run_once"] is False
        assert "wsgi.file_wrapper" not in environ

    def test_defaults(self):
        environ = build()
        assert environ["wsgi.url_scheme"] == "http"
        assert environ["wsgi.errors"] is sys.stderr
        assert environ["SERVER_SOFTWARE"] == "waitress"

    def test_errors_default_to_the_stderr_of_the_moment(self, monkeypatch):
        """Not the one at import or construction: a program, a daemonizing
        wrapper or pytest's capture may replace sys.stderr later."""
        builder = EnvironBuilder("h", "1")
        later = io.StringIO()
        monkeypatch.setattr(sys, "stderr", later)
        assert builder.build(make_head("/"), "a", "1", io.BytesIO(), None)["wsgi.errors"] is later

    def test_file_wrapper_when_given(self):
        class Wrapper:
            pass

        environ = build(builder=EnvironBuilder("h", "1", file_wrapper=Wrapper))
        assert environ["wsgi.file_wrapper"] is Wrapper

    @pytest.mark.parametrize("ident", ["", None])
    def test_empty_ident_gives_empty_server_software(self, ident):
        environ = build(builder=EnvironBuilder("h", "1", ident=ident))
        assert environ["SERVER_SOFTWARE"] == ""

    def test_each_build_is_a_fresh_dict(self):
        builder = EnvironBuilder("h", "1")
        first = build("/a", builder=builder)
        first["SERVER_NAME"] = "changed"
        first["HTTP_X"] = "leak"
        second = build("/b", builder=builder)
        assert second["SERVER_NAME"] == "h"
        assert "HTTP_X" not in second
        assert second["PATH_INFO"] == "/b"

    def test_all_cgi_values_are_str(self):
        environ = build("/p?q", headers=[("Host", "h"), ("Content-Type", "x/y")], content_length=0)
        for key, value in environ.items():
            if "." not in key:
                assert type(value) is str, key


class TestRequestLine:
    def test_method_uri_protocol(self):
        environ = build("/a/b?c=d", method="PATCH", version="1.0")
        assert environ["REQUEST_METHOD"] == "PATCH"
        assert environ["REQUEST_URI"] == "/a/b?c=d"
        assert environ["SERVER_PROTOCOL"] == "HTTP/1.0"

    def test_http11(self):
        assert build()["SERVER_PROTOCOL"] == "HTTP/1.1"

    def test_unknown_version_reported_as_1_0(self):
        assert build(version="2.0")["SERVER_PROTOCOL"] == "HTTP/1.0"

    def test_remote_address(self):
        environ = build()
        assert environ["REMOTE_ADDR"] == "192.0.2.7"
        assert environ["REMOTE_HOST"] == "192.0.2.7"
        assert environ["REMOTE_PORT"] == "51234"

    def test_unix_socket_peer_port_none(self):
        builder = EnvironBuilder("h", "/tmp/sock")
        environ = builder.build(make_head(), "localhost", None, None, None)
        assert environ["REMOTE_PORT"] == "None"
        assert environ["SERVER_PORT"] == "/tmp/sock"


class TestPathAndQuery:
    @pytest.mark.parametrize(
        "target, path, query",
        [
            ("/", "/", ""),
            ("/a/b", "/a/b", ""),
            ("/a?b=c&d", "/a", "b=c&d"),
            ("/a?", "/a", ""),
            ("/a?b?c", "/a", "b?c"),
            ("/a#frag", "/a", ""),
            ("/a?x=1#frag", "/a", "x=1"),
            ("/a%20b", "/a b", ""),
            ("/a%2Fb", "/a/b", ""),
            ("/a%2fb", "/a/b", ""),
            ("/%FF%e9", "/\xff\xe9", ""),
            ("/caf%C3%A9", "/caf\xc3\xa9", ""),
            ("/a%zzb", "/a%zzb", ""),
            ("/q?a%20b", "/q", "a%20b"),
            ("//x/y", "/x/y", ""),
            ("///x", "/x", ""),
            ("/%2F%2Fx", "/x", ""),
            ("/x//y", "/x//y", ""),
            ("*", "*", ""),
            ("http://host.example/p/q?z=1", "/p/q", "z=1"),
            ("http://host.example", "/", ""),
            ("http://host.example?z", "/", "z"),
            ("https://host.example:8443/a%2Fb", "/a/b", ""),
            ("http://host.example/#f", "/", ""),
            ("host.example:443", "", ""),
        ],
    )
    def test_target_forms(self, target, path, query):
        environ = build(target)
        assert environ["PATH_INFO"] == path
        assert environ["QUERY_STRING"] == query
        assert environ["REQUEST_URI"] == target

    def test_latin1_tunnelling_round_trips_bytes(self):
        environ = build("/%FF%00%80")
        assert environ["PATH_INFO"].encode("latin-1") == b"/\xff\x00\x80"

    def test_raw_latin1_target(self):
        # A parser may pass raw obs-text through as latin-1; it must survive decoding.
        environ = build("/\xe9%41")
        assert environ["PATH_INFO"] == "/\xe9A"

    @pytest.mark.parametrize(
        "target, host",
        [
            ("http://target.example/p", "target.example"),
            ("https://target.example:8443", "target.example:8443"),
            ("http://[2001:db8::1]:81?q", "[2001:db8::1]:81"),
            ("http://target.example#f", "target.example"),
        ],
    )
    def test_absolute_form_host_wins_over_the_host_field(self, target, host):
        # RFC 9112 3.2.2: the origin server MUST ignore Host and use the target's.
        environ = build(target, headers=[("Host", "field.example")])
        assert environ["HTTP_HOST"] == host

    def test_origin_form_keeps_the_host_field(self):
        assert build("/p", headers=[("Host", "field.example")])["HTTP_HOST"] == "field.example"

    def test_connect_authority_form(self):
        environ = build("example.com:443", method="CONNECT")
        assert environ["PATH_INFO"] == ""
        assert environ["QUERY_STRING"] == ""
        assert environ["REQUEST_URI"] == "example.com:443"

    def test_cached_target_gives_same_answer(self):
        builder = EnvironBuilder("h", "1", url_prefix="/app")
        first = build("/app/x%2F?y", builder=builder)
        second = build("/app/x%2F?y", builder=builder)
        assert (first["PATH_INFO"], first["QUERY_STRING"]) == ("/x/", "y")
        assert (second["PATH_INFO"], second["QUERY_STRING"]) == ("/x/", "y")

    def test_target_cache_is_bounded(self):
        builder = EnvironBuilder("h", "1")
        for n in range(2000):
            assert build("/n%d" % n, builder=builder)["PATH_INFO"] == "/n%d" % n
        assert len(builder._targets) <= 256


class TestUrlPrefix:
    @pytest.mark.parametrize(
        "prefix, script_name",
        [
            ("", ""),
            ("/", ""),
            ("app", "/app"),
            ("/app", "/app"),
            ("/app/", "/app"),
            ("//app//", "/app"),
            ("/a/b/", "/a/b"),
            ("  /app  ", "/app"),
            ("/Xray/", "/Xray"),  # only slashes are stripped
        ],
    )
    def test_normalised(self, prefix, script_name):
        assert normalize_url_prefix(prefix) == script_name
        environ = build(builder=EnvironBuilder("h", "1", url_prefix=prefix))
        assert environ["SCRIPT_NAME"] == script_name

    @pytest.mark.parametrize(
        "target, path",
        [
            ("/app", ""),
            ("/app/", "/"),
            ("/app/x/y", "/x/y"),
            ("/app?q=1", ""),
            ("/application", "/application"),
            ("/ap", "/ap"),
            ("/other/app/x", "/other/app/x"),
            ("/", "/"),
            ("/app%2Fx", "/x"),
            ("//app/x", "/x"),
            ("http://h/app/x", "/x"),
            ("*", "*"),
        ],
    )
    def test_stripped_from_path_info(self, target, path):
        environ = build(target, builder=EnvironBuilder("h", "1", url_prefix="/app/"))
        assert environ["SCRIPT_NAME"] == "/app"
        assert environ["PATH_INFO"] == path

    def test_nested_prefix(self):
        builder = EnvironBuilder("h", "1", url_prefix="/a/b")
        assert build("/a/b/c", builder=builder)["PATH_INFO"] == "/c"
        assert build("/a/bc", builder=builder)["PATH_INFO"] == "/a/bc"


class TestHeaders:
    def test_http_keys(self):
        environ = build(
            headers=[("Host", "h.example"), ("User-Agent", "t/1"), ("x-lower-case", "v")]
        )
        assert environ["HTTP_HOST"] == "h.example"
        assert environ["HTTP_USER_AGENT"] == "t/1"
        assert environ["HTTP_X_LOWER_CASE"] == "v"

    def test_duplicates_joined_in_order(self):
        environ = build(
            headers=[("Accept", "a"), ("X-Other", "o"), ("accept", "b"), ("ACCEPT", "c")]
        )
        assert environ["HTTP_ACCEPT"] == "a, b, c"
        assert environ["HTTP_X_OTHER"] == "o"

    def test_names_with_underscore_dropped(self):
        environ = build(headers=[("X_Forwarded_For", "1.2.3.4"), ("X-Real", "r"), ("_", "u")])
        assert "HTTP_X_FORWARDED_FOR" not in environ
        assert environ["HTTP_X_REAL"] == "r"
        assert not any(key.startswith("HTTP__") for key in environ)

    def test_underscore_name_cannot_join_onto_dash_name(self):
        environ = build(headers=[("X-Auth-User", "real"), ("X-Auth_User", "forged")])
        assert environ["HTTP_X_AUTH_USER"] == "real"

    def test_content_type_without_prefix(self):
        environ = build(headers=[("Content-Type", "text/plain")])
        assert environ["CONTENT_TYPE"] == "text/plain"
        assert "HTTP_CONTENT_TYPE" not in environ

    def test_content_type_duplicates_joined(self):
        environ = build(headers=[("Content-Type", "a/b"), ("content-type", "c/d")])
        assert environ["CONTENT_TYPE"] == "a/b, c/d"

    def test_content_length_from_argument(self):
        environ = build(headers=[("Content-Length", "5")], content_length=5)
        assert environ["CONTENT_LENGTH"] == "5"
        assert "HTTP_CONTENT_LENGTH" not in environ

    def test_content_length_zero(self):
        assert build(content_length=0)["CONTENT_LENGTH"] == "0"

    def test_absent_content_headers(self):
        environ = build()
        assert "CONTENT_LENGTH" not in environ
        assert "CONTENT_TYPE" not in environ

    def test_chunked_request_loses_transfer_encoding(self):
        environ = build(
            method="POST",
            headers=[("Transfer-Encoding", "chunked")],
            chunked=True,
            content_length=11,
        )
        assert "HTTP_TRANSFER_ENCODING" not in environ
        assert environ["CONTENT_LENGTH"] == "11"

    def test_unchunked_transfer_encoding_passed_through(self):
        # An HTTP/1.0 request's Transfer-Encoding is ignored for framing, so
        # the application still gets to see it.
        environ = build(version="1.0", headers=[("Transfer-Encoding", "chunked")])
        assert environ["HTTP_TRANSFER_ENCODING"] == "chunked"

    def test_header_cannot_overwrite_server_keys(self):
        environ = build(headers=[("Server-Name", "evil"), ("Remote-Addr", "6.6.6.6")])
        assert environ["SERVER_NAME"] == "example.invalid"
        assert environ["REMOTE_ADDR"] == "192.0.2.7"
        assert environ["HTTP_SERVER_NAME"] == "evil"
        assert environ["HTTP_REMOTE_ADDR"] == "6.6.6.6"

    def test_header_name_cache_is_bounded(self):
        from waitress_http import environ as environ_module

        builder = EnvironBuilder("example.invalid", "8080")
        for n in range(3000):
            environ = build(builder=builder, headers=[("X-N%d" % n, "v")])
            assert environ["HTTP_X_N%d" % n] == "v"
        assert len(builder._keys) <= environ_module._KEY_CACHE_LIMIT


def test_drop_keys_leave_those_headers_out_in_any_spelling():
    from waitress_http import EnvironBuilder, RequestParser

    builder = EnvironBuilder("localhost", "80", drop_keys=["HTTP_X_FORWARDED_FOR"])
    parser = RequestParser()
    parser.feed(
        b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\n"
        b"x-forwarded-for: 5.6.7.8\r\nX-Other: kept\r\n\r\n"
    )
    environ = builder.build(parser.next_event(), "127.0.0.1", "1", None, None)
    assert "HTTP_X_FORWARDED_FOR" not in environ
    assert environ["HTTP_X_OTHER"] == "kept"


def test_heads_with_one_key_share_derived_entries_but_never_an_environ():
    from waitress_http.head import parse_head

    block = b"GET /a%20b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\nX-A: 2\r\n"
    builder = EnvironBuilder("example.com", "80")
    first = builder.build(parse_head(block), "10.0.0.1", 1000, io.BytesIO(), None)
    first["HTTP_X_A"] = "changed by the application"
    first["PATH_INFO"] = "/elsewhere"
    second = builder.build(parse_head(block), "10.0.0.2", 2000, io.BytesIO(), None)
    assert second["HTTP_X_A"] == "1, 2" and second["PATH_INFO"] == "/a b"
    assert (second["REMOTE_ADDR"], second["REMOTE_PORT"]) == ("10.0.0.2", "2000")
    uncached = make_head("/a%20b?x=1", headers=[("Host", "example.com"), ("X-A", "1"), ("X-A", "2")])
    third = builder.build(uncached, "10.0.0.2", 2000, second["wsgi.input"], None)
    assert third == second


@pytest.mark.parametrize(
    "name, key",
    [
        ("X-Forwarded-For", "X_FORWARDED_FOR"),
        ("content-type", "CONTENT_TYPE"),
        ("Content-Length", "CONTENT_LENGTH"),  # dropped from the environ, not here
        ("X-Auth_User", ""),
        ("_", ""),
    ],
)
def test_field_key(name, key):
    """The one spelling rule shared by the environ and WSGITask.request."""
    assert field_key(name) == key


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=64).map(lambda raw: raw.translate(_PERCENT_HEAVY)),
    window=st.integers(min_value=3, max_value=16),
)
def test_decoding_in_windows_is_decoding_whole(data: bytes, window: int) -> None:
    """No window boundary may fall inside an escape, valid or not."""
    assert unquote_in_windows(data, window) == unquote_to_bytes(data)


# Bytes mapped onto an alphabet of mostly "%" and hex digits, so escapes,
# broken escapes and runs of "%" fall on every window boundary.
_PERCENT_HEAVY = bytes(b"%%%%4Aa0fg/z"[index % 12] for index in range(256))


def test_a_long_target_of_escapes_is_decoded_without_splitting_it_whole() -> None:
    """256 KiB of escapes: 19 MB at the peak when decoded in one piece."""
    data = b"/" + b"%41" * 87_000
    tracemalloc.start()
    try:
        decoded = decode_path(data.decode("latin-1"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decoded == "/" + "A" * 87_000
    assert peak < 4 * len(data)


def test_the_per_head_cache_is_bounded_by_bytes_as_the_head_cache_is():
    """Parts cached by ever-different 4 KiB heads pinned memory per listener."""
    from waitress_http.head import HEAD_CACHE_BYTES, HEAD_CACHE_MAX_SIZE, parse_head

    builder = EnvironBuilder("example.invalid", "8080")
    for number in range(256):
        block = b"GET /%d HTTP/1.1\r\nHost: example.com\r\nX-Pad: " % number
        block += b"p" * (HEAD_CACHE_MAX_SIZE - len(block) - 2) + b"\r\n"
        builder.build(parse_head(block), "192.0.2.7", 51234, io.BytesIO(b""), None)
        assert sum(map(len, builder._parts)) <= HEAD_CACHE_BYTES


# -- found by mutation testing ------------------------------------------------------


def test_an_origin_form_target_never_overrides_host():
    # Only an absolute-form target names the host; a URL in the query does not.
    environ = build("/login?next=http://evil.example/x", headers=[("Host", "good.example")])
    assert environ["HTTP_HOST"] == "good.example"
    environ = build("http://other.example:81/p", headers=[("Host", "good.example")])
    assert environ["HTTP_HOST"] == "other.example:81"


def test_fields_named_with_underscores_leave_no_stray_key():
    environ = build("/", headers=[("Host", "a"), ("X_Auth_User", "admin"), ("Content-Length", "0")])
    assert "" not in environ and "HTTP_" not in environ and "X" not in environ
    assert not [key for key in environ if key.startswith("HTTP_") and key != "HTTP_HOST"]


def test_a_cached_target_gives_the_same_path_and_query():
    builder = EnvironBuilder("example.invalid", "8080", url_prefix="/app")
    assert builder.path_and_query("/app/x?q=1") == ("/x", "q=1")
    assert builder.path_and_query("/app/x?q=1") == ("/x", "q=1")
    first = build("/app/x?q=1", builder=builder)
    again = build("/app/x?q=1", builder=builder)
    assert (again["SCRIPT_NAME"], again["PATH_INFO"], again["QUERY_STRING"]) == \
        (first["SCRIPT_NAME"], first["PATH_INFO"], first["QUERY_STRING"]) == ("/app", "/x", "q=1")


def test_a_url_prefix_of_none_is_no_prefix():
    environ = build("/a", builder=EnvironBuilder("example.invalid", "8080", url_prefix=None))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("", "/a")


def test_a_dropped_header_leaves_nothing_behind():
    builder = EnvironBuilder("localhost", "80", drop_keys=["HTTP_X_FORWARDED_FOR"])
    plain = build(builder=builder, headers=[("Host", "h")])
    dropped = build(builder=builder, headers=[("Host", "h"), ("X-Forwarded-For", "1.2.3.4")])
    assert dropped.keys() == plain.keys()


@pytest.mark.parametrize(
    "target, parts",
    [
        ("http://example.com/p?q=1", ("/p", "q=1")),
        ("http://example.com?q=1", ("/", "q=1")),
        ("http://example.com", ("/", "")),
        ("/p?q=1", ("/p", "q=1")),
        ("http://Xample.test/p", ("/p", "")),  # only '/' and '?' end the authority
    ],
)
def test_split_target_gives_one_leading_slash(target, parts):
    from waitress_http import split_target

    assert split_target(target) == parts


@pytest.mark.parametrize("raw, path", [("//a", "/a"), ("///a//b", "/a//b"), ("/%2F/a", "/a"), ("//Xa", "/Xa")])
def test_decode_path_leaves_one_leading_slash(raw, path):
    # waitress's task calls decode_path directly, without split_target.
    assert decode_path(raw) == path
