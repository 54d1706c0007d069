"""Parser benchmark: requests/second parsing one realistic browser request.

Compares ``waitress_http.RequestParser`` (this checkout) with Waitress 3.0.2's
``waitress.parser.HTTPRequestParser``, h11 and httptools.  Each parser gets a
fresh parser object per request, as a server does per connection (h11: a new
``h11.Connection(h11.SERVER)`` per request, since reusing one needs a response
sent before ``start_next_cycle``), and is driven until the request is
complete: head, end of message.

Our meta-package is also named ``waitress``, so the peers run in a separate
interpreter (``--peers-python``, a virtualenv with ``waitress==3.0.2 h11
httptools``; by default /work/.benchpeers).  The script re-runs itself there
with ``--worker`` and reads the figures back as JSON.  The rounds alternate
between the two interpreters and the best round of each parser counts.

    python bench/parser_bench.py [--peers-python PATH] [--seconds 0.2] [--rounds 9]
                                 [--request FILE] [--quick] [--json PATH]

Figures are only indicative while other work shares the machine.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional

DEFAULT_PEERS_PYTHON = "/work/.benchpeers/bin/python"
BASELINE = "waitress 3.0.2"

#: A request as a current Firefox sends it for a search results page.
BROWSER_REQUEST = (
    b"GET /search/results?q=python+wsgi+server&page=2&sort=relevance HTTP/1.1\r\n"
    b"Host: www.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
    b"image/webp,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
    b"Referer: https://www.example.com/search/?q=python\r\n"
    b"Connection: keep-alive\r\n"
    b"Cookie: sessionid=abcdef0123456789abcdef0123456789; "
    b"csrftoken=ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvuts; _ga=GA1.2.1234567890.1700000000; "
    b"_gid=GA1.2.987654321.1700000000; theme=dark; lang=en-US\r\n"
    b"Upgrade-Insecure-Requests: 1\r\n"
    b"Sec-Fetch-Dest: document\r\n"
    b"\r\n"
)

Runner = Callable[[bytes], object]


# -- one runner per parser: parse one complete request, return something checkable --


def ours_runner() -> Runner:
    from waitress_http.events import EndOfMessage, RequestHead
    from waitress_http.parser import RequestParser

    def run(data: bytes) -> object:
        parser = RequestParser()
        parser.feed(data)
        head = parser.next_event()
        while not isinstance(parser.next_event(), EndOfMessage):
            pass
        assert isinstance(head, RequestHead)
        return head

    return run


def waitress_runner() -> Runner:
    from waitress.adjustments import Adjustments
    from waitress.parser import HTTPRequestParser

    adjustments = Adjustments()

    def run(data: bytes) -> object:
        parser = HTTPRequestParser(adjustments)
        while data and not parser.completed:
            data = data[parser.received(data) :]
        assert parser.completed and not parser.error
        return parser

    return run


def h11_runner() -> Runner:
    import h11

    def run(data: bytes) -> object:
        connection = h11.Connection(h11.SERVER)
        connection.receive_data(data)
        request = connection.next_event()
        while not isinstance(connection.next_event(), h11.EndOfMessage):
            pass
        assert isinstance(request, h11.Request)
        return request

    return run


def httptools_runner() -> Runner:
    import httptools

    class Protocol:
        __slots__ = ("url", "headers", "done")

        def __init__(self) -> None:
            self.url = b""
            self.headers: List[tuple] = []
            self.done = False

        def on_url(self, url: bytes) -> None:
            self.url += url

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name, value))

        def on_message_complete(self) -> None:
            self.done = True

    def run(data: bytes) -> object:
        protocol = Protocol()
        parser = httptools.HttpRequestParser(protocol)
        parser.feed_data(data)
        assert protocol.done
        parser.get_method()
        parser.get_http_version()
        return protocol

    return run


OURS = {"ours (waitress_http)": ours_runner}
PEERS = {BASELINE: waitress_runner, "h11": h11_runner, "httptools": httptools_runner}


def best_rate(run: Runner, data: bytes, seconds: float) -> float:
    """Requests/second over about ``seconds`` of back-to-back parses."""
    run(data)  # warm up, and fail loudly on a parser that refuses the request
    batch = 200
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            run(data)
        count += batch
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def measure(runners: Dict[str, Callable[[], Runner]], data: bytes, seconds: float) -> Dict[str, object]:
    """One round: each parser's rate, or the reason it could not run."""
    results: Dict[str, object] = {}
    for name, make in runners.items():
        try:
            run = make()
        except ImportError as error:
            results[name] = "not installed (%s)" % error
            continue
        results[name] = best_rate(run, data, seconds)
    return results


def peers_round(python: str, data: bytes, seconds: float) -> Dict[str, object]:
    """One round of the peers, measured in the peers' interpreter."""
    command = [python, os.path.abspath(__file__), "--worker", "--seconds", str(seconds)]
    result = subprocess.run(command, input=data, stdout=subprocess.PIPE, timeout=300, check=True)
    return json.loads(result.stdout.decode("utf-8"))


def merge_best(best: Dict[str, object], round_results: Dict[str, object]) -> None:
    for name, value in round_results.items():
        previous = best.get(name)
        if isinstance(value, float):
            if not isinstance(previous, float) or value > previous:
                best[name] = value
        elif previous is None:
            best[name] = value


def table(best: Dict[str, object]) -> str:
    baseline = best.get(BASELINE)
    rows = ["%-24s %14s %10s %10s" % ("parser", "req/s", "us/req", "vs " + BASELINE.split()[0])]
    for name, value in sorted(best.items(), key=lambda item: -item[1] if isinstance(item[1], float) else 0):
        if not isinstance(value, float):
            rows.append("%-24s %s" % (name, value))
            continue
        ratio = "%.2fx" % (value / baseline) if isinstance(baseline, float) else "n/a"
        rows.append("%-24s %14s %10.2f %10s" % (name, format(int(value), ","), 1e6 / value, ratio))
    return "\n".join(rows)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers-python", default=DEFAULT_PEERS_PYTHON,
                        help="Python with waitress==3.0.2, h11 and httptools (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=0.2, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds; the best counts")
    parser.add_argument("--request", help="a file holding the raw request to parse instead")
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke check)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:  # running in the peers' interpreter: request on stdin, JSON out
        data = sys.stdin.buffer.read()
        json.dump(measure(PEERS, data, args.seconds), sys.stdout)
        return 0

    data = BROWSER_REQUEST
    if args.request:
        with open(args.request, "rb") as request_file:
            data = request_file.read()
    rounds, seconds = (1, 0.1) if args.quick else (args.rounds, args.seconds)
    have_peers = os.path.exists(args.peers_python)
    if not have_peers:
        print("no peers' Python at %s: measuring ours only" % args.peers_python, file=sys.stderr)

    best: Dict[str, object] = {}
    for _ in range(rounds):
        merge_best(best, measure(OURS, data, seconds))
        if have_peers:
            merge_best(best, peers_round(args.peers_python, data, seconds))

    print("Parsing one %d-byte browser request (%d header fields); best of %d rounds of %.1f s."
          % (len(data), data.count(b"\r\n") - 2, rounds, seconds))
    print("A fresh parser per request (h11: a new Connection). Indicative only on a shared machine.\n")
    print(table(best))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as json_file:
            json.dump({"request_bytes": len(data), "rounds": rounds, "seconds": seconds,
                       "baseline": BASELINE, "requests_per_second": best}, json_file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
