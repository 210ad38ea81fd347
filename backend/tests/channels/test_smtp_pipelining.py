"""Chained pipelined groups (`PipeliningSMTP.pipeline(..., then=...)`) against a real relay
(aiosmtpd): each group is written as the previous one's replies are read, and the timeout
applies to each group, not to the whole stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import aiosmtplib
import pytest
from aiosmtplib.response import SMTPResponse

from rebook.channels.smtp_pipelining import PipeliningSMTP
from tests.fakes.smtp import SmtpSink


def envelope(n: int) -> bytes:
    return b"MAIL FROM:<shop@rebook.test>\r\nRCPT TO:<c%d@example.com>\r\nDATA\r\n" % n


def content(n: int) -> bytes:
    return b"Subject: message %d\r\n\r\nHello.\r\n.\r\n" % n


class Stream:
    """Chains messages 1..`count`: each group carries the content whose DATA just opened and
    the next envelope; keeps every group's replies."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.opened = 1
        self.groups: list[list[int]] = []

    def then(self, replies: list[SMTPResponse]) -> tuple[bytes, int] | None:
        self.groups.append([r.code for r in replies])
        if self.opened == self.count:
            return None
        self.opened += 1
        return content(self.opened - 1) + envelope(self.opened), 4


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


async def connected(sink: SmtpSink, timeout: float) -> PipeliningSMTP:
    client = PipeliningSMTP(hostname="127.0.0.1", port=sink.port, timeout=timeout)
    await client.connect()
    await client.ehlo()
    return client


async def test_a_stream_longer_than_the_timeout_goes_through_when_each_group_is_answered_in_time(
    sink: SmtpSink,
) -> None:
    sink.handler.answer_delay = 0.15  # per message: five take 0.75 s, the timeout is 0.4 s
    client = await connected(sink, timeout=0.4)
    stream = Stream(5)

    replies = await client.pipeline(envelope(1), 3, then=stream.then)
    # The last DATA is open: its content goes alone, unchained.
    last = await client.pipeline(content(5), 1)
    await client.quit()

    assert [r.code for r in replies] == [250, 250, 250, 354]  # the last group's
    assert stream.groups == [[250, 250, 354]] + [[250, 250, 250, 354]] * 4
    assert last[0].code == 250
    assert [r.content.split(b"\r\n")[0] for r in sink.received] == [
        b"Subject: message %d" % n for n in range(1, 6)
    ]


async def test_a_chained_group_not_answered_in_time_times_out_and_closes_the_connection(
    sink: SmtpSink,
) -> None:
    client = await connected(sink, timeout=0.4)
    stream = Stream(3)
    began = time.monotonic()

    def slow_after_the_first(replies: list[SMTPResponse]) -> tuple[bytes, int] | None:
        sink.handler.answer_delay = 2.0  # the relay stalls on the first content
        return stream.then(replies)

    with pytest.raises(aiosmtplib.SMTPReadTimeoutError):
        await client.pipeline(envelope(1), 3, then=slow_after_the_first)

    assert time.monotonic() - began < 1.5
    assert not client.is_connected
    await asyncio.sleep(0)


async def test_replies_refused_by_then_are_returned_to_the_command(sink: SmtpSink) -> None:
    sink.refuse("c2@example.com", "550 5.1.1 No such user here")
    client = await connected(sink, timeout=5)
    stream = Stream(3)

    def stop_at_a_refusal(replies: list[SMTPResponse]) -> tuple[bytes, int] | None:
        if any(r.code >= 400 for r in replies):
            return None
        return stream.then(replies)

    replies = await client.pipeline(envelope(1), 3, then=stop_at_a_refusal)
    await client.quit()

    # Message 1's content was answered, message 2's recipient refused (and DATA with it):
    # handed back whole.
    assert [r.code for r in replies] == [250, 250, 550, 503]
    assert [r.content.split(b"\r\n")[0] for r in sink.received] == [b"Subject: message 1"]
