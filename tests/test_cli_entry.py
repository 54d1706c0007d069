"""``waitress-serve`` and ``python -m waitress`` as installed, run as real processes.

Each test writes a small app module into its temporary directory, runs the
command there, learns the port from the "Serving on" log line, talks to it
over a real socket and stops it with SIGTERM.  Every wait is bounded and
every process started is killed by PID in a ``finally``.
"""

import http.client
import io
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from typing import List, Optional

import pytest
from waitress.options import OPTIONS

BIN_DIR = pathlib.Path(sys.executable).parent
WAITRESS_SERVE = BIN_DIR / ("waitress-serve.exe" if os.name == "nt" else "waitress-serve")

COMMANDS = {
    "waitress-serve": ([str(WAITRESS_SERVE)], "waitress-serve"),
    "python -m waitress": ([sys.executable, "-m", "waitress"], "python -m waitress"),
}

APP_SOURCE = """
def app(environ, start_response):
    body = ("hello %s %s%s" % (environ["REQUEST_METHOD"], environ["SCRIPT_NAME"],
                               environ["PATH_INFO"])).encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


class Holder:
    pass


holder = Holder()
holder.inner = Holder()
holder.inner.wsgi = app


def factory():
    return app


not_callable = "a string"
"""

SERVING = re.compile(r"Serving on http://(\S+)")
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


@pytest.fixture(params=sorted(COMMANDS))
def command(request):
    argv, prog = COMMANDS[request.param]
    if argv[0] != sys.executable and not WAITRESS_SERVE.exists():
        pytest.skip(f"{WAITRESS_SERVE} is not installed")
    return argv, prog


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / "webapp.py").write_text(textwrap.dedent(APP_SOURCE), encoding="utf-8")
    return tmp_path


def code_under_test() -> List[str]:
    """The folders this process imports the five packages from.

    A child given only these on PYTHONPATH runs the same code as the tests in
    this process (a worktree's, not an editable install's elsewhere), and
    still finds the app only through its working directory.
    """
    import waitress
    import waitress_cli
    import waitress_http
    import waitress_proxy
    import waitress_wasyncore

    modules = (waitress, waitress_cli, waitress_http, waitress_proxy, waitress_wasyncore)
    folders = [str(pathlib.Path(module.__file__).resolve().parent.parent) for module in modules]
    return list(dict.fromkeys(folders))


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(code_under_test())
    return env


