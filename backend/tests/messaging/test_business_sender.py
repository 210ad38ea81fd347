"""The business as the sender: the place's name and Reply-To, and the owner's own From address
on a verified domain — seen in the email the owner's test send delivers."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from httpx import AsyncClient

from rebook.config import get_settings
from tests.factories import auth_headers
from tests.fakes.smtp import SmtpSink
from tests.messaging.conftest import BASE, World, create_messaging_campaign

API = "/api/v1"


@pytest.fixture
def smtp_env(monkeypatch: pytest.MonkeyPatch, smtp_sink: SmtpSink) -> Iterator[SmtpSink]:
    monkeypatch.setenv("EMAIL_BACKEND", "smtp")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_sink.port))
    monkeypatch.setenv("EMAIL_SENDER_DOMAINS", "salon-paris.example")
    get_settings.cache_clear()
    yield smtp_sink
    get_settings.cache_clear()


async def send_test(client: AsyncClient, world: World, sink: SmtpSink) -> EmailMessage:
    """The owner's test email of a campaign on the Paris place, as received."""
    campaign = await create_messaging_campaign(client, world, place_ids=[world.paris.id])
    response = await client.post(
        f"{BASE}/{campaign['id']}/test-send", json={"channel": "email"}, headers=world.headers
    )
    assert response.status_code == 200, response.text
    return sink.received[-1].message


class TestReplyTo:
    async def test_replies_go_to_the_place(
        self, client: AsyncClient, world: World, smtp_env: SmtpSink
    ) -> None:
        response = await client.patch(
            f"{API}/owner/places/{world.paris.id}",
            json={"reply_to_email": "contact@salon-paris.example"},
            headers=world.headers,
        )
        assert response.status_code == 200
        assert response.json()["reply_to_email"] == "contact@salon-paris.example"

        message = await send_test(client, world, smtp_env)

        assert message["Reply-To"] == "contact@salon-paris.example"
        assert message["From"].addresses[0].display_name == "Salon Paris"

    async def test_an_address_with_a_line_break_is_refused(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await client.patch(
            f"{API}/owner/places/{world.paris.id}",
            json={"reply_to_email": "a@b.example\r\nBcc: all@example.com"},
            headers=world.headers,
        )
        assert response.status_code == 422

    async def test_another_owners_place_is_404(self, client: AsyncClient, world: World) -> None:
        response = await client.patch(
            f"{API}/owner/places/{world.rival_place.id}",
            json={"reply_to_email": "x@y.example"},
            headers=world.headers,
        )
        assert response.status_code == 404
        places = (await client.get(f"{API}/owner/places", headers=auth_headers(world.rival))).json()
        assert places[0]["reply_to_email"] is None


class TestOwnSenderAddress:
    async def test_an_address_on_a_verified_domain_becomes_the_from(
        self, client: AsyncClient, world: World, smtp_env: SmtpSink
    ) -> None:
        response = await client.put(
            f"{API}/owner/email-sender",
            json={"sender_email": "hello@salon-paris.example"},
            headers=world.headers,
        )
        assert response.status_code == 200
        assert response.json()["sender_email"] == "hello@salon-paris.example"

        message = await send_test(client, world, smtp_env)

        assert message["From"].addresses[0].addr_spec == "hello@salon-paris.example"

    async def test_an_unverified_domain_is_refused_and_the_platform_sends(
        self, client: AsyncClient, world: World, smtp_env: SmtpSink
    ) -> None:
        response = await client.put(
            f"{API}/owner/email-sender",
            json={"sender_email": "hello@gmail.example"},
            headers=world.headers,
        )
        assert response.status_code == 422
        assert "not a verified sending domain" in response.json()["detail"]

        message = await send_test(client, world, smtp_env)

        assert message["From"].addresses[0].addr_spec == "no-reply@rebook.test"
