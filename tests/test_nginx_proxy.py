"""Trusted proxy headers end to end: a real nginx in front of our server.

nginx is told fixed values (proto https, host example.org, port 8443) and the
client's own address; the application echoes its environ as JSON, so each
test proves the app saw what nginx was told, over TCP and over a UNIX socket,
with X-Forwarded-* and with RFC 7239 Forwarded.  Forged headers are sent by
the client too: through nginx only the hops nginx added are believed, and
straight to a server that does not trust the peer they are ignored and
removed.

The client connects to nginx from 127.0.0.2 where the system allows it, so
that the client's address differs from the proxy's (127.0.0.1).
"""

import http.client
import json
import os
import shutil
import tempfile

import pytest
from nginx_support import BackgroundServer, Nginx, can_bind, find_nginx
from server_support import needs_unix

NGINX = find_nginx()

pytestmark = [
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (CI installs nginx-light)"),
    needs_unix,  # each set-up serves a UNIX socket beside TCP
    pytest.mark.timeout(60),
]

X_TRUSTED = "x-forwarded-for x-forwarded-proto x-forwarded-host x-forwarded-port"
ECHOED = (
    "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_PORT", "wsgi.url_scheme", "HTTP_HOST",
    "SERVER_NAME", "SERVER_PORT", "HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_BY",
)
FORGED = {
    "Forwarded": "for=6.6.6.6;proto=http;host=evil.example",
    "X-Forwarded-For": "6.6.6.6",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Port": "6666",
    "X-Forwarded-By": "6.6.6.7",
}
CLIENT_ADDRESS = "127.0.0.2" if can_bind("127.0.0.2") else "127.0.0.1"


def echo_app(environ, start_response):
    body = json.dumps({key: environ.get(key) for key in ECHOED}).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def x_forwarded_location(path, upstream):
    return """
        location {path} {{
            proxy_pass {upstream};
            proxy_set_header X-Forwarded-For "$remote_addr:$remote_port";
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Host example.org;
            proxy_set_header X-Forwarded-Port 8443;
            proxy_set_header Forwarded "";
            proxy_set_header X-Forwarded-By "";
        }}""".format(path=path, upstream=upstream)


def forwarded_location(path, upstream, value):
    return """
        location {path} {{
            proxy_pass {upstream};
            proxy_set_header Forwarded '{value}';
        }}""".format(path=path, upstream=upstream, value=value)


@pytest.fixture(scope="module")
def scratch():
    # A short path: UNIX socket paths are limited to about 100 bytes.
    path = tempfile.mkdtemp(prefix="wpnginx")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(scratch):
    """nginx plus five servers of ours behind it; yields the nginx port."""
    x_sock = os.path.join(scratch, "x.sock")
    f_sock = os.path.join(scratch, "f.sock")
    servers = [
        BackgroundServer(echo_app, listen="127.0.0.1:0", trusted_proxy="127.0.0.1",
                         trusted_proxy_headers=X_TRUSTED, clear_untrusted_proxy_headers=True),
        BackgroundServer(echo_app, unix_socket=x_sock, trusted_proxy="localhost",
                         trusted_proxy_headers=X_TRUSTED, clear_untrusted_proxy_headers=True),
        BackgroundServer(echo_app, listen="127.0.0.1:0", trusted_proxy="127.0.0.1",
                         trusted_proxy_headers="forwarded"),
        BackgroundServer(echo_app, unix_socket=f_sock, trusted_proxy="localhost",
                         trusted_proxy_headers="forwarded"),
        BackgroundServer(echo_app, listen="127.0.0.1:0", trusted_proxy="127.0.0.1",
                         trusted_proxy_headers="x-forwarded-for", trusted_proxy_count=2),
    ]
    x_tcp, _, f_tcp, _, xff2_tcp = servers
    tcp = "http://127.0.0.1:{}".format
    client_forwarded = 'for="$remote_addr:$remote_port";proto=https;host=example.org'
    locations = "".join([
        x_forwarded_location("/x-tcp/", tcp(x_tcp.port)),
        x_forwarded_location("/x-unix/", "http://unix:{}:".format(x_sock)),
        """
        location /x-append/ {{
            proxy_pass {};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
        }}""".format(tcp(x_tcp.port)),
        """
        location /x-append-two/ {{
            proxy_pass {};
            proxy_set_header X-Forwarded-For "$http_x_forwarded_for, $remote_addr";
        }}""".format(tcp(xff2_tcp.port)),
        """
        location /x-bad-proto/ {{
            proxy_pass {};
            proxy_set_header X-Forwarded-Proto gopher;
        }}""".format(tcp(x_tcp.port)),
        forwarded_location("/f-tcp/", tcp(f_tcp.port), client_forwarded),
        forwarded_location("/f-unix/", "http://unix:{}:".format(f_sock), client_forwarded),
        forwarded_location("/f-ipv6/", tcp(f_tcp.port),
                           'for="[::1]:1234";proto=https;host="example.org:8443"'),
        forwarded_location("/f-append/", tcp(f_tcp.port),
                           '$http_forwarded, for="$remote_addr:$remote_port";proto=https'),
    ])
    started = []
    try:
        for server in servers:
            started.append(server.__enter__())
        with Nginx(NGINX, scratch, locations) as nginx:
            yield nginx.port
    finally:
        for server in reversed(started):
            server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def untrusting_server():
    """Our server trusting only 10.9.9.9, so a direct peer on loopback is not trusted."""
    with BackgroundServer(echo_app, listen="127.0.0.1:0", trusted_proxy="10.9.9.9",
                          trusted_proxy_headers=X_TRUSTED,
                          clear_untrusted_proxy_headers=True) as server:
        yield server.port


