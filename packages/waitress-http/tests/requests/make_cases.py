"""Write the data-driven parser cases: valid/NNN_name.{http,json}, invalid/NNN_name.{http,json}.

The raw requests are spelled here as Python bytes literals so that every CR,
LF and odd byte is reviewable; the .http files hold them exactly.  Run
``python make_cases.py`` after editing; the test suite checks that the files
on disk match this script.  A case may also be added by hand as two files.

Valid .json: {"requests": [expected request, ...], "options": {...}, "buffered": n}
where an expected request has method, target, version, headers ([name, value]
pairs), body (latin-1 text), content_length, chunked, keep_alive,
expect_continue.  Invalid .json: {"code": status, "detail": substring of the
error detail, "version": error.version, "requests": [requests parsed first],
"options": {...}}.  "options" are RequestParser keyword arguments.
"""

import json
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))

Case = Tuple[str, str, bytes, Dict[str, Any]]  # (kind, file stem, raw, expected)


def head(*lines: str) -> bytes:
    """A request head: lines joined by CRLF, ended by the empty line."""
    return "".join(line + "\r\n" for line in lines).encode("latin-1") + b"\r\n"


def req(
    method: str = "GET",
    target: str = "/",
    version: str = "1.1",
    headers: Optional[List[Tuple[str, str]]] = None,
    body: bytes = b"",
    content_length: Optional[int] = None,
    chunked: bool = False,
    keep_alive: Optional[bool] = None,
    expect_continue: bool = False,
) -> Dict[str, Any]:
    """An expected request; keep_alive defaults to the version's default."""
    return {
        "method": method,
        "target": target,
        "version": version,
        "headers": [list(pair) for pair in (headers or [])],
        "body": body.decode("latin-1"),
        "content_length": content_length,
        "chunked": chunked,
        "keep_alive": version == "1.1" if keep_alive is None else keep_alive,
        "expect_continue": expect_continue,
    }


HOST = ("Host", "example.com")
CASES: List[Case] = []


def valid(number: int, name: str, raw: bytes, requests: List[Dict[str, Any]], **extra: Any) -> None:
    CASES.append(("valid", f"{number:03d}_{name}", raw, dict({"requests": requests}, **extra)))


def invalid(
    number: int,
    name: str,
    raw: bytes,
    code: int = 400,
    detail: str = "",
    version: Optional[str] = "1.1",
    requests: Optional[List[Dict[str, Any]]] = None,
    **extra: Any,
) -> None:
    expected = dict(code=code, detail=detail, version=version, requests=requests or [])
    CASES.append(("invalid", f"{number:03d}_{name}", raw, dict(expected, **extra)))


def chunked_post(*body_lines: bytes, extra_headers: Tuple[str, ...] = ()) -> bytes:
    """POST / with Transfer-Encoding: chunked and the given raw body bytes."""
    return head("POST / HTTP/1.1", "Host: example.com", *extra_headers, "Transfer-Encoding: chunked") + b"".join(
        body_lines
    )


TE_CHUNKED = [HOST, ("Transfer-Encoding", "chunked")]

# --------------------------------------------------------------------------- valid

valid(1, "simple_get", head("GET / HTTP/1.1", "Host: example.com"), [req(headers=[HOST])])

