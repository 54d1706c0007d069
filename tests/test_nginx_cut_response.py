"""A response cut short by the application, relayed by a real nginx.

nginx speaks HTTP/1.0 to its upstream unless told otherwise
(``proxy_http_version``), so a streamed body reaches it delimited by the
close.  Ended with a plain close, a body the application broke off was
relayed to the client as complete, chunked and all.  Our server resets
such a connection: nginx then aborts the client's response, and the client
knows.  With ``proxy_http_version 1.1`` the body is chunked and the missing
last chunk tells nginx the same.  Over a UNIX socket, which has no such
reset, the server closes with a byte of the request unread, which Linux
turns into one (``waitress.holdback``).
"""

import http.client
import os
import shutil
import sys
import tempfile

import pytest
from fixtureapps import error
from nginx_support import BackgroundServer, Nginx, find_nginx
from server_support import needs_unix

NGINX = find_nginx()

pytestmark = [
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (CI installs nginx-light)"),
    needs_unix,  # each set-up serves a UNIX socket beside TCP
    pytest.mark.timeout(60),
]


_LOCATIONS = """
        location /{prefix}default/ {{ proxy_pass {up}/; }}
        location /{prefix}http11/ {{
            proxy_pass {up}/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}"""


@pytest.fixture(scope="module")
def nginx_port():
    """nginx relaying to the server over TCP (``/default/``, ``/http11/``)
    and over a UNIX socket (``/unix-default/``, ``/unix-http11/``), the
    usual set-up on one machine."""
    scratch = tempfile.mkdtemp(prefix="wpcut")
    unix_path = os.path.join(scratch, "upstream.sock")
    try:
        with BackgroundServer(error.app, listen="127.0.0.1:0") as server, \
                BackgroundServer(error.app, unix_socket=unix_path):
            locations = _LOCATIONS.format(prefix="", up="http://127.0.0.1:%d" % server.port)
            locations += _LOCATIONS.format(prefix="unix-", up="http://unix:%s:" % unix_path)
            with Nginx(NGINX, scratch, locations) as nginx:
                yield nginx.port
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def fetch(port, path):
    """The status and body the client gets, or the exception reading it raised."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        try:
            return response.status, response.read()
        except http.client.IncompleteRead as cut:
            return response.status, cut
    finally:
        connection.close()


@pytest.mark.parametrize("upstream_version", ["default", "http11", "unix-default", "unix-http11"])
def test_a_body_the_application_broke_off_reaches_the_client_as_incomplete(
    nginx_port, upstream_version
):
    if upstream_version == "unix-default" and not sys.platform.startswith("linux"):
        pytest.skip("only Linux resets a UNIX socket closed with input unread (see holdback)")
    status, body = fetch(nginx_port, "/%s/after_headers_sent" % upstream_version)
    assert status == 200
    assert isinstance(body, http.client.IncompleteRead), body


@pytest.mark.parametrize("upstream_version", ["default", "http11", "unix-default", "unix-http11"])
def test_a_whole_streamed_body_reaches_the_client_whole(nginx_port, upstream_version):
    assert fetch(nginx_port, "/%s/whole_stream" % upstream_version) == (200, error.FIRST_CHUNK)
