"""`rebook bounces` over SMTP: a delivery status notification sent back to an email's return
path, and a feedback-loop complaint report, suppress the right customer; forged ones change
nothing. Campaigns go through the real worker to a real SMTP server first."""

from __future__ import annotations

from typing import Any

import aiosmtplib
import pytest
from httpx import AsyncClient

from tests.deliverability.conftest import (
    BOUNCE_DOMAIN,
    another_owner_of,
    listed_emails,
    mail,
    shop_emails,
)
from tests.delivery.conftest import deliveries, drain, make_shop, start_campaign, stats
from tests.fakes.smtp import Received, SmtpSink

pytestmark = pytest.mark.usefixtures("committed")


def original_headers(received: Received) -> str:
    return received.content.split(b"\r\n\r\n", 1)[0].decode()


def dsn(received: Received, status: str = "5.1.1", action: str = "failed") -> bytes:
    """A bounce as Postfix writes one (RFC 3464), quoting the original's headers."""
    to = received.rcpt_tos[0]
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.example>
To: {received.mail_from}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0"

--B0
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.
--B0
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example
Arrival-Date: Tue, 1 Dec 2026 10:00:00 +0000

Final-Recipient: rfc822; {to}
Original-Recipient: rfc822;{to}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 {status} <{to}>: Recipient address rejected: User unknown

--B0
Content-Type: text/rfc822-headers

{original_headers(received)}
--B0--
""".replace("\n", "\r\n").encode()


def arf(received: Received, message_id: str | None = None) -> bytes:
    """A feedback-loop complaint (RFC 5965) quoting the whole original message."""
    original = received.content.decode()
    if message_id is not None:
        original = original.replace(received.message["Message-ID"], message_id)
    return (
        f"""From: Feedback Loop <fbl@isp.example>
To: fbl@{BOUNCE_DOMAIN}
Subject: Complaint about a message
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F0"

--F0
Content-Type: text/plain

This is an email abuse report for an email message received from you.
--F0
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ISP-FBL/2.1
Version: 1
Original-Rcpt-To: {received.rcpt_tos[0]}

--F0
Content-Type: message/rfc822