BROWSER = [
    ("Host", "www.example.com"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Language", "en-US,en;q=0.5"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Referer", "https://www.example.com/search/?q=python"),
    ("Connection", "keep-alive"),
    ("Cookie", "sessionid=abcdef0123456789; csrftoken=ZYXWVUTSRQ9876543210; theme=dark"),
    ("Upgrade-Insecure-Requests", "1"),
]
valid(
    2,
    "browser_get",
    head("GET /search/results?q=python+wsgi&page=2 HTTP/1.1", *(f"{n}: {v}" for n, v in BROWSER)),
    [req(target="/search/results?q=python+wsgi&page=2", headers=BROWSER)],
)
valid(3, "http10_no_headers", head("GET / HTTP/1.0"), [req(version="1.0")])
valid(
    4,
    "http10_keep_alive",
    head("GET / HTTP/1.0", "Connection: Keep-Alive"),
    [req(version="1.0", headers=[("Connection", "Keep-Alive")], keep_alive=True)],
)
valid(
    5,
    "http10_keep_alive_and_close",
    head("GET / HTTP/1.0", "Connection: keep-alive, close"),
    [req(version="1.0", headers=[("Connection", "keep-alive, close")], keep_alive=False)],
)
valid(
    6,
    "http11_connection_close",
    head("GET / HTTP/1.1", "Host: example.com", "Connection: close"),
    [req(headers=[HOST, ("Connection", "close")], keep_alive=False)],
)
valid(
    7,
    "connection_close_in_list",
    head("GET / HTTP/1.1", "Host: example.com", "Connection: Upgrade ,  CLOSE\t"),
    [req(headers=[HOST, ("Connection", "Upgrade ,  CLOSE")], keep_alive=False)],
)
valid(
    8,
    "connection_over_two_lines",
    head("GET / HTTP/1.1", "Host: example.com", "Connection: upgrade", "connection: close"),
    [req(headers=[HOST, ("Connection", "upgrade"), ("connection", "close")], keep_alive=False)],
)
valid(
    9,
    "post_content_length",
    head("POST /submit HTTP/1.1", "Host: example.com", "Content-Length: 11") + b"hello world",
    [
        req(
            "POST",
            "/submit",
            headers=[HOST, ("Content-Length", "11")],
            body=b"hello world",
            content_length=11,
        )
    ],
)
valid(
    10,
    "content_length_zero",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 0"),
    [req("POST", headers=[HOST, ("Content-Length", "0")], content_length=0)],
)
valid(
    12,
    "chunked_simple",
    chunked_post(b"5\r\nhello\r\n", b"1\r\n \r\n", b"5\r\nworld\r\n", b"0\r\n\r\n"),
    [req("POST", headers=TE_CHUNKED, body=b"hello world", chunked=True)],
)
valid(
    13,
    "chunked_extensions",
    chunked_post(
        b"3;name=value\r\nabc\r\n",
        b"3;a;b=c\r\ndef\r\n",
        b'3; q = "x \\"y\\" z"\r\nghi\r\n',
        b"0;last\r\n\r\n",
    ),
    [req("POST", headers=TE_CHUNKED, body=b"abcdefghi", chunked=True)],
)
valid(
    14,
    "chunked_trailers",
    chunked_post(b"4\r\nwiki\r\n", b"0\r\n", b"Expires: never\r\nX-Checksum:  abc \r\n\r\n"),
    [req("POST", headers=TE_CHUNKED, body=b"wiki", chunked=True)],
)
valid(
    15,
    "chunked_hex_sizes",
    chunked_post(b"A\r\n0123456789\r\n", b"0000000000000003\r\nabc\r\n", b"1f\r\n" + b"x" * 31 + b"\r\n", b"0\r\n\r\n"),
    [req("POST", headers=TE_CHUNKED, body=b"0123456789abc" + b"x" * 31, chunked=True)],
)
valid(
    16,
    "transfer_encoding_uppercase",
    head("POST / HTTP/1.1", "Host: example.com", "TRANSFER-ENCODING: CHUNKED") + b"2\r\nok\r\n0\r\n\r\n",
    [req("POST", headers=[HOST, ("TRANSFER-ENCODING", "CHUNKED")], body=b"ok", chunked=True)],
)
valid(
    18,
    "expect_100_continue",
    head("PUT /f HTTP/1.1", "Host: example.com", "Content-Length: 3", "Expect: 100-continue") + b"abc",
    [
        req(
            "PUT",
            "/f",
            headers=[HOST, ("Content-Length", "3"), ("Expect", "100-continue")],
            body=b"abc",
            content_length=3,
            expect_continue=True,
        )
    ],
)
valid(
    19,
    "expect_100_continue_any_case",
    head("PUT / HTTP/1.1", "Host: example.com", "Expect: 100-Continue", "Content-Length: 1") + b"x",
    [
        req(
            "PUT",
            headers=[HOST, ("Expect", "100-Continue"), ("Content-Length", "1")],
            body=b"x",
            content_length=1,
            expect_continue=True,
        )
    ],
)
valid(
    20,
    "expect_other_ignored",
    head("GET / HTTP/1.1", "Host: example.com", "Expect: something-else"),
    [req(headers=[HOST, ("Expect", "something-else")])],
)
valid(
    21,
    "expect_ignored_on_http10",
    head("POST / HTTP/1.0", "Expect: 100-continue", "Content-Length: 2") + b"hi",
    [
        req(
            "POST",
            version="1.0",
            headers=[("Expect", "100-continue"), ("Content-Length", "2")],
            body=b"hi",
            content_length=2,
        )
    ],
)
valid(
    22,
    "empty_lines_before_request",
    b"\r\n\r\n" + head("GET / HTTP/1.1", "Host: example.com"),
    [req(headers=[HOST])],
)
valid(
    23,
    "pipelined_gets",
    head("GET /one HTTP/1.1", "Host: example.com") + head("GET /two HTTP/1.1", "Host: example.com"),
    [req(target="/one", headers=[HOST]), req(target="/two", headers=[HOST])],
)
valid(
    24,
    "pipelined_post_then_get",
    head("POST /a HTTP/1.1", "Host: example.com", "Content-Length: 4")
    + b"GET "
    + head("GET /b HTTP/1.1", "Host: example.com"),
    [
        req("POST", "/a", headers=[HOST, ("Content-Length", "4")], body=b"GET ", content_length=4),
        req(target="/b", headers=[HOST]),
    ],
)
valid(
    25,
    "pipelined_chunked_then_get",
    chunked_post(b"3\r\nabc\r\n0\r\n\r\n") + b"\r\n" + head("GET /next HTTP/1.1", "Host: example.com"),
    [
        req("POST", headers=TE_CHUNKED, body=b"abc", chunked=True),
        req(target="/next", headers=[HOST]),
    ],
)
valid(
    26,
    "value_whitespace_stripped",
    head("GET / HTTP/1.1", "Host: example.com", "X-A: \t  spaced  out \t ", "X-B:tight", "X-C:\tx\ty\t"),
    [req(headers=[HOST, ("X-A", "spaced  out"), ("X-B", "tight"), ("X-C", "x\ty")])],
)
valid(
    27,
    "value_obs_text_kept",
    head("GET / HTTP/1.1", "Host: example.com", "X-A: \xa0caf\xe9\xa0", "X-B: \x85x\x85"),
    [req(headers=[HOST, ("X-A", "\xa0caf\xe9\xa0"), ("X-B", "\x85x\x85")])],
)
valid(
    28,
    "value_empty",
    head("GET / HTTP/1.1", "Host: example.com", "X-Empty:", "X-Blank:   \t"),
    [req(headers=[HOST, ("X-Empty", ""), ("X-Blank", "")])],
)
valid(
    29,
    "names_as_received",
    head("GET / HTTP/1.1", "hOsT: example.com", "x-lower: a", "X-UPPER: b"),
    [req(headers=[("hOsT", "example.com"), ("x-lower", "a"), ("X-UPPER", "b")])],
)
valid(
    30,
    "duplicates_kept_in_order",
    head(
        "GET / HTTP/1.1",
        "Host: example.com",
        "Accept: text/html",
        "Cache-Control: a",
        "Accept: */*",
        "Cache-Control: b",
    ),
    [
        req(
            headers=[
                HOST,
                ("Accept", "text/html"),
                ("Cache-Control", "a"),
                ("Accept", "*/*"),
                ("Cache-Control", "b"),
            ]
        )
    ],
)
valid(
    31,
    "absolute_form",
    head("GET http://example.com:8080/path?q=1 HTTP/1.1", "Host: example.com:8080"),
    [req(target="http://example.com:8080/path?q=1", headers=[("Host", "example.com:8080")])],
)
valid(
    32,
    "authority_form_connect",
    head("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"),
    # Never kept alive: a 2xx would make the connection a tunnel (RFC 9110 9.3.6).
    [req("CONNECT", "example.com:443", headers=[("Host", "example.com:443")], keep_alive=False)],
)
valid(
    33,
    "asterisk_form_options",
    head("OPTIONS * HTTP/1.1", "Host: example.com"),
    [req("OPTIONS", "*", headers=[HOST])],
)
valid(
    34,
    "unknown_methods",
    head("FOO /x HTTP/1.1", "Host: example.com") + head("PROPFIND /d HTTP/1.1", "Host: example.com"),
    [req("FOO", "/x", headers=[HOST]), req("PROPFIND", "/d", headers=[HOST])],
)
valid(
    35,
    "host_ip_literals",
    head("GET / HTTP/1.1", "Host: [::1]:8080") + head("GET / HTTP/1.1", "Host: 127.0.0.1"),
    [req(headers=[("Host", "[::1]:8080")]), req(headers=[("Host", "127.0.0.1")])],
)
valid(
    36,
    "host_empty",
    head("GET / HTTP/1.1", "Host:"),
    [req(headers=[("Host", "")])],
)
valid(
    37,
    "target_visible_ascii",
    head('GET /a|b"c{d}^`e[f]?x=%20#frag HTTP/1.1', "Host: example.com"),
    [req(target='/a|b"c{d}^`e[f]?x=%20#frag', headers=[HOST])],
)
valid(
    38,
    "value_with_colons_and_tabs",
    head("GET / HTTP/1.1", "Host: example.com", "X-Time: 12:34:56", "X-Tab: a\tb"),
    [req(headers=[HOST, ("X-Time", "12:34:56"), ("X-Tab", "a\tb")])],
)
valid(
    39,
    "cve_2022_24761_valid_extension",
    chunked_post(b"3;name=value\r\nabc\r\n0\r\n\r\n"),
    [req("POST", headers=TE_CHUNKED, body=b"abc", chunked=True)],
)
valid(
    40,
    "http10_content_length",
    head("POST / HTTP/1.0", "Content-Length: 3") + b"a=b",
    [req("POST", version="1.0", headers=[("Content-Length", "3")], body=b"a=b", content_length=3)],
)
valid(
    41,
    "name_all_tchars",
    head("GET / HTTP/1.1", "Host: example.com", "!#$%&'*+-.^_`|~09azAZ: v"),
    [req(headers=[HOST, ("!#$%&'*+-.^_`|~09azAZ", "v")])],
)
valid(
    42,
    "incomplete_second_request",
    head("GET / HTTP/1.1", "Host: example.com") + b"GET /partial HTT",
    [req(headers=[HOST])],
    buffered=16,
)
valid(
    43,
    "body_with_crlf_and_binary",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 8") + b"\r\n\r\n\x00\xff\n\r",
    [
        req(
            "POST",
            headers=[HOST, ("Content-Length", "8")],
            body=b"\r\n\r\n\x00\xff\n\r",
            content_length=8,
        )
    ],
)
valid(
    44,
    "chunk_extension_quoted_pairs",
    chunked_post(b'2;a="]\\\\ \\"[";b=\tc\r\nok\r\n0\r\n\r\n'),
    [req("POST", headers=TE_CHUNKED, body=b"ok", chunked=True)],
)
# Limits, exactly at the boundary (the failing side is in invalid/).
LIMIT_HEAD = head("GET / HTTP/1.1", "Host: example.com", "X-Pad: " + "p" * 50)
valid(
    50,
    "head_one_below_limit",
    LIMIT_HEAD,
    [req(headers=[HOST, ("X-Pad", "p" * 50)])],
    options={"max_header_size": len(LIMIT_HEAD) + 1},
)
valid(
    51,
    "body_one_below_limit",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 9") + b"123456789",
    [req("POST", headers=[HOST, ("Content-Length", "9")], body=b"123456789", content_length=9)],
    options={"max_body_size": 10},
)
valid(
    52,
    "chunked_one_below_limit",
    chunked_post(b"5\r\n12345\r\n4\r\n6789\r\n0\r\n\r\n"),
    [req("POST", headers=TE_CHUNKED, body=b"123456789", chunked=True)],
    options={"max_body_size": 25},  # 24 bytes as sent: framing counts
)
valid(
    53,
    "trailers_one_below_limit",
    chunked_post(b"1\r\nx\r\n0\r\n", b"X-T: " + b"t" * 70 + b"\r\n\r\n"),
    [req("POST", headers=TE_CHUNKED, body=b"x", chunked=True)],
    options={"max_header_size": 80},
)
valid(
    54,
    "four_empty_lines_allowed",
    b"\r\n" * 4 + head("GET / HTTP/1.1", "Host: example.com"),
    [req(headers=[HOST])],
)
# 1*DIGIT and 1*HEXDIG: leading zeros do not count towards the bounds.
valid(
    55,
    "content_length_leading_zeros",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 00000000000000000001") + b"x",
    [
        req(
            "POST",
            headers=[HOST, ("Content-Length", "00000000000000000001")],
            body=b"x",
            content_length=1,
        )
    ],
)
valid(
    56,
    "chunk_size_leading_zeros",
    chunked_post(b"00000000000000003\r\nabc\r\n" + b"0" * 20 + b"\r\n\r\n"),
    [req("POST", headers=TE_CHUNKED, body=b"abc", chunked=True)],
)
valid(
    57,
    "host_ip_literal_and_percent_forms",
    head("GET / HTTP/1.1", "Host: [::ffff:1.2.3.4]")
    + head("GET / HTTP/1.1", "Host: [fe80::1%25eth0]:8080")
    + head("GET / HTTP/1.1", "Host: [v1.x]")
    + head("GET / HTTP/1.1", "Host: a%41b.example"),
    [
        req(headers=[("Host", "[::ffff:1.2.3.4]")]),
        req(headers=[("Host", "[fe80::1%25eth0]:8080")]),
        req(headers=[("Host", "[v1.x]")]),
        req(headers=[("Host", "a%41b.example")]),
    ],
)

