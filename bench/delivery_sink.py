"""A fast local SMTP sink for the delivery benchmark: aiosmtpd, accepts everything, keeps
nothing but a count. `python delivery_sink.py PORT [--no-pipelining] [--times PATH]`
(127.0.0.1 only); prints the count on SIGTERM. It offers PIPELINING (RFC 2920) as most relays
do, unless told not to. With --times it also writes, as JSON, the wall-clock time each
message's envelope (MAIL FROM) arrived: when the engine's call reached the relay."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from typing import Any

from aiosmtpd.smtp import SMTP


class Counter:
    def __init__(self, pipelining: bool) -> None:
        self.messages = 0
        self.pipelining = pipelining
        self.arrivals: list[float] = []

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        del server, envelope
        session.host_name = hostname
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        del server, session
        self.arrivals.append(time.time())
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        del server, session, envelope
        self.messages += 1
        return "250 Message accepted for delivery"


async def main(port: int, pipelining: bool, times: str | None) -> None:
    handler = Counter(pipelining)
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
    if times:
        with open(times, "w") as out:
            json.dump(handler.arrivals, out)
    print(handler.messages, flush=True)


if __name__ == "__main__":
    flags = sys.argv[2:]
    path = flags[flags.index("--times") + 1] if "--times" in flags else None
    asyncio.run(main(int(sys.argv[1]), "--no-pipelining" not in flags, path))