""".replace("\n", "\r\n")
        + original
        + "\r\n--F0--\r\n"
    ).encode()


async def campaign_sent(api: AsyncClient, sink: SmtpSink, customers: int = 2) -> tuple[Any, Any]:
    shop = await make_shop(customers=customers, phone=False)
    campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
    await drain()
    assert len(sink.received) == customers
    return shop, campaign


def received_by(sink: SmtpSink, address: str) -> Received:
    return next(m for m in sink.received if m.rcpt_tos == [address])


class TestDeliveryStatusNotifications:
    async def test_a_hard_bounce_marks_the_delivery_and_suppresses_the_address_for_every_owner(
        self, api: AsyncClient, bounce_env: SmtpSink, receiver: int
    ) -> None:
        shop, campaign = await campaign_sent(api, bounce_env)
        dead = str(shop.customers[0].email)
        _, other_headers, other_place = await another_owner_of(shop.customers[0])
        original = received_by(bounce_env, dead)
        assert original.mail_from.endswith(f"@{BOUNCE_DOMAIN}")  # its own return path

        await mail(receiver, original.mail_from, dsn(original))

        by_address = {d["name"]: d for d in await deliveries(api, shop, campaign["id"])}
        bounced = by_address[f"Client0 {shop.customers[0].last_name}"]
        assert (bounced["status"], bounced["provider_status"]) == ("failed", "bounced")
        assert "5.1.1" in bounced["error_message"]
        assert "User unknown" in bounced["error_message"]
        body = await stats(api, shop, campaign["id"])
        assert (body["sent"], body["failed"], body["bounced"]) == (1, 1, 1)
        assert body["channels"][0]["bounced"] == 1
        # Neither this owner nor another one is offered the address any more.
        assert await listed_emails(api, shop.headers, shop.paris.id) == shop_emails(shop) - {dead}
        assert dead not in await listed_emails(api, other_headers, other_place)
        suppressions = (await api.get("/api/v1/owner/suppressions", headers=shop.headers)).json()
        (entry,) = suppressions["items"]
        assert (entry["channel"], entry["reason"]) == ("email", "hard_bounce")
        assert "5.1.1" in entry["detail"]
        assert entry["since"]

    async def test_the_same_bounce_twice_counts_once(
        self, api: AsyncClient, bounce_env: SmtpSink, receiver: int
    ) -> None:
        shop, campaign = await campaign_sent(api, bounce_env)
        original = received_by(bounce_env, str(shop.customers[0].email))
        await mail(receiver, original.mail_from, dsn(original))
        await mail(receiver, original.mail_from, dsn(original))

        assert (await stats(api, shop, campaign["id"]))["bounced"] == 1

    async def test_a_delay_notice_is_no_bounce(
        self, api: AsyncClient, bounce_env: SmtpSink, receiver: int
    ) -> None:
        shop, campaign = await campaign_sent(api, bounce_env)
        original = received_by(bounce_env, str(shop.customers[0].email))
        await mail(receiver, original.mail_from, dsn(original, status="4.4.7", action="delayed"))

        body = await stats(api, shop, campaign["id"])
        assert (body["sent"], body["bounced"]) == (2, 0)
        assert await listed_emails(api, shop.headers, shop.paris.id) == shop_emails(shop)

    async def test_a_forged_return_path_is_refused_and_changes_nothing(
        self, api: AsyncClient, bounce_env: SmtpSink, receiver: int
    ) -> None:
        shop, campaign = await campaign_sent(api, bounce_env)
        original = received_by(bounce_env, str(shop.customers[0].email))
        delivery_id = original.mail_from.split("-")[1]
        forged = f"b-{delivery_id}-0000000000000000@{BOUNCE_DOMAIN}"

        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await mail(receiver, forged, dsn(original))
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await mail(receiver, f"someone@{BOUNCE_DOMAIN}", dsn(original))

        body = await stats(api, shop, campaign["id"])
        assert (body["sent"], body["failed"], body["bounced"]) == (2, 0, 0)
        assert await listed_emails(api, shop.headers, shop.paris.id) == shop_emails(shop)


class TestComplaints:
    async def test_a_complaint_suppresses_the_customer_for_that_owner_only(
        self, api: AsyncClient, bounce_env: SmtpSink, receiver: int
    ) -> None:
        shop, campaign = await campaign_sent(api, bounce_env)
        complainer = str(shop.customers[1].email)
        _, other_headers, other_place = await another_owner_of(shop.customers[1])

        await mail(receiver, f"fbl@{BOUNCE_DOMAIN}", arf(received_by(bounce_env, complainer)))

        body = await stats(api, shop, campaign["id"])
        assert (body["sent"], body["complained"]) == (2, 1)
        listed = await listed_emails(api, shop.headers, shop.paris.id)
        assert listed == shop_emails(shop) - {complainer}
        # Another owner's emails were not complained about: their list keeps the customer.
        assert complainer in await listed_emails(api, other_headers, other_place)
        suppressions = (await api.get("/api/v1/owner/suppressions", headers=shop.headers)).json()
        assert [(s["channel"], s["reason"]) for s in suppressions["items"]] == [
            ("email", "complaint")
        ]

    async def test_a_report_quoting_a_message_id_we_never_sent_changes_nothing(
        self, api: AsyncClient, bounce_env: SmtpSink, receiver: int
    ) -> None:
        shop, campaign = await campaign_sent(api, bounce_env)
        original = received_by(bounce_env, str(shop.customers[1].email))
        genuine = original.message["Message-ID"]
        # The delivery's id with other random bits: what a forger can guess.
        forged = genuine.split(".")[0] + ".0123456789abcdef@" + genuine.split("@")[1]

        await mail(receiver, f"fbl@{BOUNCE_DOMAIN}", arf(original, message_id=forged))

        assert (await stats(api, shop, campaign["id"]))["complained"] == 0
        assert await listed_emails(api, shop.headers, shop.paris.id) == shop_emails(shop)


class TestMailtoUnsubscribe:
    async def test_mail_to_the_list_unsubscribe_address_unsubscribes(
        self, api: AsyncClient, bounce_env: SmtpSink, receiver: int
    ) -> None:
        shop, _ = await campaign_sent(api, bounce_env)
        leaving = str(shop.customers[0].email)
        header = str(received_by(bounce_env, leaving).message["List-Unsubscribe"])
        mailto = next(link for link in header.split(",") if "mailto:" in link).strip(" <>")
        address, _, query = mailto.removeprefix("mailto:").partition("?subject=")
        subject = query.replace("%20", " ")

        message = f"From: {leaving}\r\nTo: {address}\r\nSubject: {subject}\r\n\r\n\r\n"
        await mail(receiver, address, message.encode(), sender=leaving)

        listed = await listed_emails(api, shop.headers, shop.paris.id)
        assert listed == shop_emails(shop) - {leaving}
