"""WebTest's StopableWSGIServer subclasses waitress.server.TcpWSGIServer and
leans on its internals (adj.host/port, _map, asyncore.loop, maintenance,
task_dispatcher.shutdown); it must keep working unchanged.
"""

import http.client
import os

import pytest

webtest_http = pytest.importorskip("webtest.http")


def hello_app(environ, start_response):
    body = b"hello from webtest"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def test_our_waitress_is_the_one_webtest_imports():
    import waitress.server

    assert webtest_http.TcpWSGIServer is waitress.server.TcpWSGIServer
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert os.path.abspath(waitress.server.__file__).startswith(
        os.path.join(here, "packages", "waitress")
    )


def test_stopable_wsgi_server_round_trip():
    server = webtest_http.StopableWSGIServer.create(hello_app)
    try:
        assert server.wait(retries=20)
        assert server.application_url.startswith("http://127.0.0.1:")
        assert server.application_url.endswith("/")
        host_port = server.application_url[len("http://") : -1]
        host, port = host_port.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("GET", "/anything")
            response = conn.getresponse()
            assert response.status == 200
            assert response.read() == b"hello from webtest"
            conn.request("GET", "/__application__")
            assert conn.getresponse().read() == b"server started"
        finally:
            conn.close()
    finally:
        assert server.shutdown() is True
    server.runner.join(10)
    assert not server.runner.is_alive(), "StopableWSGIServer.run() did not return after shutdown()"
    assert server._map == {}  # shutdown() emptied the map by handle_close()


def test_stopable_wsgi_server_exposes_tracebacks():
    def failing(environ, start_response):
        raise ValueError("webtest-visible failure")

    server = webtest_http.StopableWSGIServer.create(failing)
    try:
        assert server.wait(retries=20)
        assert server.adj.expose_tracebacks is True
        host, port = server.adj.host, int(server.adj.port)
        conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            assert response.status == 500
            assert b"webtest-visible failure" in response.read()
        finally:
            conn.close()
    finally:
        server.shutdown()
    server.runner.join(10)
