#!/usr/bin/env python3
"""Not a server: the least Python can do to serve one file with os.sendfile.

The ``file`` row of the load harness compares server CPU per request, and on
loopback that figure depends on *where* the kernel's transmit work runs (the
sender's context or the receiver's), not only on how much there is.  This
loop gives the floor to read our figure against: one thread, one epoll,
keep-alive one request at a time (no pipelining), no parsing beyond the blank line that ends a request head, no
validation, the whole remainder of the file handed to each ``sendfile`` call.
Run it with the harness in the same run as the servers it is compared with::

    python wsgibench.py --pin --repeat 3 --scenario file --server waitress \\
        --server 'floor=cmd:python bench/sendfile_floor.py {hostport}' ...

It serves ``$WSGIBENCH_FILE`` (the harness sets it) or the path given as the
second argument, for every request.  Linux only (epoll).
"""

import os
import select
import socket
import sys
from typing import Dict, Optional

HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        b"X-Bench-File-Wrapper: 1\r\nContent-Length: %d\r\n\r\n")


class Connection:
    """One client: the request bytes not yet answered and the file being sent."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = b""
        self.file_fd: Optional[int] = None
        self.offset = 0
        self.size = 0

    def close(self) -> None:
        if self.file_fd is not None:
            os.close(self.file_fd)
            self.file_fd = None
        self.sock.close()


class FloorServer:
    """The epoll loop: read a head, answer it with the file, repeat."""

    def __init__(self, listener: socket.socket, path: str) -> None:
        self.listener = listener
        self.path = path
        self.epoll = select.epoll()
        self.epoll.register(listener.fileno(), select.EPOLLIN)
        self.connections: Dict[int, Connection] = {}

    def run(self) -> None:
        listen_fd = self.listener.fileno()
        while True:
            for fd, _ in self.epoll.poll():
                if fd == listen_fd:
                    self.accept()
                elif self.connections[fd].file_fd is not None:
                    self.send_file(fd)
                else:
                    self.read(fd)

    def accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections[sock.fileno()] = Connection(sock)
        self.epoll.register(sock.fileno(), select.EPOLLIN)

    def drop(self, fd: int) -> None:
        self.epoll.unregister(fd)
        self.connections.pop(fd).close()

    def read(self, fd: int) -> None:
        conn = self.connections[fd]
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop(fd)
            return
        conn.pending += data
        if b"\r\n\r\n" not in conn.pending:
            return
        conn.pending = conn.pending.split(b"\r\n\r\n", 1)[1]
        conn.file_fd = os.open(self.path, os.O_RDONLY)
        conn.offset, conn.size = 0, os.fstat(conn.file_fd).st_size
        try:
            conn.sock.send(HEAD % conn.size)
        except OSError:
            self.drop(fd)
            return
        self.send_file(fd)

    def send_file(self, fd: int) -> None:
        conn = self.connections[fd]
        while conn.offset < conn.size:
            try:
                conn.offset += os.sendfile(fd, conn.file_fd, conn.offset,
                                           conn.size - conn.offset)
            except BlockingIOError:
                self.epoll.modify(fd, select.EPOLLOUT)
                return
            except OSError:
                self.drop(fd)
                return
        os.close(conn.file_fd)
        conn.file_fd = None
        self.epoll.modify(fd, select.EPOLLIN)


def main(argv: Optional[list] = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    host, port = args[0].rsplit(":", 1)
    path = args[1] if len(args) > 1 else os.environ["WSGIBENCH_FILE"]
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host.strip("[]"), int(port)))
    listener.listen(1024)
    listener.setblocking(False)
    FloorServer(listener, path).run()


if __name__ == "__main__":
    main()
