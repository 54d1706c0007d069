"""Instructions the server executes per request, counted by callgrind.

Timings on a shared or virtual machine swing by several percent between
identical runs, which hides a 2% regression on the request path.  The
instruction count of the server process, over the same requests, does not
swing: valgrind's callgrind counts every instruction executed in user
space, whatever else the machine does (the kernel's work is not counted).
So this script serves a small application under callgrind from each source
tree given, sends the same sequential requests (keep-alive or one
connection each), and prints the instructions per request and the ratio
between the trees::

    python bench/instructions.py                          # this checkout
    python bench/instructions.py --tree ../old-checkout   # then old / new
    python bench/instructions.py --mode close --requests 2000

Sequential requests put one request at a time through the loop, the worker
hand-off and the send: the path whose cost a pinned benchmark shows, without
the batching a loaded server gets.  Thread interleavings still vary a
little from run to run (about 1%); repeat a run that matters.

Needs valgrind (``apt-get install valgrind``); run it with the Python of the
project's environment (``.tox/py/bin/python``).
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("waitress", "waitress-http", "waitress-proxy", "waitress-cli", "waitress-wasyncore")
BODY = b"Hello, World!"
WARM_UP = 200


def hello(environ, start_response):
    """The application served: the harness's ``hello``."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def source_path(tree: str) -> str:
    """PYTHONPATH that imports the five packages from ``tree``'s sources."""
    return os.pathsep.join(os.path.join(tree, "packages", name, "src") for name in PACKAGES)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_response(sock: socket.socket, pending: bytes) -> bytes:
    """Read one response with a Content-Length body; return what follows it."""
    while b"\r\n\r\n" not in pending:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection mid-response")
        pending += data
    head, _, rest = pending.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection mid-body")
        rest += data
    return rest[length:]


def send_requests(port: int, count: int, close: bool) -> None:
    """``count`` GET requests, one at a time, on one connection or one each."""
    request = b"GET / HTTP/1.1\r\nHost: bench\r\n" + (b"Connection: close\r\n" if close else b"") + b"\r\n"
    sock: Optional[socket.socket] = None
    pending = b""
    try:
        for _ in range(count):
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                pending = b""
            sock.sendall(request)
            pending = read_response(sock, pending)
            if close:
                sock.recv(1)  # the server's FIN
                sock.close()
                sock = None
    finally:
        if sock is not None:
            sock.close()


def wait_for(port: int, deadline: float) -> None:
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("the server under valgrind did not start") from None
            time.sleep(0.2)


def count_instructions(tree: str, requests: int, close: bool) -> int:
    """Instructions the server at ``tree`` executes for ``requests`` requests."""
    port = free_port()
    scratch = tempfile.mkdtemp(prefix="instructions-")
    out = os.path.join(scratch, "callgrind.out")
    env = dict(os.environ, PYTHONPATH=source_path(tree) + os.pathsep + os.path.dirname(__file__))
    server = subprocess.Popen(
        [
            "valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
            sys.executable, os.path.abspath(__file__), "--serve", str(port),
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, time.monotonic() + 120)
        send_requests(port, WARM_UP, close)
        subprocess.run(["callgrind_control", "--zero", str(server.pid)], check=True, capture_output=True)
        send_requests(port, requests, close)
        subprocess.run(["callgrind_control", "--dump", str(server.pid)], check=True, capture_output=True)
        dumps = [name for name in os.listdir(scratch) if name.startswith("callgrind.out.")]
        if not dumps:
            raise RuntimeError("callgrind wrote no dump")
        with open(os.path.join(scratch, sorted(dumps)[0])) as dump:
            for line in dump:
                if line.startswith("summary:"):
                    return int(line.split()[1])
        raise RuntimeError("no summary line in the callgrind dump")
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(scratch, ignore_errors=True)


def serve(port: int) -> None:
    """The server process (run under valgrind): ``hello`` with 4 threads."""
    from waitress import serve as waitress_serve

    waitress_serve(hello, listen=f"127.0.0.1:{port}", threads=4)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", default=[],
                        help="a checkout to measure (repeatable; default: this one)")
    parser.add_argument("--requests", type=int, default=5000, help="requests measured per tree")
    parser.add_argument("--mode", choices=("keep", "close"), default="keep",
                        help="keep-alive, or one connection per request")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve)
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    trees = [os.path.abspath(tree) for tree in args.tree] or [REPO]
    counts = []
    for tree in trees:
        total = count_instructions(tree, args.requests, args.mode == "close")
        counts.append(total)
        print(f"{tree}: {total:,} instructions, {total / args.requests:,.0f} per request ({args.mode})")
    for tree, total in zip(trees[1:], counts[1:]):
        print(f"{tree} / {trees[0]}: {total / counts[0]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