# --------------------------------------------------------------------------- invalid

# CVE-2019-16785: only CRLF ends a line.
invalid(
    101,
    "cve_2019_16785_bare_lf_in_header",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 100")[:-2]
    + b"X-Header: x\nContent-Length: 0\r\n\r\n",
    detail="Bare CR or LF",
)
invalid(
    102,
    "cve_2019_16785_bare_cr_in_header",
    head("GET / HTTP/1.1", "Host: example.com")[:-2] + b"X-Header: x\rContent-Length: 0\r\n\r\n",
    detail="Bare CR or LF found in header line",
)
invalid(
    103,
    "bare_lf_after_request_line",
    b"GET / HTTP/1.1\nHost: example.com\r\n\r\n",
    detail="Bare CR or LF",
    version=None,
)
invalid(
    104,
    "lf_only_request",
    b"GET / HTTP/1.1\nHost: example.com\n\n",
    detail="Bare CR or LF found in request line",
    version=None,
)
invalid(
    105,
    "cve_2019_16785_lf_only_chunk_terminator",
    chunked_post(b"3\r\nabc\n0\r\n\r\n"),
    detail="Chunk not properly terminated",
    requests=[req("POST", headers=TE_CHUNKED, body=b"abc", chunked=True)],
)
invalid(
    106,
    "bare_lf_after_chunk_size",
    chunked_post(b"3\nabc\r\n0\r\n\r\n"),
    detail="Bare LF",
    requests=[req("POST", headers=TE_CHUNKED, chunked=True)],
)
invalid(
    107,
    "bare_cr_in_request_line",
    b"GET /\r HTTP/1.1\r\nHost: example.com\r\n\r\n",
    detail="Bare CR or LF found in request line",
    version=None,
)
invalid(
    108,
    "bare_lf_in_trailer",
    chunked_post(b"1\r\nx\r\n0\r\n", b"X-T: a\nX-U: b\r\n\r\n"),
    detail="trailer",
    requests=[req("POST", headers=TE_CHUNKED, body=b"x", chunked=True)],
)
# A last line ended by LF alone, then the CRLF of the empty line: no CRLFCRLF
# ever comes, so the parser must not wait for one (a 400 at once).
invalid(
    109,
    "lf_then_crlf_ending_the_head",
    b"GET / HTTP/1.1\r\nHost: example.com\n\r\n",
    detail="Bare CR or LF found in header line",
)
invalid(
    142,
    "lf_then_crlf_ending_the_trailers",
    chunked_post(b"1\r\nx\r\n0\r\n", b"X-T: a\n\r\n"),
    detail="trailer",
    requests=[req("POST", headers=TE_CHUNKED, body=b"x", chunked=True)],
)

