"""SMTP command pipelining (RFC 2920) on top of aiosmtplib, which has none.

A relay that offers PIPELINING (Postfix, Haraka, Gmail and most others do) takes MAIL FROM,
RCPT TO and DATA in one write and answers them together: a message costs two round trips
instead of four, and half the writes and reads on both sides.

aiosmtplib keeps one reply in flight: a reply that arrives in the same read as another is
dropped. `PipeliningProtocol` collects every reply of a pipelined group, in order; commands
sent one at a time behave exactly as in aiosmtplib. `PipeliningSMTP` is `aiosmtplib.SMTP`
whose connection, once open (greeting, STARTTLS and AUTH done by aiosmtplib), uses it."""

from __future__ import annotations

from typing import Any

import aiosmtplib
from aiosmtplib.protocol import MAX_RESPONSE_LENGTH, SMTPProtocol
from aiosmtplib.response import SMTPResponse


class PipelineInterrupted(aiosmtplib.SMTPServerDisconnected):
    """The connection was lost before every reply of a pipelined group came: `replies` are
    those that did (a relay answers 421 and closes, leaving the rest unanswered)."""

    def __init__(self, message: str, replies: list[SMTPResponse]) -> None:
        super().__init__(message)
        self.replies = replies


class PipeliningProtocol(SMTPProtocol):
    # Replies still expected for the pipelined group being read; 0 outside of one.
    _owed = 0
    _replies: list[SMTPResponse]

    async def execute_pipelined(
        self, data: bytes, replies: int, timeout: float | None
    ) -> list[SMTPResponse]:
        """Writes `data` (several commands, or a message body) at once and returns the
        `replies` replies it is owed, in order."""
        if self._command_lock is None:
            raise aiosmtplib.SMTPServerDisconnected("Server not connected")
        async with self._command_lock:
            self._replies = []
            self._owed = replies
            self._response_pending = True
            try:
                self.write(data)
                # The waiter resolves when the group's last reply is in (or the connection
                # is lost, or the timeout passes: aiosmtplib's own handling).
                await self.read_response(timeout=timeout)
            except aiosmtplib.SMTPServerDisconnected as exc:
                raise PipelineInterrupted(str(exc), self._replies) from exc
            finally:
                self._owed = 0
            return self._replies

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
            waiter.set_result(self._replies[-1])
        elif len(self._buffer) > MAX_RESPONSE_LENGTH:
            del self._buffer[:]
            self._set_response_exception(
                waiter,
                aiosmtplib.SMTPResponseException(
                    aiosmtplib.SMTPStatus.invalid_response.value, "Response too long"
                ),
            )


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

    async def pipeline(self, data: bytes, replies: int) -> list[SMTPResponse]:
        """Sends `data` and returns its `replies` replies; closes the connection when it is
        lost or a reply times out, as aiosmtplib does for single commands."""
        protocol = self.protocol
        if not isinstance(protocol, PipeliningProtocol):
            raise aiosmtplib.SMTPServerDisconnected("Server not connected")
        try:
            return await protocol.execute_pipelined(data, replies, self.timeout)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            self.close()
            raise
