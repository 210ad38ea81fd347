"""A real SMTP server (aiosmtpd) that keeps what it receives and refuses what it is told to."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.fakes.net import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    # When its envelope (MAIL FROM) arrived: when the sender's call reached the relay.
    arrived_at: float = 0.0

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    # address -> "550 5.1.1 No such user"
    refusals: dict[str, str] = field(default_factory=dict)
    connections: int = 0
    # Seconds to wait, after keeping a message, before answering 250.
    answer_delay: float = 0.0
    # Messages kept but not yet answered (in flight for their sender).
    unanswered: int = 0
    # "553 5.7.1 Sender not allowed": every MAIL FROM is refused.
    sender_refusal: str = ""
    # Offers PIPELINING (RFC 2920), as most relays do; aiosmtpd reads pipelined commands
    # one line at a time either way.
    pipelining: bool = True
    # Keeps every message to these addresses, then drops the connection before answering
    # (a relay that crashed, a network cut): its sender cannot know.
    drop_after_content: set[str] = field(default_factory=set)
    # The name each connection gave in EHLO.
    ehlo_names: list[str] = field(default_factory=list)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        # aiosmtplib says EHLO once per connection (no STARTTLS here).
        self.connections += 1
        self.ehlo_names.append(hostname)
        session.host_name = hostname
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        envelope.arrived_at = time.time()
        if self.sender_refusal:
            return self.sender_refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                bytes(envelope.content),
                getattr(envelope, "arrived_at", time.time()),
            )
        )
        if self.drop_after_content.intersection(envelope.rcpt_tos):
            server.transport.close()
        if self.answer_delay:
            # Kept the message, slow to say so: a sender that dies now never learns it.
            self.unanswered += 1
            try:
                await asyncio.sleep(self.answer_delay)
            finally:
                self.unanswered -= 1
        return "250 Message accepted for delivery"


class SmtpSink:
    """`SmtpSink().start()`: an SMTP server on 127.0.0.1:`port` in a background thread."""

    def __init__(
        self, port: int | None = None, *, smtputf8: bool = True, pipelining: bool = True
    ) -> None:
        self.port = port or free_port()
        self.smtputf8 = smtputf8  # offers SMTPUTF8 (RFC 6531), as most relays do
        self.handler = SinkHandler(pipelining=pipelining)
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def refuse(self, address: str, reply: str) -> None:
        self.handler.refusals[address] = reply

    def start(self) -> SmtpSink:
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def restart(self) -> None:
        """Drop every open connection, as a server restart or idle timeout would."""
        self.stop()
        self.start()