# CVE-2019-16786: Transfer-Encoding is a list; only a lone chunked is supported.
# Codings before a final chunked are not implemented (501, RFC 9112 6.1); a
# list not ending with chunked leaves the length unknown (400, RFC 9112 6.3).
for number, name, value, code in [
    (110, "gzip_chunked", "gzip, chunked", 501),
    (111, "identity", "identity", 400),
    (112, "chunked_chunked", "chunked, chunked", 501),
    (113, "gzip", "gzip", 400),
    (114, "chunked_gzip", "chunked, gzip", 400),
    (115, "empty", "", 400),
    (116, "chunked_with_parameter", "chunked;q=1", 400),
    (117, "chunked_comma_chunked_no_space", "chunked,chunked", 501),
]:
    invalid(
        number,
        "cve_2019_16786_te_" + name,
        head("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: " + value) + b"0\r\n\r\n",
        code=code,
        detail="Transfer-Encoding",
    )
invalid(
    118,
    "cve_2019_16786_te_over_two_lines",
    head("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip")
    + b"0\r\n\r\n",
    code=400,
    detail="Transfer-Encoding",
)
# Empty elements in Transfer-Encoding, on one line or as a line of their
# own: RFC 9110 5.6.1 would ignore them, but a front end that keeps the empty
# line frames the request as bodiless (the TE.0 desync); refused, as Waitress does.
for number, name, lines, code in [
    (122, "te_empty_list_elements", ["Transfer-Encoding: , chunked ,"], 400),
    (123, "te_chunked_then_an_empty_line", ["Transfer-Encoding: chunked", "Transfer-Encoding:"], 400),
    (124, "te_an_empty_line_then_chunked", ["Transfer-Encoding:", "Transfer-Encoding: chunked"], 501),
]:
    invalid(
        number,
        name,
        head("POST / HTTP/1.1", "Host: example.com", *lines) + b"3\r\nabc\r\n0\r\n\r\n",
        code=code,
        detail="Transfer-Encoding",
    )
invalid(
    119,
    "cve_2019_16786_te_gzip_chunked_with_content_length",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 5", "Transfer-Encoding: gzip, chunked")
    + b"0\r\n\r\n",
    code=501,
    detail="Transfer-Encoding",
)
invalid(
    120,
    "te_chunked_with_content_length",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 5", "Transfer-Encoding: chunked")
    + b"0\r\n\r\n",
    detail="Content-Length and Transfer-Encoding",
)
invalid(
    121,
    "te_on_http10",
    head("POST / HTTP/1.0", "Transfer-Encoding: chunked") + b"0\r\n\r\n",
    detail="HTTP/1.0",
    version="1.0",
)

