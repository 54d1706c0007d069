"""The scheduling policy of the loop thread: SCHED_BATCH while it serves, restored after."""

import os
import sys
import threading

import pytest
from waitress.scheduling import batch_scheduling

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SCHED_BATCH is Linux's")


def require_default_policy():
    """New threads inherit the runner's policy; these tests start from the default one."""
    if os.sched_getscheduler(0) != os.SCHED_OTHER:
        pytest.skip("the test runner does not run under SCHED_OTHER")


@linux_only
def test_batch_scheduling_switches_the_thread_and_restores_it():
    require_default_policy()

    def body():
        results["before"] = os.sched_getscheduler(0)
        with batch_scheduling() as switched:
            results["switched"] = switched
            results["inside"] = os.sched_getscheduler(0)
        results["after"] = os.sched_getscheduler(0)

    results = {}
    thread = threading.Thread(target=body)  # a fresh thread: SCHED_OTHER
    thread.start()
    thread.join(10)
    assert results == {
        "before": os.SCHED_OTHER,
        "switched": True,
        "inside": os.SCHED_BATCH,
        "after": os.SCHED_OTHER,
    }


@linux_only
def test_a_policy_the_owner_chose_is_left_alone(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "sched_getscheduler", lambda pid: os.SCHED_IDLE)
    monkeypatch.setattr(os, "sched_setscheduler", lambda *args: calls.append(args))
    with batch_scheduling() as switched:
        assert switched is False
    assert calls == []


def test_a_refusing_system_changes_nothing(monkeypatch):
    def refuse(*args):
        raise PermissionError("not here")

    for name in ("sched_getscheduler", "sched_setscheduler"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse)
    with batch_scheduling() as switched:
        assert switched is False


@linux_only
def test_the_loop_thread_serves_as_sched_batch_and_gets_its_policy_back():
    from waitress import create_server

    require_default_policy()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = create_server(app, listen="127.0.0.1:0")
    seen = {}

    def run():
        seen["tid"] = threading.get_native_id()
        server.run()
        seen["after"] = os.sched_getscheduler(0)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", int(server.effective_port), timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"ok"
        conn.close()
        assert os.sched_getscheduler(seen["tid"]) == os.SCHED_BATCH  # a TID works on Linux
    finally:
        server.close()
        thread.join(15)
    assert not thread.is_alive()
    assert seen["after"] == os.SCHED_OTHER


def test_a_platform_with_the_policy_constants_but_not_the_functions_serves():
    """``SCHED_BATCH`` was the only test: where the constant exists but
    ``sched_setscheduler`` does not, every worker died of an AttributeError
    and ``run()`` raised (a portability audit, by emulation)."""
    import subprocess

    script = "\n".join([
        "import os, socket, threading",
        "for name in ('sched_setscheduler', 'sched_getscheduler', 'sched_param'):",
        "    if hasattr(os, name): delattr(os, name)",
        "os.SCHED_BATCH, os.SCHED_OTHER = 3, 0",
        "from waitress import create_server",
        "def app(environ, start_response):",
        "    start_response('200 OK', [('Content-Length', '2')])",
        "    return [b'ok']",
        "server = create_server(app, listen='127.0.0.1:0', threads=2)",
        "threading.Thread(target=server.run, daemon=True).start()",
        "with socket.create_connection(('127.0.0.1', int(server.effective_port)), timeout=10) as c:",
        "    c.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')",
        "    data = b''",
        "    while True:",
        "        piece = c.recv(4096)",
        "        if not piece: break",
        "        data += piece",
        "server.close()",
        "print(data.split(b'\\r\\n')[0].decode())",
    ])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "HTTP/1.0 200 OK"
