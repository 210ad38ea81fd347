"""The send rates hold on the wire: over a campaign the messages leave for the SMTP relay and
Twilio at (nearly) the configured rate, and never more than the rate in any second.

Measured by a wiretap in its own process, from the kernel's arrival times: the fakes answer
from threads of this test process, and a busy test process would show messages that left a
few hundred milliseconds apart as arriving together."""

from __future__ import annotations

import asyncio
import signal
import tempfile

import pytest
from httpx import AsyncClient

from tests.delivery.conftest import make_shop, start_campaign, stats
from tests.delivery.test_crash import spawn_worker
from tests.fakes.smtp import SmtpSink
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_NUMBER, FakeTwilio
from tests.fakes.wiretap import Wiretap

pytestmark = pytest.mark.usefixtures("committed")

RATE = 40  # messages a second, per channel
CUSTOMERS = 200


def busiest_second(arrivals: list[float]) -> int:
    """The most arrivals in any window [t, t + 1 s), t sliding over every arrival."""
    ordered = sorted(arrivals)
    best, j = 0, 0
    for i, t in enumerate(ordered):
        while j < len(ordered) and ordered[j] < t + 1.0:
            j += 1
        best = max(best, j - i)
    return best


def achieved(arrivals: list[float]) -> float:
    ordered = sorted(arrivals)
    return (len(ordered) - 1) / (ordered[-1] - ordered[0])


async def test_both_channels_go_at_their_rate_and_never_above_it(
    api: AsyncClient, smtp_sink: SmtpSink, fake_twilio: FakeTwilio
) -> None:
    """A `rebook worker` sends 200 customers by email and WhatsApp at 40/s each: several
    batch jobs share its windows, its journal and the shared slots."""
    shop = await make_shop(customers=CUSTOMERS)
    campaign = await start_campaign(api, shop)
    # To a file: a pipe nobody reads would fill, and stop the worker.
    with (
        tempfile.TemporaryFile() as log,
        Wiretap(smtp_sink.port, b"MAIL FROM:") as smtp_wire,
        Wiretap(fake_twilio.port, b"POST ") as twilio_wire,
    ):
        worker = spawn_worker(
            smtp_wire.port,
            stderr=log,
            EMAIL_RATE_PER_SECOND=str(RATE),
            WHATSAPP_RATE_PER_SECOND=str(RATE),
            SMTP_CONNECTIONS="2",
            DELIVERY_BATCH_SIZE="30",
            WHATSAPP_BACKEND="twilio",
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_WHATSAPP_NUMBER=WHATSAPP_NUMBER,
            TWILIO_API_BASE_URL=f"http://127.0.0.1:{twilio_wire.port}",
        )
        try:
            for _ in range(60):  # seldom: the fakes share this process with the test
                if (await stats(api, shop, campaign["id"]))["status"] != "sending":
                    break
                await asyncio.sleep(1.0)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        log.seek(0)
        errors = log.read().decode(errors="replace")[-2000:]
        emails, whatsapps = smtp_wire.arrivals(), twilio_wire.arrivals()

    assert (len(smtp_sink.received), len(fake_twilio.posts())) == (CUSTOMERS, CUSTOMERS), errors
    assert (len(emails), len(whatsapps)) == (CUSTOMERS, CUSTOMERS)
    figures = [busiest_second(emails), busiest_second(whatsapps)]
    figures += [achieved(emails), achieved(whatsapps)]
    assert max(figures[:2]) <= RATE, figures
    # Never above the rate is the limiter's promise and holds on any machine. How close a
    # busy machine comes to the rate is a figure, not an assertion (`make bench-rates`:
    # >= 97 % at 14-300/s; a stall of a second in this 5 s campaign costs 17 %); a rate that
    # halves, as it did, still fails here.
    assert min(figures[2:]) >= 0.6 * RATE, figures
