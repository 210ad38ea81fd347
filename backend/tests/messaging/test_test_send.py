"""A test send from the wizard: the owner receives the rendered message at their own address,
marked as a test; the campaign does not count it; it is limited per hour and recorded in the
campaign's history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from httpx import AsyncClient, Response

from rebook.config import get_settings
from tests.factories import auth_headers
from tests.fakes.smtp import SmtpSink
from tests.messaging.conftest import BASE, World, create_messaging_campaign


@pytest.fixture
def smtp_env(monkeypatch: pytest.MonkeyPatch, smtp_sink: SmtpSink) -> Iterator[SmtpSink]:
    monkeypatch.setenv("EMAIL_BACKEND", "smtp")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_sink.port))
    monkeypatch.setenv("BOUNCE_DOMAIN", "bounces.rebook.test")
    monkeypatch.setenv("TEST_SENDS_PER_HOUR", "2")
    get_settings.cache_clear()
    yield smtp_sink
    get_settings.cache_clear()


async def campaign_with_recipients(client: AsyncClient, world: World) -> int:
    campaign = await create_messaging_campaign(client, world)
    added = await client.post(
        f"{BASE}/{campaign['id']}/recipients", json={"select_all": {}}, headers=world.headers
    )
    assert added.status_code == 200
    campaign_id: int = campaign["id"]
    return campaign_id


async def request_test(
    client: AsyncClient, headers: dict[str, str], campaign_id: int, channel: str = "email"
) -> Response:
    return await client.post(
        f"{BASE}/{campaign_id}/test-send", json={"channel": channel}, headers=headers
    )


class TestTestSend:
    async def test_the_owner_receives_a_marked_test_that_the_campaign_does_not_count(
        self, client: AsyncClient, world: World, smtp_env: SmtpSink
    ) -> None:
        campaign_id = await campaign_with_recipients(client, world)
        stats_before = (
            await client.get(f"{BASE}/{campaign_id}/messaging-stats", headers=world.headers)
        ).json()

        response = await request_test(client, world.headers, campaign_id)

        assert response.status_code == 200, response.text
        assert response.json()["to"] == world.owner.email
        (received,) = smtp_env.received
        assert received.rcpt_tos == [world.owner.email]
        message = received.message
        assert message["Subject"].startswith("[Test] Hello ")
        assert message["X-Rebook-Test"] == "yes"
        # No delivery of the campaign: its bounces go to the plain sender, not a delivery's.
        assert received.mail_from == "no-reply@rebook.test"
        stats_after = (
            await client.get(f"{BASE}/{campaign_id}/messaging-stats", headers=world.headers)
        ).json()
        assert stats_after == stats_before
        history = (
            await client.get(f"{BASE}/{campaign_id}/audit-events", headers=world.headers)
        ).json()
        (event,) = [e for e in history["items"] if e["action"] == "campaign.test_sent"]
        assert event["details"]["channel"] == "email"
        assert str(world.owner.email) not in str(event["details"])  # masked

    async def test_tests_are_limited_per_hour(
        self, client: AsyncClient, world: World, smtp_env: SmtpSink
    ) -> None:
        campaign_id = await campaign_with_recipients(client, world)
        assert (await request_test(client, world.headers, campaign_id)).status_code == 200
        assert (await request_test(client, world.headers, campaign_id)).status_code == 200

        refused = await request_test(client, world.headers, campaign_id)

        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "2 tests an hour" in refused.json()["detail"]
        assert len(smtp_env.received) == 2

    async def test_whatsapp_needs_the_owners_number(
        self, client: AsyncClient, world: World, smtp_env: SmtpSink
    ) -> None:
        campaign_id = await campaign_with_recipients(client, world)

        response = await request_test(client, world.headers, campaign_id, "whatsapp")

        assert response.status_code == 422
        assert "mobile number" in response.json()["detail"]

    async def test_a_channel_the_campaign_does_not_use_is_refused(
        self, client: AsyncClient, world: World, smtp_env: SmtpSink
    ) -> None:
        campaign = await create_messaging_campaign(client, world, channels=["whatsapp"])

        response = await request_test(client, world.headers, campaign["id"], "email")

        assert response.status_code == 422
        assert smtp_env.received == []

    async def test_another_owners_campaign_is_404(
        self, client: AsyncClient, world: World, smtp_env: SmtpSink
    ) -> None:
        campaign_id = await campaign_with_recipients(client, world)
        response = await request_test(client, auth_headers(world.rival), campaign_id)

        assert response.status_code == 404
        assert smtp_env.received == []
