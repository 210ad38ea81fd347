"""The engine through the real providers' clients: SMTP to a real aiosmtpd server, WhatsApp
through the official Twilio SDK to a local fake Twilio."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from rebook.config import get_settings
from rebook.db import get_engine, session_scope
from rebook.delivery.recovery import resolve_stale_deliveries
from rebook.delivery.runtime import close_senders, current_senders, run_worker
from rebook.models import MarketingSuppression
from tests.delivery.conftest import (
    BASE,
    Shop,
    deliveries,
    drain,
    long_backoff,
    make_shop,
    retries_due_now,
    start_campaign,
    stats,
)
from tests.fakes.smtp import SmtpSink
from tests.fakes.twilio import WHATSAPP_NUMBER, FakeTwilio, Rule, send_status_callback

pytestmark = pytest.mark.usefixtures("committed")


async def one_customer_and_long_retries(env: pytest.MonkeyPatch) -> tuple[Shop, str]:
    """A shop with one customer reachable by email, and retries no drain reaches by itself."""
    long_backoff(env)
    shop = await make_shop(customers=1, phone=False)
    address = shop.customers[0].email
    assert address is not None
    return shop, address


class TestEmailOverSmtp:
    async def test_one_email_per_recipient_with_unsubscribe_headers_and_both_parts(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        shop = await make_shop(customers=12, phone=False)
        campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
        await drain()

        recipients = sorted(r for m in smtp_backend.received for r in m.rcpt_tos)
        assert recipients == sorted(c.email for c in shop.customers if c.email)
        first = next(
            m.message for m in smtp_backend.received if m.rcpt_tos == [shop.customers[0].email]
        )
        assert first["Subject"] == "Hello Client0"
        assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert (
            str(first["List-Unsubscribe"])
            .strip()
            .startswith("<https://rebook.example/unsubscribe/")
        )
        assert first["Message-ID"].startswith("<delivery-")
        assert first.get_content_type() == "multipart/alternative"
        parts = {
            p.get_content_type(): p.get_payload(decode=True).decode()  # type: ignore[union-attr]
            for p in first.walk()
            if not p.is_multipart()
        }
        assert "Come back to Salon Paris, Client0!" in parts["text/plain"]
        assert "<p>Come back to Salon Paris, Client0!</p>" in parts["text/html"]
        assert "/unsubscribe/" in parts["text/html"]
        assert (await stats(api, shop, campaign["id"]))["status"] == "sent"

    async def test_a_refused_address_fails_with_a_reason_and_others_are_sent(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        shop = await make_shop(customers=3, phone=False)
        bad = shop.customers[1].email
        assert bad is not None
        smtp_backend.refuse(bad, "550 5.1.1 No such user")
        campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
        await drain()

        outcome = {d["name"]: d for d in await deliveries(api, shop, campaign["id"])}
        failed = outcome["Client1 " + shop.customers[1].last_name]
        assert (failed["status"], failed["error_code"], failed["attempts"]) == (
            "failed",
            "smtp-550",
            1,
        )
        assert "550" in failed["error_message"]
        body = await stats(api, shop, campaign["id"])
        assert (body["status"], body["sent"], body["failed"]) == ("partially_failed", 2, 1)

    async def test_a_campaign_where_every_message_failed_is_failed_not_partially(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        shop = await make_shop(customers=2, phone=False)
        for customer in shop.customers:
            assert customer.email is not None
            smtp_backend.refuse(customer.email, "550 5.1.1 No such user")
        campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
        await drain()

        body = await stats(api, shop, campaign["id"])
        assert (body["status"], body["sent"], body["failed"]) == ("failed", 0, 2)

    async def test_a_temporary_refusal_is_retried_then_sent(
        self, api: AsyncClient, smtp_backend: SmtpSink, delivery_env: pytest.MonkeyPatch
    ) -> None:
        shop, address = await one_customer_and_long_retries(delivery_env)
        smtp_backend.refuse(address, "451 4.7.1 Try again later")
        campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
        await drain()
        delivery = (await deliveries(api, shop, campaign["id"]))[0]
        assert (delivery["status"], delivery["error_code"], delivery["attempts"]) == (
            "pending",
            "smtp-451",
            1,
        )
        assert delivery["error_message"].startswith("Retrying:")
        assert (await stats(api, shop, campaign["id"]))["status"] == "sending"  # not finished

        del smtp_backend.handler.refusals[address]
        await retries_due_now(campaign["id"])
        await drain()
        delivery = (await deliveries(api, shop, campaign["id"]))[0]
        assert (delivery["status"], delivery["attempts"]) == ("sent", 2)
        assert len(smtp_backend.received) == 1

    async def test_an_email_left_unanswered_is_sent_again_and_counted_as_a_possible_duplicate(
        self, api: AsyncClient, smtp_backend: SmtpSink, delivery_env: pytest.MonkeyPatch
    ) -> None:
        shop, address = await one_customer_and_long_retries(delivery_env)
        # The relay keeps the message, then the connection dies before its answer.
        smtp_backend.handler.drop_after_content.add(address)
        campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
        await drain()
        delivery = (await deliveries(api, shop, campaign["id"]))[0]
        assert (delivery["status"], delivery["error_code"], delivery["attempts"]) == (
            "pending",
            "network",
            1,
        )
        assert "may have reached the customer" in delivery["error_message"]

        smtp_backend.handler.drop_after_content.discard(address)
        await retries_due_now(campaign["id"])
        await drain()
        delivery = (await deliveries(api, shop, campaign["id"]))[0]
        assert (delivery["status"], delivery["possible_duplicate"], delivery["attempts"]) == (
            "sent",
            True,
            2,
        )
        body = await stats(api, shop, campaign["id"])
        assert (body["status"], body["possible_duplicates"]) == ("sent", 1)
        # Both attempts reached the relay: the first kept, then unanswered.
        assert [m.rcpt_tos for m in smtp_backend.received] == [[address]] * 2

    async def test_at_a_slow_rate_a_live_workers_waiting_sends_never_pass_for_a_dead_ones(
        self, api: AsyncClient, smtp_backend: SmtpSink, delivery_env: pytest.MonkeyPatch
    ) -> None:
        """Claimed deliveries wait their turn, and started ones their rate slot, while
        `sending`; recovery, sweeping meanwhile, takes a delivery `sending` for longer than
        the stale threshold for a dead worker's and sends it again. At 4 emails a second
        and a 2 s threshold, the last of 12 started at once waits 3 s: the worker's lease
        must keep them all fresh."""
        delivery_env.setenv("EMAIL_RATE_PER_SECOND", "4")
        delivery_env.setenv("DELIVERY_STALE_AFTER_SECONDS", "2")
        get_settings.cache_clear()
        shop = await make_shop(customers=12, phone=False)
        campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)

        async def sweep() -> None:
            while True:
                await resolve_stale_deliveries(get_engine(), current_senders())
                await asyncio.sleep(0.2)

        sweeping = asyncio.create_task(sweep())
        try:
            await drain()
        finally:
            sweeping.cancel()

        assert sorted(m.rcpt_tos[0] for m in smtp_backend.received) == sorted(
            str(c.email) for c in shop.customers
        )
        body = await stats(api, shop, campaign["id"])
        assert (body["status"], body["sent"], body["possible_duplicates"]) == ("sent", 12, 0)
        # None was ever sent back to `pending` by recovery (it would have been claimed again).
        assert {d["attempts"] for d in await deliveries(api, shop, campaign["id"])} == {1}

    async def test_retry_failed_sends_the_failed_ones_again(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        shop = await make_shop(customers=2, phone=False)
        bad = shop.customers[0].email
        assert bad is not None
        # Refused by policy, not for the address (a dead address is never mailed again).
        smtp_backend.refuse(bad, "550 5.7.1 Message refused by policy")
        campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
        await drain()
        del smtp_backend.handler.refusals[bad]

        response = await api.post(f"{BASE}/{campaign['id']}/retry-failed", headers=shop.headers)
        assert response.json() == {"retried": 1}
        await drain()
        body = await stats(api, shop, campaign["id"])
        assert (body["status"], body["sent"], body["failed"]) == ("sent", 2, 0)
        assert sorted(r for m in smtp_backend.received for r in m.rcpt_tos) == sorted(
            c.email for c in shop.customers if c.email
        )


class TestWhatsAppOverTwilio:
    async def test_messages_go_through_the_sdk_with_callbacks(
        self, api: AsyncClient, twilio_backend: FakeTwilio
    ) -> None:
        shop = await make_shop(customers=3)
        campaign = await start_campaign(api, shop, channels=["whatsapp"], email_subject=None)
        await drain()
        posts = [p["form"] for p in twilio_backend.posts()]
        assert sorted(p["To"] for p in posts) == [
            "whatsapp:+33612340000",
            "whatsapp:+33612340001",
            "whatsapp:+33612340002",
        ]
        assert {p["From"] for p in posts} == {f"whatsapp:{WHATSAPP_NUMBER}"}
        assert all(
            p["StatusCallback"].startswith(
                "https://rebook.example/api/v1/webhooks/twilio/status?delivery_id="
            )
            for p in posts
        )
        sent = await deliveries(api, shop, campaign["id"])
        assert all(
            d["status"] == "sent" and d["provider_message_id"].startswith("SM") for d in sent
        )

    async def test_template_messages_send_content_sid_and_variables(
        self, api: AsyncClient, twilio_backend: FakeTwilio
    ) -> None:
        shop = await make_shop(customers=1)
        sid = "HX" + "0123456789abcdef" * 2
        await start_campaign(
            api,
            shop,
            channels=["whatsapp"],
            email_subject=None,
            whatsapp_message=None,
            whatsapp_content_sid=sid,
            whatsapp_content_variables={"1": "{{ first_name }}", "2": "{{ place_name }}"},
        )
        await drain()
        form = twilio_backend.posts()[0]["form"]
        assert form["ContentSid"] == sid
        assert form["ContentVariables"] == '{"1": "Client0", "2": "Salon Paris"}'
        assert "Body" not in form

    async def test_provider_errors_are_classified(
        self, api: AsyncClient, twilio_backend: FakeTwilio, delivery_env: pytest.MonkeyPatch
    ) -> None:
        long_backoff(delivery_env)
        shop = await make_shop(customers=3)
        invalid, stopped, busy = ("+33612340000", "+33612340001", "+33612340002")
        twilio_backend.answer(invalid, Rule(status=400, code=21211, message="Invalid 'To'"))
        twilio_backend.answer(stopped, Rule(status=400, code=21610, message="Unsubscribed"))
        twilio_backend.answer(busy, Rule(status=429, code=20429, message="Too many", times=1))
        campaign = await start_campaign(api, shop, channels=["whatsapp"], email_subject=None)
        await drain()
        rows = await deliveries(api, shop, campaign["id"])
        busy_row = next(d for d in rows if d["name"].startswith("Client2"))
        assert (busy_row["status"], busy_row["attempts"]) == ("pending", 1)
        await retries_due_now(campaign["id"])
        await drain()

        outcome = {d["name"].split()[0]: d for d in await deliveries(api, shop, campaign["id"])}
        assert (outcome["Client0"]["status"], outcome["Client0"]["error_code"]) == (
            "failed",
            "21211",
        )
        assert outcome["Client1"]["status"] == "failed"
        assert (outcome["Client2"]["status"], outcome["Client2"]["attempts"]) == ("sent", 2)
        async with session_scope() as session:
            suppressed = (
                await session.scalars(
                    select(MarketingSuppression.user_id).where(
                        MarketingSuppression.owner_id == shop.owner.id
                    )
                )
            ).all()
        assert suppressed == [shop.customers[1].id]  # replied STOP at WhatsApp


def whatsapp_to(row: dict[str, Any]) -> str:
    """The WhatsApp address of make_shop's customer in this delivery row (ClientN)."""
    n = int(row["name"].split()[0].removeprefix("Client"))
    return f"whatsapp:+336123400{n:02d}"


