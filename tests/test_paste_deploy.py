"""PasteDeploy and Pyramid's ``pserve`` serving through ``use = egg:waitress#main``.

The ini values arrive as strings and go through the option table's
converters.  Port 0 cannot be learned through ``loadserver``, so each test
picks a free port and writes it into the ini file.  Serving happens in a
child process, stopped by PID with SIGTERM (then killed) in a ``finally``.
"""

import http.client
import os
import pathlib
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

paste_deploy = pytest.importorskip("paste.deploy")

BIN_DIR = pathlib.Path(sys.executable).parent
PSERVE = BIN_DIR / ("pserve.exe" if os.name == "nt" else "pserve")
STARTUP_TIMEOUT = 30.0

FIXTURE_MODULE = """
def factory(global_conf, **local_conf):
    greeting = local_conf.get("greeting", "none").encode("ascii")

    def app(environ, start_response):
        body = greeting + b" " + environ["REMOTE_ADDR"].encode("ascii")
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return app
"""

INI = """
[app:main]
use = call:pastefixture_app:factory
greeting = hello-from-paste

[server:main]
use = egg:waitress#main
listen = 127.0.0.1:{port}
threads = 2
trusted_proxy = 127.0.0.1
trusted_proxy_headers = x-forwarded-for
"""

RUN_SERVER = """
import sys
from paste.deploy import loadapp, loadserver

uri = "config:" + sys.argv[1]
loadserver(uri)(loadapp(uri))
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def site(tmp_path):
    """A directory holding the fixture app module and an ini file on a free port."""
    (tmp_path / "pastefixture_app.py").write_text(textwrap.dedent(FIXTURE_MODULE), "utf-8")
    port = free_port()
    ini = tmp_path / "development.ini"
    ini.write_text(INI.format(port=port), "utf-8")
    (tmp_path / "run_paste_server.py").write_text(RUN_SERVER, "utf-8")
    return tmp_path, ini, port


def get_when_up(port: int, process: subprocess.Popen) -> http.client.HTTPResponse:
    """Retry until the child listens (bounded), then GET / with X-Forwarded-For."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            log = pathlib.Path(process.args[-1]).parent / "server.log"
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/", headers={"X-Forwarded-For": "203.0.113.7"})
            response = connection.getresponse()
            response.body = response.read()
            return response
        except (ConnectionRefusedError, ConnectionResetError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            connection.close()


def start(argv, directory: pathlib.Path) -> subprocess.Popen:
    """Run ``argv`` in ``directory`` with its output in a log file there (no pipe to fill)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), env.get("PYTHONPATH")]))
    with open(directory / "server.log", "wb") as log:
        return subprocess.Popen(argv, cwd=str(directory), env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM by PID, then kill if it has not ended in 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(20)


def test_loadserver_passes_the_ini_strings_to_serve(site, monkeypatch):
    import waitress
    from waitress.adjustments import Adjustments

    directory, ini, port = site
    monkeypatch.syspath_prepend(str(directory))
    calls = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.append((app, kw)))
    app = paste_deploy.loadapp(f"config:{ini}")
    server = paste_deploy.loadserver(f"config:{ini}")
    server(app)
    [(served, kw)] = calls
    assert served is app
    assert kw == {
        "listen": f"127.0.0.1:{port}",
        "threads": "2",
        "trusted_proxy": "127.0.0.1",
        "trusted_proxy_headers": "x-forwarded-for",
    }
    adj = Adjustments(**kw)
    assert adj.threads == 2
    assert adj.trusted_proxy_headers == {"x-forwarded-for"}
    assert [entry[3] for entry in adj.listen] == [("127.0.0.1", port)]
    sys.modules.pop("pastefixture_app", None)


def test_paste_deploy_serves_a_request(site):
    directory, ini, port = site
    process = start([sys.executable, str(directory / "run_paste_server.py"), str(ini)], directory)
    try:
        response = get_when_up(port, process)
        assert response.status == 200
        assert response.body == b"hello-from-paste 203.0.113.7"
    finally:
        stop(process)


def test_pserve_serves_a_request(site):
    if not PSERVE.exists():
        pytest.skip(f"{PSERVE} is not installed")
    directory, ini, port = site
    process = start([str(PSERVE), str(ini)], directory)
    try:
        response = get_when_up(port, process)
        assert response.status == 200
        assert response.body == b"hello-from-paste 203.0.113.7"
    finally:
        stop(process)
