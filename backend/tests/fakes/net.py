from __future__ import annotations

import asyncio
import socket
from contextlib import suppress


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RecordingProxy:
    """A TCP proxy to 127.0.0.1:`target_port` that records what the client sent, one entry
    per read, and can hand the server's replies back one byte at a time (the worst split a
    network can make)."""

    def __init__(self, target_port: int, *, replies_bytewise: bool = False) -> None:
        self.target_port = target_port
        self.replies_bytewise = replies_bytewise
        self.client_writes: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> RecordingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def upstream() -> None:
            while chunk := await client_in.read(65536):
                self.client_writes.append(chunk)
                server_out.write(chunk)
                await server_out.drain()
            server_out.close()

        async def downstream() -> None:
            while chunk := await server_in.read(65536):
                pieces = (
                    [chunk[i : i + 1] for i in range(len(chunk))]
                    if self.replies_bytewise
                    else [chunk]
                )
                for piece in pieces:
                    client_out.write(piece)
                    await client_out.drain()
            client_out.close()

        with suppress(ConnectionError):
            await asyncio.gather(upstream(), downstream())
