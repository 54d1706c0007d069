"""Heads built once per second per header list: reuse never changes an answer."""

import pytest
from waitress_http import response as response_module
from waitress_http import response_checks
from waitress_http.dates import http_date
from waitress_http.response import Response

HEADERS = [("Content-Type", "text/plain")]


def whole(version="1.1", method="GET", keep_alive=True, body=b"hello", status="200 OK", headers=None):
    response = Response(version, method, keep_alive, "waitress")
    response.start_response(status, list(HEADERS if headers is None else headers))
    response.prepare([body])
    out = response.body(body) + response.end()
    return b"".join(out), response


@pytest.fixture
def clock(monkeypatch):
    now = [1_800_000_000.25]
    monkeypatch.setattr(response_module, "_time", lambda: now[0])
    response_checks.checked_headers.clear()
    return now


def test_the_same_response_twice_gives_the_same_bytes(clock):
    first, _ = whole()
    second, _ = whole()
    assert first == second
    assert b"Date: " + http_date(1_800_000_000).encode() in first


def test_a_new_second_brings_a_new_date(clock):
    first, _ = whole()
    clock[0] += 1
    second, _ = whole()
    assert b"Date: " + http_date(1_800_000_001).encode() in second
    assert first.replace(http_date(1_800_000_000).encode(), http_date(1_800_000_001).encode()) == second


def test_what_differs_between_requests_is_never_taken_from_another(clock):
    keep, _ = whole()
    closing, response = whole(keep_alive=False)
    assert b"Connection: close" in closing and b"Connection" not in keep
    assert response.close_connection
    old, _ = whole(version="1.0")
    assert old.startswith(b"HTTP/1.0 200 OK\r\n") and b"Connection: Keep-Alive" in old
    head, _ = whole(method="HEAD")
    assert head.endswith(b"\r\n\r\n") and b"Content-Length: 5" in head
    longer, _ = whole(body=b"hello world")
    assert b"Content-Length: 11" in longer and longer.endswith(b"hello world")
    missing, _ = whole(status="404 Not Found")
    assert missing.startswith(b"HTTP/1.1 404 Not Found\r\n")


def test_a_body_of_unknown_length_on_http_1_0_still_closes_when_reused(clock):
    for _ in range(2):
        response = Response("1.0", "GET", True, "waitress")
        response.start_response("200 OK", list(HEADERS))
        response.prepare(iter([b"a", b"b"]))
        out = response.body(b"a")
        assert b"Connection: close" in out[0]
        assert response.close_connection


def test_heads_kept_per_header_list_stay_bounded(clock):
    for size in range(response_module._HEADS_PER_LIST * 3):
        whole(body=b"x" * (size + 1))
    checked = response_checks.checked_headers[tuple(HEADERS)]
    assert len(checked.heads) <= response_module._HEADS_PER_LIST


CASES = [
    ("1.1", "GET", "200 OK", [("Content-Length", "5")], b"hello"),
    ("1.1", "GET", "200 OK", [], b"hello"),
    ("1.1", "GET", "200 OK", [("Content-Length", "3")], b"hello"),  # too long: cut
    ("1.1", "GET", "200 OK", [("Content-Length", "9")], b"hello"),  # too short: close
    ("1.1", "HEAD", "200 OK", [], b"hello"),
    ("1.1", "HEAD", "200 OK", [], b""),
    ("1.1", "GET", "204 No Content", [], b"hello"),
    ("1.1", "GET", "304 Not Modified", [("Content-Length", "5")], b""),
    ("1.0", "GET", "200 OK", [], b"hello"),
    ("1.1", "GET", "200 OK", [], b""),
    ("1.1", "GET", "200 OK", [], bytearray(b"hello")),
    ("1.1", "GET", "200 OK", [], memoryview(b"hello")),
]


@pytest.mark.parametrize("version, method, status, headers, chunk", CASES)
def test_whole_answers_exactly_as_prepare_body_and_end(clock, version, method, status, headers, chunk):
    def make():
        response = Response(version, method, True, "waitress", logger=Quiet())
        response.start_response(status, list(headers))
        return response

    stepwise = make()
    stepwise.prepare([chunk])
    expected = b"".join(bytes(b) for b in stepwise.body(chunk) + stepwise.end())
    fused = make()
    got = b"".join(bytes(b) for b in fused.whole(chunk))
    assert got == expected
    assert fused.close_connection == stepwise.close_connection
    assert fused.end() == [] and fused.headers_sent


class Quiet:
    def warning(self, *args):
        pass
