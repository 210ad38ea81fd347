"""SMTP command pipelining (RFC 2920) on top of aiosmtplib, which has none.

A relay that offers PIPELINING (Postfix, Haraka, Gmail and most others do) takes MAIL FROM,
RCPT TO and DATA in one write and answers them together: a message costs two round trips
instead of four, and half the writes and reads on both sides.

aiosmtplib keeps one reply in flight: a reply that arrives in the same read as another is
dropped. `PipeliningProtocol` collects every reply of a pipelined group, in order; commands
sent one at a time behave exactly as in aiosmtplib; groups can be chained, the next written
as soon as the last one is answered. `PipeliningSMTP` is `aiosmtplib.SMTP`
whose connection, once open (greeting, STARTTLS and AUTH done by aiosmtplib), uses it.

It reads and sets aiosmtplib's private protocol state, so it holds only for the aiosmtplib
code it was written against: pyproject pins a range, and `ASSUMED` records that code, method by
method (tests/channels/test_aiosmtplib_contract.py fails when the installed one differs).
Worth it: a pipelined connection costs one round trip per message instead of four, which
twice the connections without it do not make up for (ADR 017, `make bench-smtp-pipelining`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiosmtplib
from aiosmtplib.protocol import MAX_RESPONSE_LENGTH, SMTPProtocol
from aiosmtplib.response import SMTPResponse

# SHA-256 (first 16 hex digits) of the source of each aiosmtplib method whose behaviour this
# module relies on (or overrides), as of aiosmtplib 5.1.3.
ASSUMED = {
    "SMTPProtocol.__init__": "499310c426417f4d",
    "SMTPProtocol.connection_made": "83dcbb97974f0ad9",
    "SMTPProtocol.connection_lost": "771b1b3847412f05",
    "SMTPProtocol.data_received": "5edbbead3dc96987",
    "SMTPProtocol._read_response_from_buffer": "064bd213eed7a04f",
    "SMTPProtocol._set_response_exception": "4f6c439ff062d5d4",
    "SMTPProtocol.read_response": "0b9d810b358b1b0b",
    "SMTPProtocol.execute_command": "69019968464465e4",
    "SMTPProtocol.write": "4b11ce8fce2f2f16",
    "SMTP.connect": "915bfd0333b6de2a",
    "SMTP.close": "dfa096b568cd13b9",
}


class PipelineInterrupted(aiosmtplib.SMTPServerDisconnected):
    """The connection was lost before every reply of a pipelined group came: `replies` are
    those that did (a relay answers 421 and closes, leaving the rest unanswered)."""

    def __init__(self, message: str, replies: list[SMTPResponse]) -> None:
        super().__init__(message)
        self.replies = replies


# Called with a group's replies as its last one comes in; returns the next group to write at
# once, `(data, replies)`, or None to hand the replies to the command that wrote the group.
NextGroup = Callable[[list[SMTPResponse]], "tuple[bytes, int] | None"]


class PipeliningProtocol(SMTPProtocol):
    # Replies still expected for the pipelined group being read; 0 outside of one.
    _owed = 0
    _replies: list[SMTPResponse]
    _then: NextGroup | None = None
    _written_at = 0.0  # loop time the group being read was written
    _timer: asyncio.TimerHandle | None = None

    async def execute_pipelined(
        self, data: bytes, replies: int, timeout: float | None, then: NextGroup | None = None
    ) -> list[SMTPResponse]:
        """Writes `data` (several commands, or a message body) at once and returns the
        `replies` replies it is owed, in order.

        `then` may chain groups: it sees each group's replies in the callback that read
        them and can answer with the next group, written there and then. A connection
        that carries a steady stream then never waits for its task to be scheduled, which
        on a busy event loop costs more than the relay's answer. The replies returned are
        the last group's; `timeout` applies to each group."""
        if self._command_lock is None:
            raise aiosmtplib.SMTPServerDisconnected("Server not connected")
        async with self._command_lock:
            waiter = self._response_waiter
            if waiter is None:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
            self._replies = []
            self._owed = replies
            self._then = then
            self._response_pending = True
            try:
                self.write(data)
                self._written_at = self._loop.time()
                if timeout is not None:
                    self._time_out_after(waiter, timeout)
                # Resolved when a group's last reply is in and `then` has no next group,
                # or when the connection is lost or a group's timeout passes.
                await waiter
            except aiosmtplib.SMTPServerDisconnected as exc:
                raise PipelineInterrupted(str(exc), self._replies) from exc
            finally:
                self._owed = 0
                self._then = None
                self._response_pending = False
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                # As aiosmtplib's own reads do: a fresh waiter for the next command.
                self._response_waiter = (
                    None if self.transport is None else self._loop.create_future()
                )
            return self._replies

    def _time_out_after(self, waiter: asyncio.Future[SMTPResponse], timeout: float) -> None:
        """One timer per call, moved along as groups are chained rather than one per group."""

        def check() -> None:
            deadline = self._written_at + timeout
            if waiter.done():
                self._timer = None
            elif self._loop.time() < deadline - 0.01:
                self._timer = self._loop.call_at(deadline, check)
            else:
                self._timer = None
                self._set_response_exception(
                    waiter, aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response")
                )

        self._timer = self._loop.call_at(self._written_at + timeout, check)

    def data_received(self, data: bytes) -> None:
        if not self._owed:
            super().data_received(data)
            return
        waiter = self._response_waiter
        if waiter is None or waiter.done():
            return
        self._buffer.extend(data)
        try:
            while len(self._replies) < self._owed:
                reply = self._read_response_from_buffer()
                if reply is None:
                    break
                self._replies.append(reply)
        except aiosmtplib.SMTPResponseException as exc:  # a malformed or overlong line
            self._set_response_exception(waiter, exc)
            return
        if len(self._replies) == self._owed:
            self._group_answered(waiter)
        elif len(self._buffer) > MAX_RESPONSE_LENGTH:
            del self._buffer[:]
            self._set_response_exception(
                waiter,
                aiosmtplib.SMTPResponseException(
                    aiosmtplib.SMTPStatus.invalid_response.value, "Response too long"
                ),
            )

    def _group_answered(self, waiter: asyncio.Future[SMTPResponse]) -> None:
        try:
            following = None if self._then is None else self._then(self._replies)
            if following is not None:
                data, owed = following
                self._replies = []
                self._owed = owed
                self.write(data)
                self._written_at = self._loop.time()
                return
        except Exception as exc:  # a lost connection, or a bug: the command raises it
            self._set_response_exception(waiter, exc)
            return
        waiter.set_result(self._replies[-1])


class PipeliningSMTP(aiosmtplib.SMTP):
    async def connect(self, **kwargs: Any) -> SMTPResponse:
        response = await super().connect(**kwargs)
        # The protocol adds one method and reads pipelined replies; its state is only set
        # while a group is read, so switching an idle, just-opened connection is safe. The
        # transport is told again: uvloop's keeps the protocol's methods from when it was
        # set, and would go on handing replies to the old `data_received`.
        assert self.protocol is not None
        assert self.transport is not None
        self.protocol.__class__ = PipeliningProtocol
        self.transport.set_protocol(self.protocol)
        return response

    async def pipeline(
        self, data: bytes, replies: int, then: NextGroup | None = None
    ) -> list[SMTPResponse]:
        """Sends `data` and returns its `replies` replies (chained by `then`, see
        `execute_pipelined`); closes the connection when it is lost or a reply times out, as
        aiosmtplib does for single commands."""
        protocol = self.protocol
        if not isinstance(protocol, PipeliningProtocol):
            raise aiosmtplib.SMTPServerDisconnected("Server not connected")
        try:
            return await protocol.execute_pipelined(data, replies, self.timeout, then)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            self.close()
            raise