class Serving:
    """A serving child process; its stderr is collected by a thread."""

    def __init__(self, argv: List[str], cwd: pathlib.Path) -> None:
        self.process = subprocess.Popen(
            argv,
            cwd=str(cwd),
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: List[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for raw in self.process.stderr:
            with self.changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append("<EOF>")
            self.changed.notify_all()

    def wait_for_listen(self, timeout: float = STARTUP_TIMEOUT) -> List[str]:
        """Every address of the "Serving on" lines, once at least one appeared."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [m.group(1) for line in self.lines for m in [SERVING.search(line)] if m]
                if found:
                    return found
                if "<EOF>" in self.lines:
                    raise AssertionError("server exited before serving:\n" + self.stderr)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("no 'Serving on' line in time:\n" + self.stderr)
                self.changed.wait(remaining)

    @property
    def stderr(self) -> str:
        with self.changed:
            return "\n".join(self.lines)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(STOP_TIMEOUT)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
        self.reader.join(STOP_TIMEOUT)
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()


@pytest.fixture
def serving():
    started: List[Serving] = []

    def start(argv, cwd) -> Serving:
        child = Serving(argv, cwd)
        started.append(child)
        return child

    yield start
    for child in started:
        child.kill()


def tcp_port(address: str) -> int:
    host, _, port = address.rpartition(":")
    assert host == "127.0.0.1", address
    return int(port)


def get(port: int, path: str = "/") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.body = response.read()
        return response
    finally:
        connection.close()


def unix_get(path: str, target: str = "/") -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(f"GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode("ascii"))
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


# --- serving --------------------------------------------------------------------------------


def test_serves_an_app_from_the_working_directory(command, app_dir, serving):
    argv, _prog = command
    child = serving(argv + ["--listen=127.0.0.1:0", "--threads=2", "webapp:app"], app_dir)
    [address] = child.wait_for_listen()
    response = get(tcp_port(address), "/some/path")
    assert response.status == 200
    assert response.body == b"hello GET /some/path"
    assert "INFO:waitress:Serving on http://127.0.0.1:" in child.stderr
    assert child.terminate() == 0


def test_dotted_attributes_and_app_option(command, app_dir, serving):
    argv, _prog = command
    child = serving(argv + ["--listen=127.0.0.1:0", "--url-prefix=/mnt",
                            "--app=webapp:holder.inner.wsgi"], app_dir)
    port = tcp_port(child.wait_for_listen()[0])
    assert get(port, "/mnt/x").body == b"hello GET /mnt/x"
    assert child.terminate() == 0


def test_call_with_a_factory(command, app_dir, serving):
    argv, _prog = command
    child = serving(argv + ["--listen=127.0.0.1:0", "--call", "webapp:factory"], app_dir)
    assert get(tcp_port(child.wait_for_listen()[0])).body == b"hello GET /"
    assert child.terminate() == 0


def test_repeated_listen_serves_on_each(command, app_dir, serving):
    argv, _prog = command
    child = serving(argv + ["--listen=127.0.0.1:0", "--listen=127.0.0.1:0", "webapp:app"],
                    app_dir)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    addresses = child.wait_for_listen()
    while len(addresses) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        addresses = child.wait_for_listen()
    assert len(addresses) == 2 and addresses[0] != addresses[1]
    for address in addresses:
        assert get(tcp_port(address)).status == 200
    assert child.terminate() == 0


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX")
def test_unix_socket(command, app_dir, serving):
    argv, _prog = command
    path = app_dir / "web.sock"
    child = serving(argv + [f"--unix-socket={path}", "--unix-socket-perms=660", "webapp:app"],
                    app_dir)
    assert child.wait_for_listen() == [f"unix:{path}"]
    assert os.stat(path).st_mode & 0o777 == 0o660
    reply = unix_get(str(path), "/over/unix")
    assert reply.startswith(b"HTTP/1.0 200 OK\r\n")
    assert reply.endswith(b"\r\n\r\nhello GET /over/unix")
    assert child.terminate() == 0


def test_sigterm_stops_cleanly_while_a_connection_is_open(command, app_dir, serving):
    argv, _prog = command
    child = serving(argv + ["--listen=127.0.0.1:0", "webapp:app"], app_dir)
    port = tcp_port(child.wait_for_listen()[0])
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        assert child.terminate() == 0
    finally:
        idle.close()
    assert "Traceback" not in child.stderr


# --- help and version ----------------------------------------------------------------------


def run_command(argv: List[str], cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=str(cwd), env=child_env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def test_help_lists_every_option_of_the_table(command, app_dir):
    argv, prog = command
    result = run_command(argv + ["--help"], app_dir)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith(f"Usage: {prog} [OPTIONS] MODULE:OBJECT\n")
    headings = {line.strip() for line in text.splitlines() if line.startswith("  -")}
    for option in OPTIONS:
        spelled = option.name.replace("_", "-")
        if not option.cli:
            assert f"--{spelled}" not in text
        elif option.flag:
            assert f"--[no-]{spelled}" in headings, spelled
        else:
            assert f"--{spelled}={option.metavar}" in headings, spelled
    for runner_flag in ("-h, --help", "--version", "--call", "--app=MODULE:OBJECT"):
        assert runner_flag in headings
    for group in ("Standard options:", "Proxy options:", "Tuning options:"):
        assert group in text.splitlines()


def test_version(command, app_dir):
    import waitress

    argv, prog = command
    result = run_command(argv + ["--version"], app_dir)
    assert result.returncode == 0
    assert result.stdout == f"{prog} {waitress.__version__}\n"


# --- usage errors: one line, a hint, status 2, nothing served ------------------------------

USAGE_ERRORS = [
    ([], "Error: no application given: name one as MODULE:OBJECT or --app=MODULE:OBJECT"),
    (["webapp:app", "webapp:factory"],
     "Error: two applications given ('webapp:app' and 'webapp:factory'); serve one per process"),
    (["--prot=8080", "webapp:app"], "Error: unknown option '--prot' (did you mean --port?)"),
    (["--port=abc", "webapp:app"],
     "Error: --port: invalid value 'abc' (expected an integer from 0 to 65535)"),
    (["--threads=0", "webapp:app"],
     "Error: --threads: invalid value '0' (expected a positive integer)"),
    (["--ipv4=yes", "webapp:app"], "Error: --ipv4 takes no value (use --ipv4 or --no-ipv4)"),
    (["--sockets=3", "webapp:app"], "Error: --sockets cannot be given on the command line: "),
    (["--host=127.0.0.1", "--listen=127.0.0.1:0", "webapp:app"],
     "Error: host or port may not be set if listen is set."),
    (["--unix-socket=/tmp/x.sock", "--port=1", "webapp:app"],
     "Error: unix_socket may not be set if host or port is set"),
    (["--trusted-proxy-headers=x-forwarded-for", "webapp:app"],
     "Error: trusted_proxy_headers has no meaning without setting trusted_proxy"),
    (["--listen=nosuch.invalid:80", "webapp:app"], "Error: Invalid host/port specified. "),
    (["nosuchmodule:app"],
     "Error: No module named 'nosuchmodule' (searched the current directory and sys.path)"),
    (["broken:app"],
     "Error: importing 'broken' failed: ModuleNotFoundError: No module named 'reqeusts' "
     "(broken.py, line 2: import reqeusts)"),
    (["badsyntax:app"], "Error: importing 'badsyntax' failed: SyntaxError: "),
    (["webapp:nope"], "Error: module 'webapp' has no attribute 'nope'"),
    (["webapp:holder.nope"], "Error: 'webapp:holder' has no attribute 'nope'"),
    (["--call", "webapp:not_callable"],
     "Error: --call: 'webapp:not_callable' is not callable (it is a str)"),
    (["webapp:not_callable"],
     "Error: 'webapp:not_callable' is a str, not a WSGI application (not callable)"),
]


@pytest.mark.parametrize("args, first_line", USAGE_ERRORS,
                         ids=[str(i) for i in range(len(USAGE_ERRORS))])
def test_usage_errors(command, app_dir, args, first_line):
    (app_dir / "broken.py").write_text("x = 1\nimport reqeusts\n", encoding="utf-8")
    (app_dir / "badsyntax.py").write_text("def f(:\n    pass\n", encoding="utf-8")
    argv, prog = command
    result = run_command(argv + args, app_dir)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(first_line)
    assert lines[1] == f"Run '{prog} --help' for usage."
    assert "Serving on" not in result.stderr
    assert result.stdout == ""


def test_port_in_use_is_one_line_and_status_1(command, app_dir):
    argv, _prog = command
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_command(argv + [f"--listen=127.0.0.1:{port}", "webapp:app"], app_dir)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in result.stderr


# --- waitress.runner.run in this process, with a fake serve --------------------------------


class FakeServe:
    def __init__(self, action=None) -> None:
        self.calls: list = []
        self.action = action

    def __call__(self, app, **kw) -> None:
        self.calls.append((app, kw))
        if self.action is not None:
            self.action()


@pytest.fixture
def in_app_dir(app_dir, monkeypatch):
    monkeypatch.chdir(app_dir)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield app_dir
    sys.modules.pop("webapp", None)


def test_runner_hands_strings_to_serve(in_app_dir):
    from waitress.runner import run

    serve = FakeServe()
    status = run(["waitress-serve", "--port=0", "--host=127.0.0.1", "--no-ipv6", "webapp:app"],
                 _serve=serve)
    assert status == 0
    [(app, kw)] = serve.calls
    assert app.__name__ == "app"
    assert kw == {"port": "0", "host": "127.0.0.1", "ipv6": False}


def test_runner_sets_the_waitress_logger_to_info_only_when_unset(in_app_dir):
    import logging

    from waitress.runner import run

    logger = logging.getLogger("waitress")
    saved = logger.level
    try:
        logger.setLevel(logging.NOTSET)
        run(["waitress-serve", "webapp:app"], _serve=FakeServe())
        assert logger.level == logging.INFO
        logger.setLevel(logging.ERROR)
        run(["waitress-serve", "webapp:app"], _serve=FakeServe())
        assert logger.level == logging.ERROR
    finally:
        logger.setLevel(saved)


def test_runner_sigterm_makes_serve_return_and_restores_the_handler(in_app_dir):
    from waitress.runner import run

    before = signal.getsignal(signal.SIGTERM)
    stopped: List[Optional[BaseException]] = []

    def serve_until_signalled():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs between bytecodes
                time.sleep(0.01)
        except KeyboardInterrupt as exc:
            stopped.append(exc)
            raise

    assert run(["waitress-serve", "webapp:app"], _serve=FakeServe(serve_until_signalled)) == 0
    assert len(stopped) == 1
    assert signal.getsignal(signal.SIGTERM) == before


def test_runner_puts_back_the_sigterm_handler_it_found(in_app_dir):
    """A program that calls ``waitress.runner.run()`` and has its own SIGTERM
    handler must get it back when the server returns, whatever ran before;
    left in place, the runner's handler would turn a later SIGTERM into a
    KeyboardInterrupt in code that no longer serves."""
    from waitress.runner import run

    def own_handler(signum, frame):  # pragma: no cover - never signalled
        pass

    before = signal.signal(signal.SIGTERM, own_handler)
    try:
        seen_while_serving = []
        serve = FakeServe(lambda: seen_while_serving.append(signal.getsignal(signal.SIGTERM)))
        assert run(["waitress-serve", "webapp:app"], _serve=serve) == 0
        assert seen_while_serving and seen_while_serving[0] is not own_handler
        assert signal.getsignal(signal.SIGTERM) is own_handler
    finally:
        signal.signal(signal.SIGTERM, before)


def test_runner_called_outside_the_main_thread_serves_without_a_sigterm_handler(in_app_dir):
    """Only the main thread may install signal handlers: a program that runs
    ``waitress.runner.run()`` in a worker thread must still get its server
    (the SIGTERM handling is then simply not installed), not a ValueError."""
    from waitress.runner import run

    before = signal.getsignal(signal.SIGTERM)
    serve = FakeServe()
    outcome: list = []

    def in_thread():
        try:
            outcome.append(run(["waitress-serve", "webapp:app"], _serve=serve))
        except BaseException as exc:  # reported by the assertion below
            outcome.append(exc)

    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join(30)
    assert not worker.is_alive()
    assert outcome == [0] and len(serve.calls) == 1
    assert signal.getsignal(signal.SIGTERM) == before


def test_runner_usage_error_returns_2(in_app_dir, capsys):
    from waitress.runner import run

    serve = FakeServe()
    assert run(["waitress-serve", "--listen=127.0.0.1:0", "--port=1", "webapp:app"],
               _serve=serve) == 2
    assert serve.calls == []
    assert capsys.readouterr().err.splitlines() == [
        "Error: host or port may not be set if listen is set.",
        "Run 'waitress-serve --help' for usage.",
    ]


@pytest.mark.parametrize("code, status", [(socket.EAI_AGAIN, 1), (socket.EAI_NONAME, 2)])
def test_runner_tells_a_resolver_down_from_a_wrong_host(in_app_dir, capsys, monkeypatch, code, status):
    # "Try again" is the machine's failure: a supervisor may restart on 1, not on a usage error.
    import waitress.adjustments
    from waitress.runner import run

    def resolver(*args, **kw):
        raise socket.gaierror(code, "resolver says no")

    monkeypatch.setattr(waitress.adjustments.socket, "getaddrinfo", resolver)
    serve = FakeServe()
    assert run(["waitress-serve", "--listen=db.example:8080", "webapp:app"], _serve=serve) == status
    assert serve.calls == []
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "Error: Invalid host/port specified. ('db.example:8080': resolver says no)"
    assert len(lines) == (1 if status == 1 else 2)


def test_runner_names_python_dash_m_in_hints(in_app_dir, capsys):
    from waitress.runner import run

    assert run([str(pathlib.Path("x") / "__main__.py")], _serve=FakeServe()) == 2
    assert capsys.readouterr().err.splitlines()[-1] == "Run 'python -m waitress --help' for usage."


def test_runner_validation_does_not_repeat_deprecation_warnings(in_app_dir, recwarn):
    from waitress.runner import run

    run(["waitress-serve", "--send-bytes=1", "webapp:app"], _serve=FakeServe())
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)
                and "send_bytes" in str(w.message)]


def test_runner_show_help_writes_the_help_after_an_error_line():
    from waitress.runner import show_help

    stream = io.StringIO()
    show_help(stream, "myserve", "bad thing")
    text = stream.getvalue()
    assert text.startswith("Error: bad thing\n\n")
    assert "myserve" in text and "--listen" in text and "--threads" in text
    stream = io.StringIO()
    show_help(stream, "myserve")
    assert stream.getvalue() == text[len("Error: bad thing\n\n"):]


def test_runner_help_is_waitress_s_format_string():
    import waitress.runner
    from waitress.runner import HELP, show_help

    stream = io.StringIO()
    show_help(stream, "myserve")
    assert HELP.format("myserve") == stream.getvalue()
    assert "{0}" in HELP
    assert not hasattr(waitress.runner, "NO_SUCH_NAME")


def test_runner_show_exception_numbers_the_arguments():
    from waitress.runner import show_exception

    stream = io.StringIO()
    try:
        raise ImportError("My reason", "second")
    except ImportError:
        show_exception(stream)
    assert stream.getvalue() == (
        "There was an exception (ImportError) importing your module.\n\n"
        "It had these arguments: \n1. My reason\n\n2. second\n\n"
    )
    stream = io.StringIO()
    try:
        raise ValueError()
    except ValueError:
        show_exception(stream)
    assert stream.getvalue().endswith("(ValueError) importing your module.\n\nIt had no arguments.\n")