class TestLateTwilioAnswers:
    """Twilio answers after the client stopped waiting (201 after the timeout): the message
    exists, and the Messages API has no idempotency key. A timeout of 0.5 s stands in for
    the real 15 s."""

    @pytest.fixture
    def late(self, twilio_backend: FakeTwilio, delivery_env: pytest.MonkeyPatch) -> FakeTwilio:
        delivery_env.setenv("TWILIO_TIMEOUT_SECONDS", "0.5")
        delivery_env.setenv("TWILIO_RECONCILE_SECONDS", "1.5")
        get_settings.cache_clear()
        return twilio_backend

    async def send_until_done(self, api: AsyncClient, shop: Shop, campaign_id: int) -> None:
        for _ in range(40):
            await drain()
            if (await stats(api, shop, campaign_id))["status"] != "sending":
                return
            await asyncio.sleep(0.25)
        raise AssertionError("the campaign never finished")

    async def test_a_late_answer_is_found_at_twilio_and_not_sent_again(
        self, api: AsyncClient, late: FakeTwilio
    ) -> None:
        shop = await make_shop(customers=2)
        for number in ("+33612340000", "+33612340001"):
            late.answer(number, Rule(status=201, delay=1.0, times=1))
        campaign = await start_campaign(api, shop, channels=["whatsapp"], email_subject=None)
        await self.send_until_done(api, shop, campaign["id"])

        rows = await deliveries(api, shop, campaign["id"])
        assert len(late.posts()) == 2  # one POST per customer: nothing sent again
        assert sorted(m.to for m in late.messages) == [
            "whatsapp:+33612340000",
            "whatsapp:+33612340001",
        ]
        sids = {m.to: m.sid for m in late.messages}
        for row in rows:
            assert (row["status"], row["possible_duplicate"], row["attempts"]) == (
                "sent",
                False,
                2,
            )
            assert row["provider_message_id"] == sids[whatsapp_to(row)]
        assert Counter(m.to for m in late.messages) == {whatsapp_to(row): 1 for row in rows}
        # The first message's own status callback lands on its delivery.
        first = late.messages[0]
        assert first.status_callback is not None
        answered = await send_status_callback(
            api, first.status_callback, message_sid=first.sid, status="delivered", to=first.to
        )
        assert answered.status_code == 204
        delivered = [
            r for r in await deliveries(api, shop, campaign["id"]) if r["provider_message_id"]
        ]
        assert {r["provider_message_id"]: r["provider_status"] for r in delivered}[
            first.sid
        ] == "delivered"

    async def test_an_answer_later_than_the_reconcile_window_is_flagged_as_a_duplicate(
        self, api: AsyncClient, late: FakeTwilio
    ) -> None:
        shop = await make_shop(customers=1)
        late.answer("+33612340000", Rule(status=201, delay=4.0, times=1))
        campaign = await start_campaign(api, shop, channels=["whatsapp"], email_subject=None)
        await self.send_until_done(api, shop, campaign["id"])
        for _ in range(40):  # the first POST's message, created late
            if len(late.messages) == 2:
                break
            await asyncio.sleep(0.1)

        rows = await deliveries(api, shop, campaign["id"])
        assert len(late.messages) == 2
        assert (rows[0]["status"], rows[0]["possible_duplicate"]) == ("sent", True)
        assert (await stats(api, shop, campaign["id"]))["possible_duplicates"] == 1
        # Twice, and the delivery says so.
        assert Counter(m.to for m in late.messages) == {"whatsapp:+33612340000": 2}

    async def test_a_5xx_is_retried_and_sent_once(
        self, api: AsyncClient, twilio_backend: FakeTwilio
    ) -> None:
        shop = await make_shop(customers=1)
        twilio_backend.answer(
            "+33612340000", Rule(status=503, code=None, message="Unavailable", times=1)
        )
        campaign = await start_campaign(api, shop, channels=["whatsapp"], email_subject=None)
        await self.send_until_done(api, shop, campaign["id"])
        row = (await deliveries(api, shop, campaign["id"]))[0]
        assert (row["status"], row["attempts"], row["possible_duplicate"]) == ("sent", 2, False)
        assert len(twilio_backend.messages) == 1


async def test_a_scheduled_campaign_is_sent_on_time_by_a_running_worker(
    api: AsyncClient,
) -> None:
    shop = await make_shop(customers=2)
    when = datetime.now(UTC) + timedelta(seconds=2)
    campaign = await start_campaign(api, shop, send_now=False, scheduled_send_time=when.isoformat())
    worker = asyncio.create_task(run_worker(install_signal_handlers=False))
    try:
        for _ in range(100):
            body = await stats(api, shop, campaign["id"])
            if body["status"] == "sent":
                break
            await asyncio.sleep(0.1)
    finally:
        worker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await worker
        await close_senders()
    assert body["status"] == "sent"
    sent_at = [
        datetime.fromisoformat(d["sent_at"]) for d in await deliveries(api, shop, campaign["id"])
    ]
    assert min(sent_at) >= when
    print(f"scheduled at {when.isoformat()}, first message {min(sent_at).isoformat()}")  # noqa: T201
