"""A fast local SMTP sink for the delivery benchmark: aiosmtpd, accepts everything, keeps
nothing but a count. `python delivery_sink.py PORT` (127.0.0.1 only); prints the count on
SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from aiosmtpd.smtp import SMTP


class Counter:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        del server, session, envelope
        self.messages += 1
        return "250 Message accepted for delivery"


async def main(port: int) -> None:
    handler = Counter()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="127.0.0.1"), host="127.0.0.1", port=port
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    print(handler.messages, flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
