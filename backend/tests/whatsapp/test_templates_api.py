"""The owner's template list: every template of the account with its approval, category,
text and placeholders; read from Twilio's Content API through the real SDK, cached, and
read again when old or asked to."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import auth_headers, create_owner
from tests.fakes.twilio import TEMPLATE_SID, FakeTwilio, content_resource
from tests.whatsapp.conftest import TEMPLATES, Clock


def content_gets(fake: FakeTwilio) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["method"] == "GET" and "PageSize" in r["query"]]


async def templates(client: AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(TEMPLATES, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestDemoTemplates:
    async def test_the_outbox_lists_templates_in_every_state(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        owner = await create_owner(session)
        body = await templates(client, auth_headers(owner))

        by_name = {t["name"]: t for t in body["items"]}
        assert body["source"] == "outbox"
        spring = by_name["Spring offer"]
        assert (spring["status"], spring["category"], spring["can_send"]) == (
            "approved",
            "marketing",
            True,
        )
        assert spring["body"].startswith("Hi {{1}}! Spring is here at {{2}}")
        assert spring["placeholders"] == ["1", "2"]
        assert spring["sample_values"] == {"1": "Camille", "2": "Studio Lumière"}
        assert by_name["We miss you"]["buttons"] == ["Book now", "Not now"]
        assert by_name["Visit follow-up"]["category"] == "utility"
        pending = by_name["Flash sale"]
        assert (pending["can_send"], pending["problem"]) == (
            False,
            "The template “Flash sale” is still being reviewed by WhatsApp.",
        )
        rejected = by_name["Free gift"]
        assert rejected["can_send"] is False
        assert rejected["rejection_reason"].startswith("INVALID_CATEGORY")
        assert "was rejected by WhatsApp: INVALID_CATEGORY" in rejected["problem"]

    async def test_the_list_needs_a_logged_in_owner(self, client: AsyncClient) -> None:
        assert (await client.get(TEMPLATES)).status_code == 401


class TestTwilioAccount:
    async def test_templates_are_read_through_the_content_api_and_cached(
        self,
        client: AsyncClient,
        session: AsyncSession,
        twilio_account: FakeTwilio,
        clock: Clock,
    ) -> None:
        headers = auth_headers(await create_owner(session))
        first = await templates(client, headers)
        clock.advance(minutes=5)
        second = await templates(client, headers)

        assert [t["name"] for t in first["items"]] == ["Winback offer"]
        assert first["items"][0]["content_sid"] == TEMPLATE_SID
        assert first["items"][0]["placeholders"] == ["1", "2"]
        assert first["source"] == "twilio"
        assert second == first
        assert len(content_gets(twilio_account)) == 1

    async def test_an_old_list_and_a_refresh_read_twilio_again(
        self,
        client: AsyncClient,
        session: AsyncSession,
        twilio_account: FakeTwilio,
        clock: Clock,
    ) -> None:
        headers = auth_headers(await create_owner(session))
        await templates(client, headers)
        twilio_account.templates.append(
            content_resource("HX" + "b" * 32, "Birthday", "Happy birthday {{1}}!", {"1": "Camille"})
        )
        refreshed = await client.post(f"{TEMPLATES}/refresh", headers=headers)
        twilio_account.templates.pop(0)
        clock.advance(minutes=11)
        aged = await templates(client, headers)

        assert [t["name"] for t in refreshed.json()["items"]] == ["Birthday", "Winback offer"]
        # The template deleted at Twilio is gone from the list too.
        assert [t["name"] for t in aged["items"]] == ["Birthday"]
        assert len(content_gets(twilio_account)) == 3

    async def test_every_page_of_a_large_account_is_read(
        self, client: AsyncClient, session: AsyncSession, twilio_account: FakeTwilio
    ) -> None:
        twilio_account.templates = [
            content_resource(f"HX{i:032x}", f"Template {i:04d}", "Hello {{1}}", {"1": "Ann"})
            for i in range(1, 702)
        ]
        body = await templates(client, auth_headers(await create_owner(session)))

        assert len(body["items"]) == 701
        assert [r["query"].get("Page") for r in content_gets(twilio_account)] == [None, "1"]

    async def test_twilio_unreachable_shows_the_last_list_and_says_so(
        self,
        client: AsyncClient,
        session: AsyncSession,
        twilio_account: FakeTwilio,
        clock: Clock,
    ) -> None:
        headers = auth_headers(await create_owner(session))
        await templates(client, headers)
        twilio_account.stop()
        try:
            response = await client.post(f"{TEMPLATES}/refresh", headers=headers)
        finally:
            twilio_account.port = twilio_account.port  # the same fake, started again
            twilio_account.start()

        assert response.status_code == 200
        assert [t["name"] for t in response.json()["items"]] == ["Winback offer"]
        assert response.json()["stale_reason"] == (
            "Twilio's template list could not be read (network)."
        )

    async def test_wrong_credentials_with_no_list_yet_are_a_502_that_says_why(
        self,
        client: AsyncClient,
        session: AsyncSession,
        twilio_account: FakeTwilio,
        monkeypatch: Any,
    ) -> None:
        from rebook.config import get_settings

        monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-token")
        get_settings.cache_clear()
        response = await client.get(TEMPLATES, headers=auth_headers(await create_owner(session)))

        assert response.status_code == 502
        assert response.json()["detail"] == (
            "Twilio's template list could not be read (20003). Rebook cannot list your "
            "WhatsApp templates yet; try again in a moment."
        )


class TestMisconfigured:
    async def test_twilio_without_its_account_settings_is_a_502_that_says_so(
        self, client: AsyncClient, session: AsyncSession, monkeypatch: Any
    ) -> None:
        from rebook.config import get_settings

        monkeypatch.setenv("WHATSAPP_BACKEND", "twilio")
        monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
        get_settings.cache_clear()
        try:
            response = await client.get(
                TEMPLATES, headers=auth_headers(await create_owner(session))
            )
        finally:
            get_settings.cache_clear()

        assert response.status_code == 502
        assert "needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in response.json()["detail"]
