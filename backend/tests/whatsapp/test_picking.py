"""Picking a template for a campaign: only an approved one, each of its placeholders mapped
to a customer's detail or a text; the preview shows its text for a real recipient, and the
length rule holds on what would be sent."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.channels.outbox import DEMO_TEMPLATES
from tests.factories import create_customer
from tests.fakes.twilio import TEMPLATE_SID, FakeTwilio
from tests.messaging.conftest import BASE, World, create_messaging_campaign, messaging_payload

BY_NAME = {t.friendly_name: t.content_sid for t in DEMO_TEMPLATES}
SPRING = BY_NAME["Spring offer"]


def template_config(sid: str = SPRING, **values: str) -> dict[str, Any]:
    return {
        "channels": ["whatsapp"],
        "email_subject": None,
        "email_body": None,
        "whatsapp_message": None,
        "whatsapp_content_sid": sid,
        "whatsapp_content_variables": values or {"1": "{{ first_name }}", "2": "{{ place_name }}"},
    }


async def create(client: AsyncClient, world: World, **config: Any) -> Any:
    return await client.post(
        BASE, json=messaging_payload([world.paris.id], **config), headers=world.headers
    )


async def campaign_count(client: AsyncClient, world: World) -> int:
    listed = await client.get(BASE, headers=world.headers)
    total: int = listed.json()["pagination"]["total_count"]
    return total


class TestPicking:
    async def test_an_approved_template_is_kept_with_a_detail_and_a_fixed_text(
        self, client: AsyncClient, world: World
    ) -> None:
        config = template_config(**{"1": "{{ first_name }}", "2": "the Paris team"})
        response = await create(client, world, **config)

        assert response.status_code == 201, response.text
        saved = response.json()["messaging_config"]
        assert saved["whatsapp_content_sid"] == SPRING
        assert saved["whatsapp_content_variables"] == {
            "1": "{{ first_name }}",
            "2": "the Paris team",
        }

    async def test_free_text_and_a_template_together_are_kept(
        self, client: AsyncClient, world: World
    ) -> None:
        config = template_config()
        config["whatsapp_message"] = "Thanks for your message, {{ first_name }}!"
        response = await create(client, world, **config)

        assert response.status_code == 201, response.text
        saved = response.json()["messaging_config"]
        assert (saved["whatsapp_message"], saved["whatsapp_content_sid"]) == (
            "Thanks for your message, {{ first_name }}!",
            SPRING,
        )

    async def test_a_template_in_review_is_refused_and_nothing_is_created(
        self, client: AsyncClient, world: World
    ) -> None:
        before = await campaign_count(client, world)
        response = await create(client, world, **template_config(BY_NAME["Flash sale"]))

        assert response.status_code == 422
        assert response.json()["detail"] == (
            "WhatsApp template: The template “Flash sale” is still being reviewed by WhatsApp. "
            "Pick an approved template."
        )
        assert response.json()["errors"][0]["field"] == "messaging_config.whatsapp_content_sid"
        assert await campaign_count(client, world) == before

    async def test_a_rejected_template_is_refused_with_whatsapps_reason(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await create(
            client, world, **template_config(BY_NAME["Free gift"], **{"1": "x"})
        )

        assert response.status_code == 422
        assert (
            "was rejected by WhatsApp: INVALID_CATEGORY: promotional content"
            in (response.json()["detail"])
        )

    async def test_a_sid_the_account_does_not_have_is_refused(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await create(client, world, **template_config("HX" + "a" * 32))

        assert response.status_code == 422
        assert "is not one of your account's templates" in response.json()["detail"]

    async def test_every_placeholder_needs_a_value(self, client: AsyncClient, world: World) -> None:
        response = await create(client, world, **template_config(**{"1": "{{ first_name }}"}))

        assert response.status_code == 422
        assert response.json()["detail"] == (
            "WhatsApp template: choose what {{2}} of “Spring offer” is: a customer's detail or "
            "a text."
        )

    async def test_a_placeholder_the_template_lacks_is_refused(
        self, client: AsyncClient, world: World
    ) -> None:
        values = {"1": "{{ first_name }}", "2": "{{ place_name }}", "3": "extra"}
        response = await create(client, world, **template_config(**values))

        assert response.status_code == 422
        assert "“Spring offer” has no placeholder {{3}}." in response.json()["detail"]

    async def test_a_refused_change_leaves_the_campaign_as_it_was(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world, **template_config())
        response = await client.patch(
            f"{BASE}/{campaign['id']}",
            json={"messaging_config": template_config(BY_NAME["Flash sale"])},
            headers=world.headers,
        )
        after = await client.get(f"{BASE}/{campaign['id']}", headers=world.headers)

        assert response.status_code == 422
        assert after.json()["messaging_config"]["whatsapp_content_sid"] == SPRING


class TestPreview:
    async def test_the_preview_shows_the_templates_text_for_a_real_recipient(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(
            client, world, **template_config(BY_NAME["We miss you"])
        )
        await client.post(
            f"{BASE}/{campaign['id']}/recipients",
            json={"user_ids": [world.alice.id]},
            headers=world.headers,
        )
        response = await client.post(
            f"{BASE}/{campaign['id']}/preview",
            json={"user_id": world.alice.id},
            headers=world.headers,
        )

        assert response.status_code == 200, response.text
        template = response.json()["whatsapp"]["template"]
        assert template["name"] == "We miss you"
        assert template["text"] == (
            "Alice, it has been a while! Come back to Salon Paris and get a free treatment "
            "with your next booking."
        )
        assert template["buttons"] == ["Book now", "Not now"]
        assert template["content_variables"] == {"1": "Alice", "2": "Salon Paris"}

    async def test_over_1600_characters_once_filled_in_is_refused(
        self, client: AsyncClient, world: World
    ) -> None:
        long_text = "so much news " * 125  # 1,625 characters
        response = await create(
            client, world, **template_config(**{"1": "{{ first_name }}", "2": long_text})
        )

        assert response.status_code == 422
        assert "WhatsApp allows 1,600 (an emoji counts as 2)" in response.json()["detail"]

    async def test_a_value_empty_for_a_recipient_asks_for_a_default(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        nameless = await create_customer(
            session, first_name="", phone="06 11 22 33 44", booked_at=[world.paris]
        )
        campaign = await create_messaging_campaign(
            client,
            world,
            **template_config(
                **{"1": '{{ first_name | default("there") }}', "2": "{{ place_name }}"}
            ),
        )
        await client.post(
            f"{BASE}/{campaign['id']}/recipients",
            json={"user_ids": [nameless.id]},
            headers=world.headers,
        )
        response = await client.patch(
            f"{BASE}/{campaign['id']}",
            json={"messaging_config": template_config()},
            headers=world.headers,
        )

        assert response.status_code == 422
        assert response.json()["detail"] == (
            "WhatsApp template variable 1: {{1}} would be empty for this customer; give it a "
            'default value, like {{ first_name | default("there") }}.'
        )


class TestSending:
    async def test_a_template_paused_since_it_was_picked_cannot_be_sent(
        self, client: AsyncClient, world: World, twilio_account: FakeTwilio
    ) -> None:
        campaign = await create_messaging_campaign(client, world, **template_config(TEMPLATE_SID))
        await client.post(
            f"{BASE}/{campaign['id']}/recipients",
            json={"user_ids": [world.alice.id]},
            headers=world.headers,
        )
        twilio_account.templates[0]["approval_requests"]["status"] = "paused"
        await client.post("/api/v1/owner/whatsapp-templates/refresh", headers=world.headers)
        response = await client.post(
            f"{BASE}/{campaign['id']}/send",
            params={"send_immediately": "true"},
            headers=world.headers,
        )
        after = await client.get(f"{BASE}/{campaign['id']}", headers=world.headers)

        assert response.status_code == 422
        assert response.json()["detail"].startswith(
            "WhatsApp template: The template “Winback offer” was paused by Meta because "
            "customers blocked or reported it"
        )
        assert after.json()["status"] == "draft"
