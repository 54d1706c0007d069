"""A real Pyramid application served by the real server, through http.client.

Pyramid builds URLs from the environ (route_url: scheme, host, SCRIPT_NAME),
reads JSON bodies through WebOb, and sends files with FileResponse, which
uses ``wsgi.file_wrapper``; an exception with no exception view reaches the
server, which must answer 500 and keep serving.
"""

import http.client
import json

import pytest
from server_support import ThreadedServer, tcp_address

pyramid_config = pytest.importorskip("pyramid.config")
pyramid_response = pytest.importorskip("pyramid.response")

FILE_BODY = bytes(range(256)) * 2048  # 512 KiB, every byte value


def hello(request):
    return pyramid_response.Response(
        "Hello, %s!" % request.matchdict["name"], content_type="text/plain"
    )


def echo(request):
    return {
        "received": request.json_body,
        "url": request.route_url("hello", name="x"),
        "script_name": request.script_name,
        "client": request.client_addr,
    }


def stream(request):
    response = pyramid_response.Response(content_type="text/plain")
    response.app_iter = (b"chunk %d\n" % i for i in range(50))
    return response


def send_file(request):
    return pyramid_response.FileResponse(
        request.registry.settings["file_path"], request=request,
        content_type="application/octet-stream",
    )


def fail(request):
    raise RuntimeError("pyramid view failed")


def make_app(file_path):
    with pyramid_config.Configurator(settings={"file_path": file_path}) as config:
        config.add_route("hello", "/hello/{name}")
        config.add_view(hello, route_name="hello")
        config.add_route("echo", "/echo")
        config.add_view(echo, route_name="echo", renderer="json", request_method="POST")
        config.add_route("stream", "/stream")
        config.add_view(stream, route_name="stream")
        config.add_route("file", "/file")
        config.add_view(send_file, route_name="file")
        config.add_route("fail", "/fail")
        config.add_view(fail, route_name="fail")
        return config.make_wsgi_app()


def _request(conn, method, url, body=None, headers=None):
    conn.request(method, url, body=body, headers=headers or {})
    response = conn.getresponse()
    return response, response.read()


def _request_alone(target, method, url):
    """One request on a connection of its own."""
    conn = http.client.HTTPConnection(*target, timeout=20)
    try:
        return _request(conn, method, url)
    finally:
        conn.close()


def test_pyramid_round_trip_on_one_connection(tmp_path, waitress_log):
    source = tmp_path / "payload.bin"
    source.write_bytes(FILE_BODY)
    app = make_app(str(source))
    with ThreadedServer(
        app, url_prefix="/app", trusted_proxy="127.0.0.1", trusted_proxy_headers="x-forwarded-proto"
    ) as server:
        target = tcp_address(server)
        conn = http.client.HTTPConnection(*target, timeout=20)
        try:
            response, body = _request(conn, "GET", "/app/hello/world")
            assert (response.status, body) == (200, b"Hello, world!")

            response, body = _request(
                conn, "POST", "/app/echo", json.dumps({"n": [1, 2]}),
                {"Content-Type": "application/json", "X-Forwarded-Proto": "https"},
            )
            assert response.status == 200
            assert json.loads(body) == {
                "received": {"n": [1, 2]},
                "url": "https://%s:%d/app/hello/x" % target,
                "script_name": "/app",
                "client": "127.0.0.1",
            }

            response, body = _request(conn, "GET", "/app/stream")
            assert response.status == 200
            assert body == b"".join(b"chunk %d\n" % i for i in range(50))

            response, body = _request(conn, "GET", "/app/file")
            assert response.status == 200
            assert response.getheader("Content-Length") == str(len(FILE_BODY))
            assert body == FILE_BODY
            assert not response.will_close  # all of it on the same connection

            response, body = _request(conn, "GET", "/app/missing")
            assert response.status == 404
        finally:
            conn.close()

        response, _ = _request_alone(target, "GET", "/app/fail")
        assert response.status == 500
        response, body = _request_alone(target, "GET", "/app/hello/again")
        assert (response.status, body) == (200, b"Hello, again!")
    logged = " ".join(record.getMessage() for record in waitress_log.records)
    assert "Exception while serving" in logged