# CVE-2019-16789: only SP and HTAB are whitespace; controls are refused.
invalid(
    125,
    "cve_2019_16789_te_nel_chunked",
    head("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: \x85chunked") + b"0\r\n\r\n",
    code=400,
    detail="Transfer-Encoding",
)
invalid(
    126,
    "cve_2019_16789_te_nbsp_chunked",
    head("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked\xa0") + b"0\r\n\r\n",
    code=400,
    detail="Transfer-Encoding",
)
invalid(
    127,
    "cve_2019_16789_vertical_tab_in_value",
    head("GET / HTTP/1.1", "Host: example.com", "foo: \x0bbar"),
    detail="control character",
)
invalid(
    128,
    "cve_2019_16789_fold_with_tab_and_vt",
    head("GET / HTTP/1.1", "Host: example.com", "foo: bar", "\t\x0bbaz"),
    detail="obs-fold",
)
invalid(
    129,
    "nul_in_value",
    head("GET / HTTP/1.1", "Host: example.com", "foo: b\x00ar"),
    detail="control character",
)
invalid(
    130,
    "del_in_value",
    head("GET / HTTP/1.1", "Host: example.com", "foo: b\x7far"),
    detail="control character",
)
invalid(
    131,
    "form_feed_in_value",
    head("GET / HTTP/1.1", "Host: example.com", "foo: \x0cbar"),
    detail="control character",
)
invalid(
    132,
    "content_length_nbsp",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: \xa05") + b"hello",
    detail="Content-Length is invalid",
)
invalid(
    133,
    "escape_control_in_value",
    head("GET / HTTP/1.1", "Host: example.com", "foo: bar\x1b[0m"),
    detail="control character",
)

# CVE-2019-16792: Content-Length must be one unambiguous number.
invalid(
    134,
    "cve_2019_16792_two_identical_content_lengths",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 10", "content-length: 10") + b"x" * 10,
    detail="More than one Content-Length",
)
invalid(
    135,
    "cve_2019_16792_two_different_content_lengths",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 10", "Content-Length: 0") + b"x" * 10,
    detail="More than one Content-Length",
)
invalid(
    136,
    "cve_2019_16792_content_length_list",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 10, 10") + b"x" * 10,
    detail="Content-Length is invalid",
)
invalid(
    137,
    "cve_2019_16792_content_length_abc",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: abc"),
    detail="Content-Length is invalid",
)
invalid(
    138,
    "content_length_empty",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length:"),
    detail="Content-Length is invalid",
)
invalid(
    139,
    "content_length_twenty_digits",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 12345678901234567890") + b"x",
    code=413,
    detail="larger than any body",
)

# CVE-2020-5236: a ReDoS on an invalid value; must be refused in linear time.
invalid(
    140,
    "cve_2020_5236_redos",
    head("GET / HTTP/1.1", "Host: example.com", "Bad-header: " + "x" * 50000 + "\x10"),
    detail="control character",
)
invalid(
    141,
    "redos_spaces_then_control",
    head("GET / HTTP/1.1", "Host: example.com", "Bad-header:" + " \t" * 20000 + "\x10"),
    detail="control character",
)

# CVE-2022-24761: no int() leniency, chunk extensions per the grammar.
for number, name, value in [(145, "plus", "+10"), (146, "minus", "-1"), (147, "hex", "0x3"), (148, "underscore", "1_0")]:
    invalid(
        number,
        "cve_2022_24761_content_length_" + name,
        head("POST / HTTP/1.1", "Host: example.com", "Content-Length: " + value) + b"x" * 10,
        detail="Content-Length is invalid",
    )
for number, name, line, detail in [
    (150, "size_0x", b"0x3", "Invalid chunk size"),
    (151, "size_plus", b"+3", "Invalid chunk size"),
    (152, "size_minus", b"-1", "Invalid chunk size"),
    (153, "size_underscore", b"1_0", "Invalid chunk size"),
    (154, "size_leading_space", b" 3", "Invalid chunk size"),
    (155, "size_trailing_space", b"3 ", "Invalid chunk size"),
    (156, "size_empty", b"", "Invalid chunk size"),
    (157, "size_17_digits", b"10000000000000003", "Invalid chunk size"),
    (158, "ext_space_before_semicolon", b"3 ;ext", "Invalid chunk extension"),
    (159, "ext_with_nul", b"3;na\x00me=value", "Invalid chunk extension"),
    (160, "ext_bare_semicolon", b"3;", "Invalid chunk extension"),
    (161, "ext_unterminated_quote", b'3;a="b', "Invalid chunk extension"),
    (162, "ext_value_not_token", b"3;a=b c", "Invalid chunk extension"),
    (163, "ext_name_not_token", b"3;a@b", "Invalid chunk extension"),
    (164, "ext_trailing_space", b"3;a=b ", "Invalid chunk extension"),
    (165, "size_unicode_digit", "\xb3".encode("latin-1"), "Invalid chunk size"),
]:
    invalid(
        number,
        "cve_2022_24761_chunk_" + name,
        chunked_post(line + b"\r\nabc\r\n0\r\n\r\n"),
        detail=detail,
        requests=[req("POST", headers=TE_CHUNKED, chunked=True)],
    )
invalid(
    166,
    "chunk_data_longer_than_size",
    chunked_post(b"3\r\nabcd\r\n0\r\n\r\n"),
    detail="Chunk not properly terminated",
    requests=[req("POST", headers=TE_CHUNKED, body=b"abc", chunked=True)],
)
invalid(
    167,
    "chunk_size_line_too_long",
    chunked_post(b"3;a=" + b"v" * 5000 + b"\r\nabc\r\n0\r\n\r\n"),
    detail="too long",
    requests=[req("POST", headers=TE_CHUNKED, chunked=True)],
)
invalid(
    168,
    "last_chunk_then_garbage",
    chunked_post(b"1\r\nx\r\n0\r\nnot a trailer\r\n\r\n"),
    detail="trailer",
    requests=[req("POST", headers=TE_CHUNKED, body=b"x", chunked=True)],
)

