"""Table-driven cases for apply_proxy_headers: peer, headers, settings -> environ or error.

Each case is (id, headers as environ keys, settings overrides, expected).
``expected`` is a dict of environ keys (ABSENT: must not be present) or the
name of the header a MalformedProxyHeader must blame.  Unless a case says
otherwise the peer is the trusted proxy and all five X-Forwarded-* headers
are trusted with trusted_proxy_count=1.
"""

import pytest
from waitress_proxy import MalformedProxyHeader, ProxySettings, apply_proxy_headers

PROXY = "192.168.1.1"
ABSENT = object()

BASE_ENVIRON = {
    "REMOTE_ADDR": PROXY,
    "REMOTE_HOST": PROXY,
    "REMOTE_PORT": "50000",
    "wsgi.url_scheme": "http",
    "SERVER_NAME": "waitress.invalid",
    "SERVER_PORT": "8080",
    "HTTP_HOST": "192.168.1.20:8080",
    "PATH_INFO": "/",
}

X_HEADERS = (
    "x-forwarded-for x-forwarded-host x-forwarded-proto x-forwarded-port x-forwarded-by"
)
FORWARDED = {"trusted_proxy_headers": "forwarded"}
UNCHANGED = {
    "REMOTE_ADDR": PROXY,
    "REMOTE_HOST": PROXY,
    "REMOTE_PORT": "50000",
    "wsgi.url_scheme": "http",
    "SERVER_NAME": "waitress.invalid",
    "SERVER_PORT": "8080",
    "HTTP_HOST": "192.168.1.20:8080",
}
ALL_FORGED = {
    "HTTP_FORWARDED": "for=6.6.6.6;proto=https;host=evil.example",
    "HTTP_X_FORWARDED_FOR": "6.6.6.6",
    "HTTP_X_FORWARDED_HOST": "evil.example",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_PORT": "4443",
    "HTTP_X_FORWARDED_BY": "6.6.6.7",
}
NONE_OF_THEM = {key: ABSENT for key in ALL_FORGED}


def make_environ(headers, peer):
    environ = dict(BASE_ENVIRON)
    if peer is ABSENT:
        del environ["REMOTE_ADDR"]
        del environ["REMOTE_HOST"]
    else:
        environ["REMOTE_ADDR"] = peer
        environ["REMOTE_HOST"] = peer
    environ.update(headers)
    return environ


def run_case(headers, overrides):
    overrides = dict(overrides)
    peer = overrides.pop("peer", PROXY)
    settings = {"trusted_proxy": PROXY, "trusted_proxy_headers": X_HEADERS}
    settings.update(overrides)
    environ = make_environ(headers, peer)
    apply_proxy_headers(environ, ProxySettings(**settings))
    return environ


def merged(*dicts):
    result = {}
    for d in dicts:
        result.update(d)
    return result


