"""A Flask "hello" application: the framework row of ``tox -e bench``.

The harness's ``hello`` scenario measures the server almost alone; this row
measures what a Flask user gets, the framework's own work included.  Run as
``python flask_hello.py HOST:PORT THREADS``, it serves through
``waitress.serve`` (whichever waitress that Python has: ours, or Waitress
3.0.2 in the peers' virtualenv: the same call serves both); gunicorn serves
it as ``flask_hello:app``.  The body is the harness's ``hello`` body, so the
harness's probe checks it.
"""

import sys
from typing import Optional, Sequence

import flask

app = flask.Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, World!"


def main(argv: Optional[Sequence[str]] = None) -> None:
    hostport, threads = list(sys.argv[1:] if argv is None else argv)[:2]
    from waitress import serve

    serve(app, listen=hostport, threads=int(threads))


if __name__ == "__main__":
    main()