# The request line.
invalid(170, "lowercase_method", head("get / HTTP/1.1", "Host: example.com"), detail="Malformed HTTP method", version=None)
invalid(171, "method_not_token", head("GE(T / HTTP/1.1", "Host: example.com"), detail="Malformed HTTP method", version=None)
invalid(172, "two_spaces", head("GET  / HTTP/1.1", "Host: example.com"), detail="Start line is invalid", version=None)
invalid(173, "trailing_space", head("GET / HTTP/1.1 ", "Host: example.com"), detail="Start line is invalid", version=None)
invalid(174, "missing_version", head("GET /"), detail="Start line is invalid", version=None)
invalid(175, "version_without_dot", head("GET / HTTP/11", "Host: example.com"), detail="Malformed HTTP version", version=None)
invalid(176, "version_lowercase", head("GET / http/1.1", "Host: example.com"), detail="Malformed HTTP version", version=None)
invalid(177, "version_2_0", head("GET / HTTP/2.0", "Host: example.com"), code=505, version=None)
invalid(178, "version_1_2", head("GET / HTTP/1.2", "Host: example.com"), code=505, version=None)
invalid(179, "version_0_9", head("GET / HTTP/0.9"), code=505, version=None)
invalid(180, "http2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", code=505, version=None)
invalid(181, "target_obs_text", head("GET /caf\xe9 HTTP/1.1", "Host: example.com"), detail="target")
invalid(182, "target_control", head("GET /a\x01b HTTP/1.1", "Host: example.com"), detail="target")
invalid(183, "tab_separator", head("GET\t/ HTTP/1.1", "Host: example.com"), detail="Start line is invalid", version=None)
invalid(184, "asterisk_with_get", head("GET * HTTP/1.1", "Host: example.com"), detail="OPTIONS")
invalid(185, "connect_origin_form", head("CONNECT / HTTP/1.1", "Host: example.com"), detail="CONNECT")
invalid(186, "connect_without_port", head("CONNECT example.com HTTP/1.1", "Host: example.com"), detail="CONNECT")
invalid(187, "relative_target", head("GET foo HTTP/1.1", "Host: example.com"), detail="target")
invalid(188, "absolute_form_userinfo", head("GET http://user@example.com/ HTTP/1.1", "Host: example.com"), detail="target")
invalid(189, "absolute_form_empty_host", head("GET http:///p HTTP/1.1", "Host: example.com"), detail="target")
invalid(
    190,
    "tls_client_hello",
    bytes.fromhex("1603010200010001fc0303") + b"\x8a" * 32,
    detail="Start line is invalid",
    version=None,
)
invalid(191, "empty_request_line", b"\r\n" * 5 + head("GET / HTTP/1.1", "Host: example.com"), detail="empty lines", version=None)
invalid(192, "space_first", head(" GET / HTTP/1.1", "Host: example.com"), detail="Start line is invalid", version=None)

# Field lines.
invalid(195, "space_before_colon", head("GET / HTTP/1.1", "Host : example.com"), detail="whitespace between field name")
invalid(196, "tab_before_colon", head("GET / HTTP/1.1", "Host: example.com", "X-A\t: b"), detail="whitespace between field name")
invalid(197, "obs_fold", head("GET / HTTP/1.1", "Host: example.com", "X-A: a", "  b"), detail="obs-fold")
invalid(198, "obs_fold_first_line", head("GET / HTTP/1.1", " X-A: a", "Host: example.com"), detail="obs-fold")
invalid(199, "name_not_token", head("GET / HTTP/1.1", "Host: example.com", "X(A): b"), detail="not a token")
invalid(200, "name_obs_text", head("GET / HTTP/1.1", "Host: example.com", "X-\xe9: b"), detail="not a token")
invalid(201, "empty_name", head("GET / HTTP/1.1", "Host: example.com", ": b"), detail="empty field name")
invalid(202, "no_colon", head("GET / HTTP/1.1", "Host: example.com", "NoColonHere"), detail="no colon")
invalid(203, "name_with_space", head("GET / HTTP/1.1", "Host: example.com", "X A: b"), detail="not a token")

# Host (RFC 9112 3.2).
invalid(205, "missing_host", head("GET / HTTP/1.1", "Accept: */*"), detail="Missing Host")
invalid(206, "missing_host_no_fields", head("GET / HTTP/1.1"), detail="Missing Host")
invalid(207, "two_hosts", head("GET / HTTP/1.1", "Host: a.example", "Host: b.example"), detail="More than one Host")
invalid(208, "two_hosts_http10", head("GET / HTTP/1.0", "Host: a", "host: a"), detail="More than one Host", version="1.0")
invalid(209, "host_with_space", head("GET / HTTP/1.1", "Host: a b"), detail="Invalid Host")
invalid(210, "host_with_at", head("GET / HTTP/1.1", "Host: user@a"), detail="Invalid Host")
invalid(211, "host_with_slash", head("GET / HTTP/1.1", "Host: a/b"), detail="Invalid Host")
invalid(212, "host_bad_port", head("GET / HTTP/1.1", "Host: a:b"), detail="Invalid Host")
invalid(213, "host_obs_text", head("GET / HTTP/1.1", "Host: caf\xe9"), detail="Invalid Host")
invalid(215, "host_bad_percent", head("GET / HTTP/1.1", "Host: a%zz"), detail="Invalid Host")
invalid(216, "host_lone_percent", head("GET / HTTP/1.1", "Host: %"), detail="Invalid Host")
invalid(217, "host_bracket_not_ipv6", head("GET / HTTP/1.1", "Host: [zz]"), detail="Invalid Host")
invalid(218, "host_bracketed_ipv4", head("GET / HTTP/1.1", "Host: [1.2.3.4]:80"), detail="Invalid Host")
invalid(219, "connect_bracket_not_ipv6", head("CONNECT [zz]:443 HTTP/1.1", "Host: [::1]:443"), detail="CONNECT")
invalid(214, "two_content_types", head("POST / HTTP/1.1", "Host: a", "Content-Type: a/b", "content-type: c/d", "Content-Length: 0"), detail="More than one Content-Type")

