"""Data-driven parser cases: tests/requests/{valid,invalid}/NNN_name.{http,json}.

Every case is fed whole, one byte at a time and in odd-sized pieces: the
outcome (requests, error status and detail) must not depend on how the bytes
arrived.
"""

import importlib.util
import json
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from waitress_http.errors import HTTPError
from waitress_http.events import NEED_DATA, Body, EndOfMessage, RequestHead
from waitress_http.parser import RequestParser

CASES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requests")


def case_names(kind: str) -> List[str]:
    directory = os.path.join(CASES_DIR, kind)
    return sorted(name[: -len(".http")] for name in os.listdir(directory) if name.endswith(".http"))


def load_case(kind: str, name: str) -> Tuple[bytes, Dict[str, Any]]:
    base = os.path.join(CASES_DIR, kind, name)
    with open(base + ".http", "rb") as http_file:
        raw = http_file.read()
    with open(base + ".json", encoding="utf-8") as json_file:
        expected = json.load(json_file)
    return raw, expected


def pieces(raw: bytes, mode: str) -> Iterator[bytes]:
    if mode == "whole":
        yield raw
        return
    # Byte by byte is the harshest split; big cases use prime-sized pieces so
    # the suite stays fast and still cuts every delimiter somewhere.
    size = 1 if mode == "bytes" and len(raw) <= 4096 else 7 if mode == "sevens" else 997
    for offset in range(0, len(raw), size):
        yield raw[offset : offset + size]


def head_as_dict(head: RequestHead) -> Dict[str, Any]:
    return {
        "method": head.method,
        "target": head.target,
        "version": head.version,
        "headers": [list(pair) for pair in head.headers],
        "body": b"",
        "content_length": head.content_length,
        "chunked": head.chunked,
        "keep_alive": head.keep_alive,
        "expect_continue": head.expect_continue,
    }


def run_parser(
    raw: bytes, mode: str, options: Dict[str, Any]
) -> Tuple[List[Dict[str, Any]], Optional[HTTPError], RequestParser]:
    """Feed ``raw`` and collect requests (bodies merged) until NEED_DATA or an error."""
    parser = RequestParser(**options)
    requests: List[Dict[str, Any]] = []
    current: Optional[Dict[str, Any]] = None
    error: Optional[HTTPError] = None
    for piece in pieces(raw, mode):
        parser.feed(piece)
        while error is None:
            try:
                event = parser.next_event()
            except HTTPError as exc:
                error = exc
                break
            if event is NEED_DATA:
                break
            if isinstance(event, RequestHead):
                assert current is None, "a head before the previous request ended"
                current = head_as_dict(event)
            elif isinstance(event, Body):
                assert current is not None and event.data, "an empty or stray Body"
                assert type(event.data) is bytes
                current["body"] += event.data
            else:
                assert isinstance(event, EndOfMessage) and current is not None
                requests.append(current)
                current = None
        if error is not None:
            break
    if current is not None:
        requests.append(current)
    for request in requests:
        request["body"] = request["body"].decode("latin-1")
    return requests, error, parser


MODES = ["whole", "bytes", "sevens"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", case_names("valid"))
def test_valid_case(name: str, mode: str) -> None:
    raw, expected = load_case("valid", name)
    requests, error, parser = run_parser(raw, mode, expected.get("options", {}))
    assert error is None, f"unexpected {error!r}"
    assert requests == expected["requests"]
    assert parser.buffered == expected.get("buffered", 0)
    assert parser.next_event() is NEED_DATA


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", case_names("invalid"))
def test_invalid_case(name: str, mode: str) -> None:
    raw, expected = load_case("invalid", name)
    requests, error, parser = run_parser(raw, mode, expected.get("options", {}))
    assert error is not None, "the parser accepted an invalid request"
    assert error.code == expected["code"]
    assert expected.get("detail", "") in error.detail
    assert error.version == expected.get("version")
    assert requests == expected.get("requests", [])
    # A failed parser stays failed, with the same error, whatever comes next.
    parser.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    for _ in range(2):
        with pytest.raises(HTTPError) as again:
            parser.next_event()
        assert again.value is error


def test_case_files_match_their_generator() -> None:
    """The .http/.json files are what make_cases.py writes (nobody edited one alone)."""
    path = os.path.join(CASES_DIR, "make_cases.py")
    spec = importlib.util.spec_from_file_location("waitress_http_make_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert len(module.CASES) > 100
    for kind, stem, raw, expected in module.CASES:
        on_disk_raw, on_disk_expected = load_case(kind, stem)
        assert on_disk_raw == raw, stem
        assert on_disk_expected == json.loads(json.dumps(expected)), stem


def test_every_case_has_both_files() -> None:
    for kind in ("valid", "invalid"):
        directory = os.path.join(CASES_DIR, kind)
        stems = {name.rsplit(".", 1)[0] for name in os.listdir(directory)}
        for stem in stems:
            assert os.path.exists(os.path.join(directory, stem + ".http")), stem
            assert os.path.exists(os.path.join(directory, stem + ".json")), stem
