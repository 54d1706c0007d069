"""Time apply_proxy_headers on typical environs: the cost it adds to every request.

Run:  python bench/proxy_bench.py [--seconds 0.5]

Each scenario copies a fresh environ per call (the copy is timed separately and
subtracted), as a server hands the function a new environ for every request.
Figures from a shared machine are indicative only.
"""

import argparse
import time

from waitress_proxy import ProxySettings, apply_proxy_headers

BASE = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/",
    "QUERY_STRING": "",
    "SERVER_NAME": "waitress.invalid",
    "SERVER_PORT": "8080",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_HOST": "127.0.0.1",
    "REMOTE_PORT": "50000",
    "HTTP_HOST": "127.0.0.1:8080",
    "HTTP_USER_AGENT": "bench",
    "HTTP_ACCEPT": "*/*",
    "wsgi.url_scheme": "http",
}
X_HEADERS = {
    "HTTP_X_FORWARDED_FOR": "203.0.113.7",
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_HOST": "example.org",
}
X_TRUST = "x-forwarded-for x-forwarded-proto x-forwarded-host x-forwarded-port"

SCENARIOS = [
    ("no proxy configured, no proxy headers", ProxySettings(), {}),
    ("no proxy configured, forged XFF/XFP/XFH removed", ProxySettings(), X_HEADERS),
    ("trusted peer, headers absent",
     ProxySettings(trusted_proxy="127.0.0.1", trusted_proxy_headers=X_TRUST), {}),
    ("trusted peer, XFF + XFP + XFH",
     ProxySettings(trusted_proxy="127.0.0.1", trusted_proxy_headers=X_TRUST), X_HEADERS),
    ("trusted peer, XFF with 3 hops + XFP + XFH",
     ProxySettings(trusted_proxy="127.0.0.1", trusted_proxy_headers=X_TRUST),
     dict(X_HEADERS, HTTP_X_FORWARDED_FOR="198.51.100.1, 198.51.100.2, 203.0.113.7")),
    ("trusted peer, Forwarded for;proto;host",
     ProxySettings(trusted_proxy="127.0.0.1", trusted_proxy_headers="forwarded"),
     {"HTTP_FORWARDED": 'for="[2001:db8::7]:4711";proto=https;host=example.org'}),
    ("untrusted peer, forged XFF/XFP/XFH",
     ProxySettings(trusted_proxy="10.0.0.1", trusted_proxy_headers=X_TRUST), X_HEADERS),
]


def per_call(function, seconds):
    """Seconds per call of ``function``, after calibrating the loop count."""
    loops = 1000
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            function()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / loops
        loops *= 2


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per scenario")
    args = parser.parse_args(argv)
    for name, settings, headers in SCENARIOS:
        environ = dict(BASE, **headers)
        copy_cost = per_call(environ.copy, args.seconds)
        def call(environ=environ, settings=settings):
            apply_proxy_headers(environ.copy(), settings)

        cost = per_call(call, args.seconds)
        print("{:50s} {:7.2f} us".format(name, (cost - copy_cost) * 1e6))


if __name__ == "__main__":
    main()
