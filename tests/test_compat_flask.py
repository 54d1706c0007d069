"""A real Flask application served by the real server, through http.client."""

import http.client
import json

import pytest
from server_support import ThreadedServer, tcp_address

flask = pytest.importorskip("flask")


def make_flask_app():
    app = flask.Flask("compat_fixture")

    @app.route("/hello/<name>")
    def hello(name):
        return "Hello, %s!" % name

    @app.route("/json", methods=["POST"])
    def echo_json():
        payload = flask.request.get_json()
        return flask.jsonify(received=payload, script_name=flask.request.script_root)

    @app.route("/form", methods=["POST"])
    def form():
        return "%s=%s" % ("field", flask.request.form["field"])

    @app.route("/stream")
    def stream():
        def generate():
            for index in range(5):
                yield "line %d\n" % index

        return flask.Response(generate(), mimetype="text/plain")

    @app.route("/fail")
    def fail():
        raise RuntimeError("flask view failed")

    return app


def _request(target, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(*target, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_flask_round_trip():
    with ThreadedServer(make_flask_app(), url_prefix="/site") as server:
        target = tcp_address(server)
        status, headers, body = _request(target, "GET", "/site/hello/world")
        assert (status, body) == (200, b"Hello, world!")
        assert headers["Content-Type"].startswith("text/html")

        payload = json.dumps({"a": [1, 2, 3]})
        status, _, body = _request(
            target, "POST", "/site/json", payload, {"Content-Type": "application/json"}
        )
        assert status == 200
        assert json.loads(body) == {"received": {"a": [1, 2, 3]}, "script_name": "/site"}

        status, _, body = _request(
            target,
            "POST",
            "/site/form",
            "field=v%C3%A4lue",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert (status, body.decode("utf-8")) == (200, "field=välue")

        status, _, body = _request(target, "GET", "/site/stream")
        assert (status, body) == (200, b"".join(b"line %d\n" % i for i in range(5)))

        status, _, _ = _request(target, "GET", "/site/missing")
        assert status == 404
        status, _, _ = _request(target, "GET", "/site/fail")
        assert status == 500


def test_flask_keep_alive_over_one_connection():
    with ThreadedServer(make_flask_app()) as server:
        conn = http.client.HTTPConnection(*tcp_address(server), timeout=10)
        try:
            for name in ("a", "b", "c"):
                conn.request("GET", "/hello/" + name)
                response = conn.getresponse()
                assert response.read() == ("Hello, %s!" % name).encode()
                assert not response.will_close
        finally:
            conn.close()
