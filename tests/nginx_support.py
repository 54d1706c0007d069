"""A real nginx in front of our server, for end-to-end proxy-header tests.

:class:`Nginx` writes a self-contained configuration into a scratch directory
(pid file, error log and every temporary path inside it, no access log, no
daemon), starts ``nginx`` as a child process, waits for its port, and stops
it by its PID.  :class:`BackgroundServer` runs ``waitress.create_server`` in a
daemon thread.  Every wait is bounded.
"""

import os
import shutil
import socket
import subprocess
import threading
import time
from typing import Callable, Optional

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/bin/nginx")
STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


def find_nginx() -> Optional[str]:
    """The nginx executable, from PATH or the usual sbin folders, or None."""
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in NGINX_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (nginx cannot be told to pick one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def can_bind(host: str) -> bool:
    """Whether a client socket may use ``host`` as its source address."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
    except OSError:
        return False
    return True


def wait_for_port(host: str, port: int, timeout: float, alive: Callable[[], bool]) -> bool:
    """Poll until ``host:port`` accepts a connection; False on timeout or death."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.05)
    return False


CONFIG_TEMPLATE = """\
daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
{user_line}
events {{
    worker_connections 64;
}}

http {{
    access_log off;
    client_body_temp_path {workdir}/client_body_temp;
    proxy_temp_path {workdir}/proxy_temp;
    fastcgi_temp_path {workdir}/fastcgi_temp;
    uwsgi_temp_path {workdir}/uwsgi_temp;
    scgi_temp_path {workdir}/scgi_temp;

    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
{locations}
    }}
}}
"""


class Nginx:
    """One nginx process serving ``locations`` (the text of location blocks)."""

    def __init__(self, executable: str, workdir: str, locations: str) -> None:
        self.executable = executable
        self.workdir = workdir
        self.locations = locations
        self.port = 0
        self.process: Optional[subprocess.Popen] = None

    def config_text(self) -> str:
        # As root, nginx would switch its worker to "nobody", which may not
        # reach the scratch directory; master_process off keeps one process,
        # and naming root keeps the same user either way.
        user_line = "user root;" if os.geteuid() == 0 else ""
        return CONFIG_TEMPLATE.format(
            workdir=self.workdir, port=self.port, user_line=user_line,
            locations=self.locations,
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def error_log(self) -> str:
        try:
            with open(os.path.join(self.workdir, "error.log"), encoding="utf-8",
                      errors="replace") as log:
                return log.read()
        except OSError:
            return ""

    def start(self) -> "Nginx":
        last_error = ""
        for _ in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            config = os.path.join(self.workdir, "nginx.conf")
            with open(config, "w", encoding="utf-8") as out:
                out.write(self.config_text())
            self.process = subprocess.Popen(
                [self.executable, "-p", self.workdir, "-c", config,
                 "-e", os.path.join(self.workdir, "error.log")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if wait_for_port("127.0.0.1", self.port, STARTUP_TIMEOUT, self.running):
                return self
            stderr = self.stop()
            last_error = stderr + self.error_log()
            if "Address already in use" not in last_error:
                break
        raise RuntimeError("nginx did not start:\n" + last_error)

    def stop(self) -> str:
        """Stop the process this object started, by its PID; return its stderr."""
        process = self.process
        if process is None:
            return ""
        self.process = None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        return stderr

    def __enter__(self) -> "Nginx":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class BackgroundServer:
    """``waitress.create_server(app, **options)`` running in a daemon thread."""

    def __init__(self, app: Callable, **options) -> None:
        from waitress import create_server

        self.server = create_server(app, **options)
        self.thread = threading.Thread(target=self.server.run, daemon=True,
                                       name="nginx-test-server")

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def __enter__(self) -> "BackgroundServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.close()
        self.thread.join(timeout=STOP_TIMEOUT)