# Limits, exactly at the boundary.
invalid(
    220,
    "head_at_limit",
    LIMIT_HEAD,
    code=431,
    version=None,
    options={"max_header_size": len(LIMIT_HEAD)},
)
invalid(
    221,
    "unterminated_head_at_limit",
    LIMIT_HEAD[:-2],
    code=431,
    version=None,
    options={"max_header_size": len(LIMIT_HEAD) - 2},
)
invalid(
    222,
    "content_length_at_limit",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 10"),
    code=413,
    options={"max_body_size": 10},
)
invalid(
    223,
    "chunked_at_limit",
    chunked_post(b"5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n"),
    code=413,
    options={"max_body_size": 20},  # 20 bytes as sent by the second chunk's end
    requests=[req("POST", headers=TE_CHUNKED, body=b"12345", chunked=True)],
)
invalid(
    224,
    "trailers_at_limit",
    chunked_post(b"1\r\nx\r\n0\r\n", b"X-T: " + b"t" * 71 + b"\r\n\r\n"),
    code=431,
    options={"max_header_size": 80},
    requests=[req("POST", headers=TE_CHUNKED, body=b"x", chunked=True)],
)
invalid(
    225,
    "huge_content_length",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 9999999999999999999"),
    code=413,
)
invalid(
    226,
    "huge_chunk_size",
    chunked_post(b"ffffffffffffffff\r\n"),
    code=413,
    requests=[req("POST", headers=TE_CHUNKED, chunked=True)],
)

# Errors after good requests on the same connection, and before them.
def bad_head_of(size: int) -> bytes:
    """A head of exactly ``size`` bytes whose last field line is malformed."""
    lines = ["GET /bad HTTP/1.1", "Host: example.com", "X-Pad: ", "Bad Header: x"]
    lines[2] += "p" * (size - len(head(*lines)))
    return head(*lines)


invalid(
    229,
    "cve_2024_49768_bad_head_of_8192_bytes_then_pipelined",
    bad_head_of(8192) + head("GET /canary HTTP/1.1", "Host: example.com"),
    detail="not a token",
)
invalid(
    230,
    "pipelined_second_invalid",
    head("GET /ok HTTP/1.1", "Host: example.com") + head("GET /bad HTTP/1.1", "Host : example.com"),
    detail="whitespace between field name",
    requests=[req(target="/ok", headers=[HOST])],
)
invalid(
    231,
    "smuggled_after_body",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 2") + b"okX-Not: a request\r\n\r\n",
    detail="Malformed HTTP method",
    version=None,
    requests=[req("POST", headers=[HOST, ("Content-Length", "2")], body=b"ok", content_length=2)],
)


# Found by mutation testing (2026-12-07): behaviour no case pinned down before.
TRAILER_60 = b"X-T: " + b"a" * 60 + b"\r\n\r\n"
valid(
    58,
    "trailer_then_pipelined_get",  # fed in pieces, the trailer's scan offset must not outlive it
    chunked_post(b"1\r\nx\r\n0\r\n", TRAILER_60) + head("GET /next HTTP/1.1", "Host: example.com"),
    [req("POST", headers=TE_CHUNKED, body=b"x", chunked=True), req(target="/next", headers=[HOST])],
)
CHUNK_40 = b"28\r\n" + b"b" * 40 + b"\r\n0\r\n\r\n"
valid(
    59,
    "chunked_body_limit_is_per_request",
    chunked_post(CHUNK_40) + chunked_post(CHUNK_40),
    [req("POST", headers=TE_CHUNKED, body=b"b" * 40, chunked=True)] * 2,
    options={"max_body_size": 100},
)
valid(
    60,
    "chunk_size_line_of_exactly_the_limit",  # 4096 bytes with its CRLF
    chunked_post(b"1;e=" + b"a" * 4090 + b"\r\nx\r\n0\r\n\r\n"),
    [req("POST", headers=TE_CHUNKED, body=b"x", chunked=True)],
)
valid(
    61,
    "one_content_type",
    head("POST / HTTP/1.1", "Host: example.com", "Content-Type: text/plain", "Content-Length: 3") + b"abc",
    [req("POST", headers=[HOST, ("Content-Type", "text/plain"), ("Content-Length", "3")], body=b"abc",
         content_length=3)],
)
valid(
    62,
    "unknown_expectation_is_not_100_continue",
    head("POST / HTTP/1.1", "Host: example.com", "Expect: foo", "Content-Length: 5") + b"12345",
    [req("POST", headers=[HOST, ("Expect", "foo"), ("Content-Length", "5")], body=b"12345",
         content_length=5)],
)
valid(
    63,
    "host_empty_port_ipvfuture_and_sub_delims",  # RFC 3986: port = *DIGIT; "V" either case
    head("GET / HTTP/1.1", "Host: a:") + head("GET / HTTP/1.1", "Host: [V1.x]")
    + head("GET / HTTP/1.1", "Host: a,b"),
    [req(headers=[("Host", "a:")]), req(headers=[("Host", "[V1.x]")]), req(headers=[("Host", "a,b")])],
)
valid(
    64,
    "empty_lines_are_counted_per_request",
    b"\r\n" * 3 + head("GET /1 HTTP/1.1", "Host: example.com")
    + b"\r\n" * 4 + head("GET /2 HTTP/1.1", "Host: example.com")
    + chunked_post(b"0\r\n\r\n") + b"\r\n" * 4 + head("GET /3 HTTP/1.1", "Host: example.com"),
    [req(target="/1", headers=[HOST]), req(target="/2", headers=[HOST]),
     req("POST", headers=TE_CHUNKED, chunked=True), req(target="/3", headers=[HOST])],
)
invalid(
    232,
    "unterminated_trailers_past_the_limit",  # refused, not buffered without end
    chunked_post(b"1\r\nx\r\n0\r\n", b"X-T: " + b"a" * 2000),
    code=431,
    detail="Trailer fields",
    options={"max_header_size": 1000},
    requests=[req("POST", headers=TE_CHUNKED, body=b"x", chunked=True)],
)
for number, byte in ((233, b"\x00"), (234, b"\x7f"), (235, b"\x0b")):
    invalid(
        number,
        f"control_byte_{byte[0]:02x}_in_trailer",
        chunked_post(b"1\r\nx\r\n0\r\n", b"X: a" + byte + b"b\r\n\r\n"),
        requests=[req("POST", headers=TE_CHUNKED, body=b"x", chunked=True)],
    )
