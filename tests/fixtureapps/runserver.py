"""Run a fixture app in its own process, for tests that watch a whole process.

Usage: ``python runserver.py MODULE:APP KW_JSON [create|serve]``.

``create`` (the default) calls ``waitress.create_server(app, **kw)``, prints
one JSON line ``{"pid": ..., "listen": [[host, port], ...]}`` on stdout,
and serves until SIGTERM.  ``serve`` calls ``waitress.serve(app, **kw)``
with the ``waitress`` logger at INFO, so its "Serving on" line shows on
stderr.  Either way SIGTERM drains and stops the server, as under
``waitress-serve``.
"""

import importlib
import json
import logging
import os
import signal
import sys
from typing import List

from waitress.lifecycle import interrupting

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)


def load_app(spec: str):
    module_name, _, attribute = spec.partition(":")
    target = importlib.import_module(module_name)
    for part in (attribute or "app").split("."):
        target = getattr(target, part)
    return target


def listeners(server) -> List[list]:
    """Every (host, port) the server listens on, as JSON-friendly lists."""
    if hasattr(server, "effective_listen"):
        return [[str(host), str(port)] for host, port in server.effective_listen]
    return [[str(server.effective_host), str(server.effective_port)]]


@interrupting  # as under waitress-serve: while the server runs, it drains instead
def _exit_on_sigterm(signum, frame):
    raise SystemExit(0)


def main(argv: List[str]) -> int:
    app = load_app(argv[1])
    kw = json.loads(argv[2]) if len(argv) > 2 else {}
    mode = argv[3] if len(argv) > 3 else "create"
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    import waitress

    if mode == "serve":
        logging.getLogger("waitress").setLevel(logging.INFO)
        try:
            waitress.serve(app, **kw)
        except SystemExit:
            pass
        return 0
    server = waitress.create_server(app, **kw)
    print(json.dumps({"pid": os.getpid(), "listen": listeners(server)}), flush=True)
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        try:
            server.close()
        except Exception:  # already closed by run(); nothing left to free
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
