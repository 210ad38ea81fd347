"""A TCP relay, run as its own process, that notes when each request reached it on the wire.

The fakes answer from threads of the test process, and note a request when that thread gets
to it: a busy test process (the GIL, a descheduled thread) then shows requests that left the
sender a few hundred milliseconds apart as arriving together. This relay asks the kernel
instead (SO_TIMESTAMPNS): each read comes with the time its bytes arrived, however late the
relay itself gets to read them.

    python -m tests.fakes.wiretap LISTEN_PORT UPSTREAM_PORT MARKER OUT_FILE

writes one line per occurrence of MARKER in what clients send ("POST " for an HTTP API,
"MAIL FROM:" for SMTP): the arrival time, in seconds since the epoch. It prints "ready" once
it listens."""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from tests.fakes.net import free_port

SO_TIMESTAMPNS = 35  # Linux; Python's socket module does not name it
_TIMESPEC = struct.Struct("qq")


def _arrivals(sock: socket.socket) -> tuple[bytes, float | None]:
    data, ancillary, _flags, _address = sock.recvmsg(65536, socket.CMSG_SPACE(_TIMESPEC.size))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = _TIMESPEC.unpack(payload[: _TIMESPEC.size])
            return data, seconds + nanoseconds / 1e9
    return data, None


def _pipe(
    source: socket.socket,
    sink: socket.socket,
    on_data: Callable[[bytes, float | None], None] | None = None,
) -> None:
    try:
        while True:
            if on_data is None:
                data = source.recv(65536)
            else:
                data, at = _arrivals(source)
                if data:
                    on_data(data, at)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def serve(listen_port: int, upstream_port: int, marker: bytes, out: IO[str]) -> None:
    lock = threading.Lock()
    # A marker split across two reads is still counted once, at the read that completes it.
    tails: dict[int, bytes] = {}

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)  # inherited by accepted sockets
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(128)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
        key = client.fileno()
        tails[key] = b""

        def noted(data: bytes, at: float | None, key: int = key) -> None:
            seen = tails[key] + data
            count = seen.count(marker)
            # Shorter than the marker: holds no whole one, so none is counted twice.
            tails[key] = seen[-(len(marker) - 1) :]
            if count and at is not None:
                with lock:
                    out.write(f"{at:.6f}\n" * count)
                    out.flush()

        threading.Thread(target=_pipe, args=(client, upstream, noted), daemon=True).start()
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()


class Wiretap:
    """`with Wiretap(upstream_port, b"POST ") as tap:` point the client at `tap.port`; then
    `tap.arrivals()` are the times the marked requests reached the wire."""

    def __init__(self, upstream_port: int, marker: bytes) -> None:
        self.upstream_port = upstream_port
        self.marker = marker
        self.port = free_port()
        self._out = Path(f"/tmp/rebook-wiretap-{self.port}.txt")
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Wiretap:
        args = [str(self.port), str(self.upstream_port), self.marker.decode(), str(self._out)]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.wiretap", *args],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "ready":
            raise RuntimeError("the wiretap did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._out.unlink(missing_ok=True)

    def arrivals(self) -> list[float]:
        return [float(line) for line in self._out.read_text().split()]


if __name__ == "__main__":
    listen, upstream, mark, path = sys.argv[1:5]
    with open(path, "w") as file:
        serve(int(listen), int(upstream), mark.encode(), file)