XFF_CASES = [
    ("single hop", {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}, {},
     {"REMOTE_ADDR": "198.51.100.7", "REMOTE_HOST": "198.51.100.7",
      "REMOTE_PORT": "50000", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}),
    ("3.0.2 cleanup: forged hop removed", {"HTTP_X_FORWARDED_FOR": "1.1.1.1, 2.2.2.2"}, {},
     {"REMOTE_ADDR": "2.2.2.2", "HTTP_X_FORWARDED_FOR": "2.2.2.2"}),
    ("count 2 of 3", {"HTTP_X_FORWARDED_FOR": "1.1.1.1, 2.2.2.2,3.3.3.3"},
     {"trusted_proxy_count": 2},
     {"REMOTE_ADDR": "2.2.2.2", "HTTP_X_FORWARDED_FOR": "2.2.2.2, 3.3.3.3"}),
    ("count larger than hops takes the leftmost", {"HTTP_X_FORWARDED_FOR": "1.1.1.1, 2.2.2.2"},
     {"trusted_proxy_count": 5},
     {"REMOTE_ADDR": "1.1.1.1", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 2.2.2.2"}),
    ("count None means 1", {"HTTP_X_FORWARDED_FOR": "1.1.1.1, 2.2.2.2"},
     {"trusted_proxy_count": None}, {"REMOTE_ADDR": "2.2.2.2"}),
    ("ipv4 with port", {"HTTP_X_FORWARDED_FOR": "198.51.100.7:4711"}, {},
     {"REMOTE_ADDR": "198.51.100.7", "REMOTE_PORT": "4711"}),
    ("bracketed ipv6 with port", {"HTTP_X_FORWARDED_FOR": "[2001:db8::1]:4711"}, {},
     {"REMOTE_ADDR": "2001:db8::1", "REMOTE_HOST": "2001:db8::1", "REMOTE_PORT": "4711"}),
    ("bracketed ipv6", {"HTTP_X_FORWARDED_FOR": "[2001:db8::1]"}, {},
     {"REMOTE_ADDR": "2001:db8::1", "REMOTE_PORT": "50000"}),
    ("bare ipv6 kept whole", {"HTTP_X_FORWARDED_FOR": "2001:db8::1"}, {},
     {"REMOTE_ADDR": "2001:db8::1", "REMOTE_PORT": "50000"}),
    ("quoted ipv6 as in the docs", {"HTTP_X_FORWARDED_FOR": '192.0.2.1, "[2001:db8::1]"'}, {},
     {"REMOTE_ADDR": "2001:db8::1", "HTTP_X_FORWARDED_FOR": '"[2001:db8::1]"'}),
    ("ipv6 zone id", {"HTTP_X_FORWARDED_FOR": "fe80::1%eth0"}, {},
     {"REMOTE_ADDR": "fe80::1%eth0"}),
    ("bracketed ipv6 zone id with port", {"HTTP_X_FORWARDED_FOR": "[fe80::1%eth0]:80"}, {},
     {"REMOTE_ADDR": "fe80::1%eth0", "REMOTE_PORT": "80"}),
    ("ipv4-mapped ipv6", {"HTTP_X_FORWARDED_FOR": "::ffff:192.0.2.1"}, {},
     {"REMOTE_ADDR": "::ffff:192.0.2.1"}),
    ("unknown keeps the proxy", {"HTTP_X_FORWARDED_FOR": "unknown"}, {},
     merged(UNCHANGED, {"HTTP_X_FORWARDED_FOR": "unknown"})),
    ("obfuscated keeps the proxy", {"HTTP_X_FORWARDED_FOR": "_hidden"}, {}, UNCHANGED),
    # Each trusted proxy appends one element: an empty one is its hop, and
    # skipping it would trust the element to its left, which the client wrote.
    ("empty elements are hops", {"HTTP_X_FORWARDED_FOR": "1.1.1.1, , 2.2.2.2,"},
     {"trusted_proxy_count": 2},
     {"REMOTE_ADDR": "2.2.2.2", "HTTP_X_FORWARDED_FOR": "2.2.2.2, "}),
    ("a trusted proxy's empty hop is not skipped", {"HTTP_X_FORWARDED_FOR": "6.6.6.6,,1.2.3.4"},
     {"trusted_proxy_count": 2},
     merged(UNCHANGED, {"HTTP_X_FORWARDED_FOR": ", 1.2.3.4"})),
    ("a trailing empty hop keeps the proxy", {"HTTP_X_FORWARDED_FOR": "6.6.6.6,"}, {},
     merged(UNCHANGED, {"HTTP_X_FORWARDED_FOR": ABSENT})),
    ("empty elements the client wrote", {"HTTP_X_FORWARDED_FOR": ",, 6.6.6.6,, 1.2.3.4"}, {},
     {"REMOTE_ADDR": "1.2.3.4", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}),
    ("only empty elements", {"HTTP_X_FORWARDED_FOR": " , ,"}, {},
     merged(UNCHANGED, {"HTTP_X_FORWARDED_FOR": ABSENT})),
    ("empty value", {"HTTP_X_FORWARDED_FOR": ""}, {},
     merged(UNCHANGED, {"HTTP_X_FORWARDED_FOR": ABSENT})),
    ("untrusted hops are not validated",
     {"HTTP_X_FORWARDED_FOR": "garbage\xff, <script>, 2.2.2.2"}, {},
     {"REMOTE_ADDR": "2.2.2.2", "HTTP_X_FORWARDED_FOR": "2.2.2.2"}),
    ("hostname", {"HTTP_X_FORWARDED_FOR": "client.example"}, {}, "X-Forwarded-For"),
    ("latin-1 byte", {"HTTP_X_FORWARDED_FOR": "1.1.1.\xff"}, {}, "X-Forwarded-For"),
    ("octet too large", {"HTTP_X_FORWARDED_FOR": "1.1.1.256"}, {}, "X-Forwarded-For"),
    ("leading zero", {"HTTP_X_FORWARDED_FOR": "01.1.1.1"}, {}, "X-Forwarded-For"),
    ("unicode digits", {"HTTP_X_FORWARDED_FOR": "\u0661.1.1.1"}, {}, "X-Forwarded-For"),
    ("port out of range", {"HTTP_X_FORWARDED_FOR": "1.1.1.1:65536"}, {}, "X-Forwarded-For"),
    ("port far out of range", {"HTTP_X_FORWARDED_FOR": "1.1.1.1:99999999"}, {},
     "X-Forwarded-For"),
    ("empty port", {"HTTP_X_FORWARDED_FOR": "1.1.1.1:"}, {}, "X-Forwarded-For"),
    ("signed port", {"HTTP_X_FORWARDED_FOR": "1.1.1.1:+80"}, {}, "X-Forwarded-For"),
    ("unicode digit port", {"HTTP_X_FORWARDED_FOR": "1.1.1.1:\u0668\u0660"}, {},
     "X-Forwarded-For"),
    ("zone id with a space", {"HTTP_X_FORWARDED_FOR": "fe80::1%eth 0"}, {}, "X-Forwarded-For"),
    ("unbalanced quote", {"HTTP_X_FORWARDED_FOR": '"1.1.1.1'}, {}, "X-Forwarded-For"),
    ("unbalanced bracket", {"HTTP_X_FORWARDED_FOR": "[2001:db8::1"}, {}, "X-Forwarded-For"),
    ("junk after bracket", {"HTTP_X_FORWARDED_FOR": "[2001:db8::1]x"}, {}, "X-Forwarded-For"),
    ("ipv4 in brackets", {"HTTP_X_FORWARDED_FOR": "[1.1.1.1]"}, {}, "X-Forwarded-For"),
    ("invalid ipv6", {"HTTP_X_FORWARDED_FOR": "2001:db8:::1"}, {}, "X-Forwarded-For"),
]

XFH_CASES = [
    ("host", {"HTTP_X_FORWARDED_HOST": "example.org"}, {},
     {"HTTP_HOST": "example.org", "SERVER_NAME": "example.org", "SERVER_PORT": "80",
      "HTTP_X_FORWARDED_HOST": "example.org", "REMOTE_ADDR": PROXY}),
    ("host with port", {"HTTP_X_FORWARDED_HOST": "example.org:8443"}, {},
     {"HTTP_HOST": "example.org:8443", "SERVER_NAME": "example.org", "SERVER_PORT": "8443"}),
    ("forged host hop removed", {"HTTP_X_FORWARDED_HOST": "evil.example, example.org"}, {},
     {"HTTP_HOST": "example.org", "HTTP_X_FORWARDED_HOST": "example.org"}),
    ("count 2 host", {"HTTP_X_FORWARDED_HOST": "evil.example, a.example, b.example"},
     {"trusted_proxy_count": 2},
     {"HTTP_HOST": "a.example", "HTTP_X_FORWARDED_HOST": "a.example, b.example"}),
    ("ipv6 literal host", {"HTTP_X_FORWARDED_HOST": "[2001:db8::1]:8443"}, {},
     {"HTTP_HOST": "[2001:db8::1]:8443", "SERVER_NAME": "[2001:db8::1]",
      "SERVER_PORT": "8443"}),
    ("with https proto", {"HTTP_X_FORWARDED_HOST": "example.org",
                          "HTTP_X_FORWARDED_PROTO": "https"}, {},
     {"HTTP_HOST": "example.org", "SERVER_PORT": "443", "wsgi.url_scheme": "https"}),
    ("with non-default port", {"HTTP_X_FORWARDED_HOST": "example.org",
                               "HTTP_X_FORWARDED_PORT": "8443"}, {},
     {"HTTP_HOST": "example.org:8443", "SERVER_NAME": "example.org", "SERVER_PORT": "8443"}),
    ("port in host beats X-Forwarded-Port", {"HTTP_X_FORWARDED_HOST": "example.org:9000",
                                             "HTTP_X_FORWARDED_PORT": "8443"}, {},
     {"HTTP_HOST": "example.org:9000", "SERVER_PORT": "9000"}),
    ("default port of the scheme is not written", {
        "HTTP_X_FORWARDED_HOST": "example.org", "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_PORT": "443"}, {},
     {"HTTP_HOST": "example.org", "SERVER_PORT": "443"}),
    ("other scheme's default port is written", {
        "HTTP_X_FORWARDED_HOST": "example.org", "HTTP_X_FORWARDED_PROTO": "http",
        "HTTP_X_FORWARDED_PORT": "443"}, {},
     {"HTTP_HOST": "example.org:443", "SERVER_PORT": "443", "wsgi.url_scheme": "http"}),
    ("the nginx documentation example", {
        "HTTP_X_FORWARDED_HOST": "example.org:8443", "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_PORT": "8443", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, {},
     {"HTTP_HOST": "example.org:8443", "SERVER_NAME": "example.org", "SERVER_PORT": "8443",
      "wsgi.url_scheme": "https", "REMOTE_ADDR": "203.0.113.9"}),
    ("space in host", {"HTTP_X_FORWARDED_HOST": "exa mple.org"}, {}, "X-Forwarded-Host"),
    ("path in host", {"HTTP_X_FORWARDED_HOST": "example.org/x"}, {}, "X-Forwarded-Host"),
    ("userinfo in host", {"HTTP_X_FORWARDED_HOST": "user@example.org"}, {}, "X-Forwarded-Host"),
    ("host port out of range", {"HTTP_X_FORWARDED_HOST": "example.org:65536"}, {},
     "X-Forwarded-Host"),
    ("bare ipv6 host", {"HTTP_X_FORWARDED_HOST": "2001:db8::1"}, {}, "X-Forwarded-Host"),
    ("latin-1 host", {"HTTP_X_FORWARDED_HOST": "exampl\xe9.org"}, {}, "X-Forwarded-Host"),
    ("crlf host", {"HTTP_X_FORWARDED_HOST": "example.org\r\nX: y"}, {}, "X-Forwarded-Host"),
]

XFPROTO_CASES = [
    ("https", {"HTTP_X_FORWARDED_PROTO": "https"}, {},
     {"wsgi.url_scheme": "https", "SERVER_PORT": "443", "HTTP_HOST": "192.168.1.20:8080"}),
    ("uppercase", {"HTTP_X_FORWARDED_PROTO": "HTTPS"}, {},
     {"wsgi.url_scheme": "https", "HTTP_X_FORWARDED_PROTO": "HTTPS"}),
    ("http over an https listener", {"HTTP_X_FORWARDED_PROTO": "http",
                                     "wsgi.url_scheme": "https"}, {},
     {"wsgi.url_scheme": "http", "SERVER_PORT": "80"}),
    ("quoted", {"HTTP_X_FORWARDED_PROTO": '"https"'}, {}, {"wsgi.url_scheme": "https"}),
    # Not a hop list: which of several values is meant is unknowable, and with
    # a count of 2 and one appending proxy the client's would be taken (audit AC).
    ("several values", {"HTTP_X_FORWARDED_PROTO": "http, https"}, {}, "X-Forwarded-Proto"),
    ("several values, count 2", {"HTTP_X_FORWARDED_PROTO": "https, http"},
     {"trusted_proxy_count": 2}, "X-Forwarded-Proto"),
    ("empty elements skipped", {"HTTP_X_FORWARDED_PROTO": ", https ,"}, {},
     {"wsgi.url_scheme": "https", "HTTP_X_FORWARDED_PROTO": "https"}),
    ("ftp", {"HTTP_X_FORWARDED_PROTO": "ftp"}, {}, "X-Forwarded-Proto"),
    ("ws", {"HTTP_X_FORWARDED_PROTO": "ws"}, {}, "X-Forwarded-Proto"),
    ("httpsx", {"HTTP_X_FORWARDED_PROTO": "httpsx"}, {}, "X-Forwarded-Proto"),
    ("kelvin sign is not k", {"HTTP_X_FORWARDED_PROTO": "http\u212a"}, {}, "X-Forwarded-Proto"),
    ("a forged value beside the proxy's", {"HTTP_X_FORWARDED_PROTO": "ftp, https"}, {},
     "X-Forwarded-Proto"),
    ("empty", {"HTTP_X_FORWARDED_PROTO": ""}, {},
     merged(UNCHANGED, {"HTTP_X_FORWARDED_PROTO": ABSENT})),
]

XFPORT_CASES = [
    ("port", {"HTTP_X_FORWARDED_PORT": "8443"}, {},
     {"SERVER_PORT": "8443", "HTTP_HOST": "192.168.1.20:8443", "SERVER_NAME": "waitress.invalid"}),
    ("default port drops it from Host", {"HTTP_X_FORWARDED_PORT": "80"}, {},
     {"SERVER_PORT": "80", "HTTP_HOST": "192.168.1.20"}),
    ("ipv6 Host keeps its brackets", {"HTTP_X_FORWARDED_PORT": "8443",
                                      "HTTP_HOST": "[2001:db8::1]:8080"}, {},
     {"HTTP_HOST": "[2001:db8::1]:8443"}),
    ("with https", {"HTTP_X_FORWARDED_PORT": "8443", "HTTP_X_FORWARDED_PROTO": "https"}, {},
     {"SERVER_PORT": "8443", "wsgi.url_scheme": "https"}),
    ("leading zeros are canonicalised", {"HTTP_X_FORWARDED_PORT": "0080"}, {},
     {"SERVER_PORT": "80"}),
    ("letters", {"HTTP_X_FORWARDED_PORT": "abc"}, {}, "X-Forwarded-Port"),
    ("negative", {"HTTP_X_FORWARDED_PORT": "-1"}, {}, "X-Forwarded-Port"),
    ("plus", {"HTTP_X_FORWARDED_PORT": "+80"}, {}, "X-Forwarded-Port"),
    ("hex", {"HTTP_X_FORWARDED_PORT": "0x50"}, {}, "X-Forwarded-Port"),
    ("too large", {"HTTP_X_FORWARDED_PORT": "65536"}, {}, "X-Forwarded-Port"),
    ("six digits", {"HTTP_X_FORWARDED_PORT": "000080"}, {}, "X-Forwarded-Port"),
    ("unicode digits", {"HTTP_X_FORWARDED_PORT": "\u0668\u0660"}, {}, "X-Forwarded-Port"),
]

XFBY_CASES = [
    ("by is kept, trimmed to the trusted hops", {"HTTP_X_FORWARDED_BY": "10.0.0.1, 10.0.0.2"},
     {}, merged(UNCHANGED, {"HTTP_X_FORWARDED_BY": "10.0.0.2"})),
    ("by removed when not trusted", {"HTTP_X_FORWARDED_BY": "10.0.0.1"},
     {"trusted_proxy_headers": "x-forwarded-for"},
     merged(UNCHANGED, {"HTTP_X_FORWARDED_BY": ABSENT})),
]

FORWARDED_CASES = [
    ("for", {"HTTP_FORWARDED": "for=198.51.100.7"}, FORWARDED,
     {"REMOTE_ADDR": "198.51.100.7", "REMOTE_HOST": "198.51.100.7", "REMOTE_PORT": "50000",
      "HTTP_FORWARDED": "for=198.51.100.7"}),
    ("quoted ipv6 with port", {"HTTP_FORWARDED": 'for="[2001:db8::1]:4711"'}, FORWARDED,
     {"REMOTE_ADDR": "2001:db8::1", "REMOTE_PORT": "4711"}),
    ("names are case-insensitive", {"HTTP_FORWARDED": 'For="[2001:db8::1]";PROTO=https'},
     FORWARDED, {"REMOTE_ADDR": "2001:db8::1", "wsgi.url_scheme": "https"}),
    ("docs example, count 1", {"HTTP_FORWARDED": 'for=192.0.2.1, For="[2001:db8::1]"'},
     FORWARDED, {"REMOTE_ADDR": "2001:db8::1", "HTTP_FORWARDED": 'For="[2001:db8::1]"'}),
    ("docs example, count 2", {"HTTP_FORWARDED": 'for=192.0.2.1, For="[2001:db8::1]"'},
     merged(FORWARDED, {"trusted_proxy_count": 2}),
     {"REMOTE_ADDR": "192.0.2.1", "HTTP_FORWARDED": 'for=192.0.2.1, For="[2001:db8::1]"'}),
    ("two header lines joined by the server",
     {"HTTP_FORWARDED": "for=6.6.6.6;host=evil.example, for=198.51.100.7;proto=https"},
     FORWARDED,
     {"REMOTE_ADDR": "198.51.100.7", "wsgi.url_scheme": "https", "SERVER_PORT": "443",
      "HTTP_HOST": "192.168.1.20:8080", "SERVER_NAME": "waitress.invalid",
      "HTTP_FORWARDED": "for=198.51.100.7;proto=https"}),
    ("oldest trusted element wins, later fill gaps", {
        "HTTP_FORWARDED": 'for=6.6.6.6;host=evil.example, '
                          'for="[2001:db8::1]";proto=https;host="example.com:8443", '
                          'for=192.0.2.1;host="example.internal:8080";proto=http'},
     merged(FORWARDED, {"trusted_proxy_count": 2}),
     {"REMOTE_ADDR": "2001:db8::1", "HTTP_HOST": "example.com:8443",
      "SERVER_NAME": "example.com", "SERVER_PORT": "8443", "wsgi.url_scheme": "https"}),
    ("host from a later trusted element", {
        "HTTP_FORWARDED": "for=1.1.1.1, for=2.2.2.2;host=b.example"},
     merged(FORWARDED, {"trusted_proxy_count": 2}),
     {"REMOTE_ADDR": "1.1.1.1", "HTTP_HOST": "b.example", "SERVER_PORT": "80"}),
    ("host and proto", {"HTTP_FORWARDED": 'host="example.org:8443";proto=https'}, FORWARDED,
     {"HTTP_HOST": "example.org:8443", "SERVER_NAME": "example.org", "SERVER_PORT": "8443",
      "wsgi.url_scheme": "https", "REMOTE_ADDR": PROXY}),
    ("token host", {"HTTP_FORWARDED": "host=example.org"}, FORWARDED,
     {"HTTP_HOST": "example.org", "SERVER_NAME": "example.org", "SERVER_PORT": "80"}),
    ("proto alone", {"HTTP_FORWARDED": "proto=https"}, FORWARDED,
     {"wsgi.url_scheme": "https", "SERVER_PORT": "443", "HTTP_HOST": "192.168.1.20:8080"}),
    ("unknown keeps the proxy", {"HTTP_FORWARDED": "for=unknown;proto=https"}, FORWARDED,
     {"REMOTE_ADDR": PROXY, "REMOTE_PORT": "50000", "wsgi.url_scheme": "https"}),
    ("unknown with port keeps the proxy's port", {"HTTP_FORWARDED": 'for="unknown:4711"'},
     FORWARDED, UNCHANGED),
    ("obfuscated node", {"HTTP_FORWARDED": "for=_hidden"}, FORWARDED, UNCHANGED),
    ("obfuscated node and port", {"HTTP_FORWARDED": 'for="_abc:_port"'}, FORWARDED, UNCHANGED),
    ("address with obfuscated port", {"HTTP_FORWARDED": 'for="198.51.100.7:_p1"'}, FORWARDED,
     {"REMOTE_ADDR": "198.51.100.7", "REMOTE_PORT": "50000"}),
    ("by is parsed, no effect", {"HTTP_FORWARDED": 'for=198.51.100.7;by="[2001:db8::9]:80"'},
     FORWARDED, {"REMOTE_ADDR": "198.51.100.7", "SERVER_NAME": "waitress.invalid"}),
    ("empty elements are hops", {"HTTP_FORWARDED": "for=1.1.1.1,,for=2.2.2.2"},
     merged(FORWARDED, {"trusted_proxy_count": 2}),
     {"REMOTE_ADDR": "2.2.2.2", "HTTP_FORWARDED": ", for=2.2.2.2"}),
    ("a trusted proxy's empty element is not skipped",
     {"HTTP_FORWARDED": "for=6.6.6.6, for=1.2.3.4,"},
     merged(FORWARDED, {"trusted_proxy_count": 2}),
     {"REMOTE_ADDR": "1.2.3.4", "HTTP_FORWARDED": "for=1.2.3.4, "}),
    ("a trailing empty element keeps the proxy", {"HTTP_FORWARDED": "for=6.6.6.6,"},
     FORWARDED, merged(UNCHANGED, {"HTTP_FORWARDED": ABSENT})),
    ("only empty elements", {"HTTP_FORWARDED": ", ,"}, FORWARDED,
     merged(UNCHANGED, {"HTTP_FORWARDED": ABSENT})),
    ("empty pairs", {"HTTP_FORWARDED": "for=1.1.1.1;;proto=https;"}, FORWARDED,
     {"REMOTE_ADDR": "1.1.1.1", "wsgi.url_scheme": "https"}),
    ("whitespace around ; and ,", {"HTTP_FORWARDED": "for=9.9.9.9 ,\tfor=1.1.1.1 ; proto=https"},
     FORWARDED, {"REMOTE_ADDR": "1.1.1.1", "wsgi.url_scheme": "https",
                 "HTTP_FORWARDED": "for=1.1.1.1 ; proto=https"}),
    ("escapes in quoted-string", {"HTTP_FORWARDED": r'for="1.1.1.\1"'}, FORWARDED,
     {"REMOTE_ADDR": "1.1.1.1"}),
    ("comma inside quotes is not a separator", {"HTTP_FORWARDED": 'for=1.1.1.1;ext="a, b"'},
     FORWARDED, {"REMOTE_ADDR": "1.1.1.1", "HTTP_FORWARDED": 'for=1.1.1.1;ext="a, b"'}),
    ("obs-text in an unknown parameter", {"HTTP_FORWARDED": 'for=1.1.1.1;ext="caf\xe9"'},
     FORWARDED, {"REMOTE_ADDR": "1.1.1.1"}),
    ("count larger than elements", {"HTTP_FORWARDED": "for=1.1.1.1, for=2.2.2.2"},
     merged(FORWARDED, {"trusted_proxy_count": 10}), {"REMOTE_ADDR": "1.1.1.1"}),
    ("element without for keeps the proxy", {"HTTP_FORWARDED": "for=6.6.6.6, proto=https"},
     FORWARDED, {"REMOTE_ADDR": PROXY, "wsgi.url_scheme": "https"}),
    ("for= without value", {"HTTP_FORWARDED": "for="}, FORWARDED, "Forwarded"),
    ("for= then more", {"HTTP_FORWARDED": "for=;proto=https"}, FORWARDED, "Forwarded"),
    ("unbalanced quote", {"HTTP_FORWARDED": 'for="1.1.1.1'}, FORWARDED, "Forwarded"),
    ("unbalanced quote in an untrusted element",
     {"HTTP_FORWARDED": 'for="6.6.6.6, for=1.1.1.1'}, FORWARDED, "Forwarded"),
    ("escaped closing quote", {"HTTP_FORWARDED": r'for="1.1.1.1\"'}, FORWARDED, "Forwarded"),
    ("proto=ftp", {"HTTP_FORWARDED": "proto=ftp"}, FORWARDED, "Forwarded"),
    # RFC 7239 wants these quoted; proxies send them bare, and Waitress takes them.
    ("unquoted ipv6", {"HTTP_FORWARDED": "for=[2001:db8::1]"}, FORWARDED,
     {"REMOTE_ADDR": "2001:db8::1"}),
    ("unquoted port", {"HTTP_FORWARDED": "for=1.1.1.1:80"}, FORWARDED,
     {"REMOTE_ADDR": "1.1.1.1", "REMOTE_PORT": "80"}),
    ("unquoted host and port", {"HTTP_FORWARDED": "host=example.org:8443"}, FORWARDED,
     {"HTTP_HOST": "example.org:8443", "SERVER_PORT": "8443"}),
    ("bare ipv6 in quotes", {"HTTP_FORWARDED": 'for="2001:db8::1"'}, FORWARDED, "Forwarded"),
    ("port out of range", {"HTTP_FORWARDED": 'for="[2001:db8::1]:65536"'}, FORWARDED,
     "Forwarded"),
    ("host port out of range", {"HTTP_FORWARDED": 'host="example.org:70000"'}, FORWARDED,
     "Forwarded"),
    ("comma in a quoted host", {"HTTP_FORWARDED": 'host="a.example,b.example"'}, FORWARDED,
     "Forwarded"),
    ("hostname in for", {"HTTP_FORWARDED": "for=client.example"}, FORWARDED, "Forwarded"),
    ("parameter twice", {"HTTP_FORWARDED": "for=1.1.1.1;FOR=2.2.2.2"}, FORWARDED, "Forwarded"),
    ("space around =", {"HTTP_FORWARDED": "for = 1.1.1.1"}, FORWARDED, "Forwarded"),
    ("pair without =", {"HTTP_FORWARDED": "for"}, FORWARDED, "Forwarded"),
    ("two pairs without ;", {"HTTP_FORWARDED": "for=1.1.1.1 proto=https"}, FORWARDED,
     "Forwarded"),
    ("latin-1 byte in token", {"HTTP_FORWARDED": "for=\xff"}, FORWARDED, "Forwarded"),
    ("latin-1 byte in quoted for", {"HTTP_FORWARDED": 'for="\xff"'}, FORWARDED, "Forwarded"),
    ("control character in quotes", {"HTTP_FORWARDED": 'ext="a\x01"'}, FORWARDED, "Forwarded"),
    ("by is not checked", {"HTTP_FORWARDED": "for=1.1.1.1;by=nonsense!"}, FORWARDED,
     {"REMOTE_ADDR": "1.1.1.1"}),
    ("zone id in brackets", {"HTTP_FORWARDED": 'for="[fe80::1%25eth0]"'}, FORWARDED,
     {"REMOTE_ADDR": "fe80::1%25eth0"}),
]

TRUST_CASES = [
    ("untrusted peer: forged headers ignored and removed", ALL_FORGED,
     {"peer": "203.0.113.66"},
     merged(NONE_OF_THEM, {"REMOTE_ADDR": "203.0.113.66", "REMOTE_PORT": "50000",
                           "wsgi.url_scheme": "http", "SERVER_NAME": "waitress.invalid",
                           "SERVER_PORT": "8080", "HTTP_HOST": "192.168.1.20:8080"})),
    ("untrusted peer, no clearing: kept but ignored", ALL_FORGED,
     {"peer": "203.0.113.66", "clear_untrusted_proxy_headers": False},
     merged(ALL_FORGED, {"REMOTE_ADDR": "203.0.113.66", "wsgi.url_scheme": "http",
                         "SERVER_PORT": "8080", "HTTP_HOST": "192.168.1.20:8080"})),
    ("no trusted proxy: all six removed", ALL_FORGED,
     {"trusted_proxy": None, "trusted_proxy_headers": None},
     merged(NONE_OF_THEM, UNCHANGED)),
    ("no trusted proxy and no REMOTE_ADDR is not trust", ALL_FORGED,
     {"trusted_proxy": None, "peer": ABSENT, "clear_untrusted_proxy_headers": False},
     {"wsgi.url_scheme": "http", "REMOTE_ADDR": ABSENT, "HTTP_HOST": "192.168.1.20:8080"}),
    ("wildcard trusts every peer", {"HTTP_X_FORWARDED_FOR": "198.51.100.7"},
     {"trusted_proxy": "*", "peer": "203.0.113.66"}, {"REMOTE_ADDR": "198.51.100.7"}),
    ("localhost trust for UNIX sockets", {"HTTP_X_FORWARDED_PROTO": "https"},
     {"trusted_proxy": "localhost", "peer": "localhost"}, {"wsgi.url_scheme": "https"}),
    ("localhost trust does not cover 127.0.0.1", {"HTTP_X_FORWARDED_PROTO": "https"},
     {"trusted_proxy": "localhost", "peer": "127.0.0.1"},
     {"wsgi.url_scheme": "http", "HTTP_X_FORWARDED_PROTO": ABSENT}),
    ("bracketed trusted ipv6 proxy", {"HTTP_X_FORWARDED_FOR": "198.51.100.7"},
     {"trusted_proxy": "[::1]", "peer": "::1"}, {"REMOTE_ADDR": "198.51.100.7"}),
    ("trusted peer: headers not trusted are removed, not applied", ALL_FORGED,
     {"trusted_proxy_headers": "x-forwarded-for"},
     merged(NONE_OF_THEM, {"HTTP_X_FORWARDED_FOR": "6.6.6.6", "REMOTE_ADDR": "6.6.6.6",
                           "wsgi.url_scheme": "http", "HTTP_HOST": "192.168.1.20:8080",
                           "SERVER_PORT": "8080"})),
    ("trusting forwarded removes all X-Forwarded-*", ALL_FORGED, FORWARDED,
     merged(NONE_OF_THEM, {"HTTP_FORWARDED": "for=6.6.6.6;proto=https;host=evil.example",
                           "REMOTE_ADDR": "6.6.6.6", "HTTP_HOST": "evil.example"})),
    ("trusted but no headers sent", {}, {}, UNCHANGED),
    # Found by mutation testing: each pins a check no case reached before.
    ("a host alone keeps an https scheme's port", {"wsgi.url_scheme": "https",
                                                   "HTTP_X_FORWARDED_HOST": "example.com"},
     {"trusted_proxy_headers": "x-forwarded-host"},
     {"SERVER_NAME": "example.com", "SERVER_PORT": "443", "wsgi.url_scheme": "https"}),
    ("obfuscated node with a junk tail", {"HTTP_X_FORWARDED_FOR": "_abc!"}, {}, "X-Forwarded-For"),
    ("IPvFuture host with a junk tail", {"HTTP_X_FORWARDED_HOST": "[v1.a/b]"}, {}, "X-Forwarded-Host"),
    ("quoted proto with a junk tail", {"HTTP_X_FORWARDED_PROTO": '"https"x'}, {}, "X-Forwarded-Proto"),
    ("Forwarded value with a delimiter unquoted", {"HTTP_FORWARDED": "for=1.2.3.4;by=a/b"},
     FORWARDED, "Forwarded"),
    ("quoted node without its closing quote", {"HTTP_X_FORWARDED_FOR": '"192.0.2.43'}, {}, "X-Forwarded-For"),
    ("quoted node with a quote inside", {"HTTP_X_FORWARDED_FOR": '"a"b"'}, {}, "X-Forwarded-For"),
    ("a lone quote", {"HTTP_X_FORWARDED_FOR": '"'}, {}, "X-Forwarded-For"),
    ("IP literal not starting with a hex digit", {"HTTP_X_FORWARDED_HOST": "[x2001:db8::1]"}, {},
     "X-Forwarded-Host"),
    ("IPvFuture host with a port", {"HTTP_X_FORWARDED_HOST": "[v7.abc]:8080"}, {},
     {"HTTP_HOST": "[v7.abc]:8080", "SERVER_NAME": "[v7.abc]", "SERVER_PORT": "8080"}),
    ("IP literal host followed by junk, not a colon", {"HTTP_X_FORWARDED_HOST": "[::1]x80"}, {},
     "X-Forwarded-Host"),
    ("IP literal node followed by junk, not a colon", {"HTTP_FORWARDED": 'for="[2001:db8::1]x80"'},
     FORWARDED, "Forwarded"),
    ("host with an empty port takes the scheme's", {"HTTP_X_FORWARDED_HOST": "example.com:"}, {},
     {"HTTP_HOST": "example.com", "SERVER_NAME": "example.com", "SERVER_PORT": "80"}),
    ("the highest port", {"HTTP_X_FORWARDED_PORT": "65535"}, {}, {"SERVER_PORT": "65535"}),
    ("one past the highest port", {"HTTP_X_FORWARDED_PORT": "65536"}, {}, "X-Forwarded-Port"),
    ("trusted, nothing trusted: proxy headers removed", ALL_FORGED,
     {"trusted_proxy_headers": None}, merged(NONE_OF_THEM, UNCHANGED)),
    ("an empty quoted for", {"HTTP_FORWARDED": 'for=""'}, FORWARDED, "Forwarded"),
]


def cases(table):
    return [pytest.param(headers, overrides, expected, id=name)
            for name, headers, overrides, expected in table]


ALL_CASES = (XFF_CASES + XFH_CASES + XFPROTO_CASES + XFPORT_CASES + XFBY_CASES
             + FORWARDED_CASES + TRUST_CASES)


@pytest.mark.parametrize("headers, overrides, expected", cases(ALL_CASES))
def test_case(headers, overrides, expected):
    if isinstance(expected, str):
        with pytest.raises(MalformedProxyHeader) as info:
            run_case(headers, overrides)
        assert info.value.header == expected
        assert str(info.value).startswith('Header "{}" malformed. '.format(expected))
        assert info.value.reason
    else:
        environ = run_case(headers, overrides)
        for key, value in expected.items():
            if value is ABSENT:
                assert key not in environ, (key, environ[key])
            else:
                assert environ.get(key, ABSENT) == value, (key, environ.get(key, ABSENT))
        assert "[" not in environ.get("REMOTE_ADDR", "")


@pytest.mark.parametrize(
    "headers, overrides, expected",
    cases([case for case in ALL_CASES if isinstance(case[3], str)]),
)
def test_malformed_header_leaves_environ_untouched(headers, overrides, expected):
    overrides = dict(overrides)
    peer = overrides.pop("peer", PROXY)
    settings = {"trusted_proxy": PROXY, "trusted_proxy_headers": X_HEADERS}
    settings.update(overrides)
    environ = make_environ(headers, peer)
    before = dict(environ)
    with pytest.raises(MalformedProxyHeader):
        apply_proxy_headers(environ, ProxySettings(**settings))
    assert environ == before


def test_malformed_error_carries_header_reason_and_value():
    environ = make_environ({"HTTP_X_FORWARDED_PROTO": "gopher"}, PROXY)
    settings = ProxySettings(trusted_proxy=PROXY, trusted_proxy_headers={"x-forwarded-proto"})
    with pytest.raises(MalformedProxyHeader) as info:
        apply_proxy_headers(environ, settings)
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.header, error.value) == ("X-Forwarded-Proto", "gopher")
    assert "http or https" in error.reason
    assert str(error) == 'Header "X-Forwarded-Proto" malformed. ' + error.reason
    assert "gopher" not in str(error)


@pytest.mark.parametrize("value", ['"', '"192.0.2.43', '"a"b"'])
def test_unbalanced_quotes_are_named_as_such(value):
    environ = make_environ({"HTTP_X_FORWARDED_FOR": value}, PROXY)
    settings = ProxySettings(trusted_proxy=PROXY, trusted_proxy_headers={"x-forwarded-for"})
    with pytest.raises(MalformedProxyHeader) as info:
        apply_proxy_headers(environ, settings)
    assert info.value.reason == "unbalanced quotes"


@pytest.mark.parametrize(
    "key, value, reason",
    [
        ("HTTP_X_FORWARDED_FOR", "[2001:db8::1", "unbalanced brackets"),
        ("HTTP_X_FORWARDED_HOST", "[::1", "unbalanced brackets"),
        ("HTTP_X_FORWARDED_FOR", "1:2:3", "invalid address"),
    ],
)
def test_the_reason_names_what_is_wrong(key, value, reason):
    # The reason reaches the 400 page and the log: it must name the fault,
    # not whatever a later check trips over.
    environ = make_environ({key: value}, PROXY)
    with pytest.raises(MalformedProxyHeader) as info:
        apply_proxy_headers(environ, ProxySettings(trusted_proxy=PROXY, trusted_proxy_headers=X_HEADERS))
    assert info.value.reason == reason


def test_settings_shared_between_calls_are_not_mutated():
    settings = ProxySettings(trusted_proxy=PROXY, trusted_proxy_headers=X_HEADERS)
    first = make_environ({"HTTP_X_FORWARDED_FOR": "1.1.1.1"}, PROXY)
    second = make_environ({"HTTP_X_FORWARDED_FOR": "2.2.2.2"}, PROXY)
    apply_proxy_headers(first, settings)
    apply_proxy_headers(second, settings)
    assert (first["REMOTE_ADDR"], second["REMOTE_ADDR"]) == ("1.1.1.1", "2.2.2.2")