invalid(
    236,
    "chunk_size_line_one_past_the_limit",
    chunked_post(b"1;e=" + b"a" * 4091 + b"\r\nx\r\n0\r\n\r\n"),
    detail="Chunk size line is too long",
    requests=[req("POST", headers=TE_CHUNKED, chunked=True)],
)
invalid(
    237,
    "chunk_size_line_refused_as_soon_as_it_is_too_long",  # not one byte later
    chunked_post(b"1;e=" + b"a" * 4092),
    detail="Chunk size line is too long",
    requests=[req("POST", headers=TE_CHUNKED, chunked=True)],
)
invalid(
    238,
    "chunk_data_not_followed_by_crlf",  # refused at its first wrong byte
    chunked_post(b"1\r\nxZ"),
    requests=[req("POST", headers=TE_CHUNKED, body=b"x", chunked=True)],
)
for number, name, extension in (
    (239, "chunk_extension_quoted_pair_of_cr", b'1;a="\\\r"'),
    (240, "chunk_extension_dquote_inside_quotes", b'1;a="x"y"'),
    (241, "chunk_extension_lone_backslash_in_quotes", b'1;a="\\"'),
    (242, "chunk_extension_del_in_quotes", b'1;a="\x7f"'),
):
    invalid(number, name, chunked_post(extension + b"\r\nx\r\n0\r\n\r\n"),
            requests=[req("POST", headers=TE_CHUNKED, chunked=True)])
invalid(243, "delimiter_in_field_name", head("GET / HTTP/1.1", "Host: example.com", "X/Y: 1"))
for number, name, host in (
    (244, "host_ip_literal_unclosed", "[::1"),
    (245, "host_h16_of_five_digits", "[12345::1]"),
    (246, "host_zone_id_without_pct25", "[fe80::1%eth0]"),
    (247, "host_pct_encoding_cut_short", "a%4"),
    (248, "host_dec_octet_over_255", "[::ffff:1.2.3.256]"),
):
    invalid(number, name, head("GET / HTTP/1.1", f"Host: {host}"))
for number, name, line in (
    (249, "absolute_form_scheme_starting_with_a_digit", "GET 1http://h/ HTTP/1.1"),
    (250, "absolute_form_without_a_scheme", "GET ://h/ HTTP/1.1"),
    (251, "authority_form_with_an_empty_port", "CONNECT h: HTTP/1.1"),
    (252, "authority_form_without_a_host", "CONNECT :80 HTTP/1.1"),
):
    invalid(number, name, head(line, "Host: h"))
invalid(
    253,
    "head_at_the_limit_whose_method_is_too_long_to_be_one",  # 431, not 414 for method AAA...
    b"A" * 33 + b" " + b"/" * 300,
    code=431,
    version=None,
    options={"max_header_size": 100},
)

# Found by a mutation audit: the details that name the problem and where it is.
invalid(
    254,
    "bare_cr_and_bare_lf_in_one_head",  # as many CRs as LFs, still no CRLF pairs
    head("GET / HTTP/1.1", "Host: example.com")[:-2] + b"X-A: a\rb\r\nX-B: c\nd\r\n\r\n",
    detail="Bare CR or LF found in header line",
)
invalid(255, "empty_target_between_two_spaces", head("GET  HTTP/1.1", "Host: example.com"),
        detail="Start line is invalid", version=None)
# A head with a bad field takes a slower path; the request line is still
# judged first, as on the fast path.
invalid(256, "connect_origin_form_then_a_bad_field",
        head("CONNECT / HTTP/1.1", "Host: example.com", "X-A: \x01"), detail="CONNECT needs")
invalid(257, "asterisk_with_get_then_a_bad_field",
        head("GET * HTTP/1.1", "Host: example.com", "X-A: \x01"), detail="only allowed with OPTIONS")
invalid(258, "control_byte_in_the_first_field", head("GET / HTTP/1.1", "X-Abc: a\x01", "Host: example.com"),
        detail="control character '\\x01' in the value of 'X-Abc'")
# Client text quoted in a detail is cut after 40 characters.
invalid(259, "name_of_40_characters_before_a_space", head("GET / HTTP/1.1", "Host: a", "N" * 40 + " : v"),
        detail="whitespace between field name '" + "N" * 40 + "' and colon")
invalid(260, "name_of_41_characters_before_a_space", head("GET / HTTP/1.1", "Host: a", "N" * 41 + " : v"),
        detail="whitespace between field name '" + "N" * 40 + "...' and colon")
invalid(
    261,
    "trailer_name_followed_by_a_space",
    chunked_post(b"1\r\nx\r\n0\r\n", b"X-T : a\r\n\r\n"),
    detail="Invalid trailer: whitespace between field name 'X-T' and colon",
    requests=[req("POST", headers=TE_CHUNKED, body=b"x", chunked=True)],
)


def to_json(value: Any, indent: str = "") -> str:
    """JSON with one key per line and short lists kept on one line, for review."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(key)}: {to_json(item, inner)}" for key, item in value.items()]
        text = "{\n" + ",\n".join(items) + "\n" + indent + "}"
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        text = "[\n" + ",\n".join(inner + to_json(item, inner) for item in value) + "\n" + indent + "]"
    else:
        text = json.dumps(value, ensure_ascii=True)
    return text + ("\n" if not indent else "")


def write(directory: str = HERE) -> List[str]:
    """Write every case; return the paths written."""
    written = []
    for kind, stem, raw, expected in CASES:
        base = os.path.join(directory, kind, stem)
        with open(base + ".http", "wb") as http_file:
            http_file.write(raw)
        with open(base + ".json", "w", encoding="utf-8") as json_file:
            json_file.write(to_json(expected))
        written += [base + ".http", base + ".json"]
    return written


def _check_unique() -> None:
    stems = [(kind, stem[:3]) for kind, stem, _, _ in CASES]
    duplicates = {s for s in stems if stems.count(s) > 1}
    if duplicates:
        raise SystemExit(f"duplicate case numbers: {sorted(duplicates)}")


_check_unique()

if __name__ == "__main__":
    paths = write()
    sys.stdout.write(f"wrote {len(paths)} files\n")