def request(port, path, headers=None, source=CLIENT_ADDRESS):
    """GET ``path``; return (status, body, the client's own port)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                            source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        client_port = connection.sock.getsockname()[1]
        response = connection.getresponse()
        return response.status, response.read(), client_port
    finally:
        connection.close()


def echoed(port, path, headers=None):
    status, body, client_port = request(port, path, headers)
    assert status == 200, body
    return json.loads(body), client_port


@pytest.mark.parametrize("path", ["/x-tcp/", "/x-unix/"])
def test_x_forwarded_headers_from_nginx(stack, path):
    environ, client_port = echoed(stack, path, FORGED)
    assert environ["REMOTE_ADDR"] == CLIENT_ADDRESS
    assert environ["REMOTE_HOST"] == CLIENT_ADDRESS
    assert environ["REMOTE_PORT"] == str(client_port)
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["HTTP_HOST"] == "example.org:8443"
    assert environ["SERVER_NAME"] == "example.org"
    assert environ["SERVER_PORT"] == "8443"
    assert environ["HTTP_X_FORWARDED_FOR"] == "{}:{}".format(CLIENT_ADDRESS, client_port)
    assert environ["HTTP_X_FORWARDED_PROTO"] == "https"
    assert environ["HTTP_X_FORWARDED_HOST"] == "example.org"
    assert environ["HTTP_X_FORWARDED_PORT"] == "8443"
    # nginx passed the client's forged By through; it is not trusted, so removed.
    assert environ["HTTP_FORWARDED"] is None
    assert environ["HTTP_X_FORWARDED_BY"] is None


def test_client_forged_hop_is_dropped_when_nginx_appends(stack):
    environ, _ = echoed(stack, "/x-append/", {"X-Forwarded-For": "6.6.6.6, 7.7.7.7"})
    assert environ["REMOTE_ADDR"] == CLIENT_ADDRESS
    assert environ["HTTP_X_FORWARDED_FOR"] == CLIENT_ADDRESS
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["SERVER_PORT"] == "443"


def test_count_two_trusts_one_hop_before_nginx(stack):
    environ, _ = echoed(stack, "/x-append-two/",
                        {"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
    assert environ["REMOTE_ADDR"] == "198.51.100.7"
    assert environ["HTTP_X_FORWARDED_FOR"] == "198.51.100.7, " + CLIENT_ADDRESS
    assert environ["wsgi.url_scheme"] == "http"


def test_malformed_header_from_nginx_is_a_400(stack):
    status, body, _ = request(stack, "/x-bad-proto/")
    assert status == 400
    assert b"X-Forwarded-Proto" in body


@pytest.mark.parametrize("path", ["/f-tcp/", "/f-unix/"])
def test_forwarded_header_from_nginx(stack, path):
    environ, client_port = echoed(stack, path, FORGED)
    assert environ["REMOTE_ADDR"] == CLIENT_ADDRESS
    assert environ["REMOTE_PORT"] == str(client_port)
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["HTTP_HOST"] == "example.org"
    assert environ["SERVER_NAME"] == "example.org"
    assert environ["SERVER_PORT"] == "443"
    assert environ["HTTP_FORWARDED"] == 'for="{}:{}";proto=https;host=example.org'.format(
        CLIENT_ADDRESS, client_port)
    for key in ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO",
                "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_BY"):
        assert environ[key] is None, key


def test_forwarded_ipv6_node_loses_its_brackets(stack):
    environ, _ = echoed(stack, "/f-ipv6/")
    assert environ["REMOTE_ADDR"] == "::1"
    assert environ["REMOTE_PORT"] == "1234"
    assert environ["HTTP_HOST"] == "example.org:8443"
    assert environ["SERVER_PORT"] == "8443"
    assert environ["wsgi.url_scheme"] == "https"


def test_forwarded_elements_the_client_forged_are_dropped(stack):
    environ, client_port = echoed(stack, "/f-append/", {"Forwarded": FORGED["Forwarded"]})
    assert environ["REMOTE_ADDR"] == CLIENT_ADDRESS
    assert environ["HTTP_HOST"] != "evil.example"
    assert environ["HTTP_FORWARDED"] == 'for="{}:{}";proto=https'.format(
        CLIENT_ADDRESS, client_port)


def test_forwarded_without_a_client_header(stack):
    # nginx sends ", for=..." (an empty first element): the list rule skips it.
    environ, _ = echoed(stack, "/f-append/")
    assert environ["REMOTE_ADDR"] == CLIENT_ADDRESS
    assert environ["wsgi.url_scheme"] == "https"


def test_untrusted_peer_going_around_nginx_is_ignored(untrusting_server):
    environ, client_port = echoed(untrusting_server, "/direct", FORGED)
    assert environ["REMOTE_ADDR"] == CLIENT_ADDRESS
    assert environ["REMOTE_PORT"] == str(client_port)
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["SERVER_NAME"] != "evil.example"
    assert environ["SERVER_PORT"] == str(untrusting_server)
    assert environ["HTTP_HOST"] == "127.0.0.1:{}".format(untrusting_server)
    for key in ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST",
                "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_BY"):
        assert environ[key] is None, key
