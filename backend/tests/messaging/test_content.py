from __future__ import annotations

from httpx import AsyncClient

from tests.messaging.conftest import BASE, World, create_messaging_campaign, messaging_payload

HOSTILE = (
    '<p onclick="steal()">Hi <b>{{ first_name }}</b></p>'
    "<script>alert(1)</script>"
    '<a href="javascript:alert(2)">click</a>'
    '<a href="https://example.com/offer">offer</a>'
    '<img src="x" onerror="alert(3)">'
)


class TestSanitising:
    async def test_hostile_html_is_cleaned_on_save(self, client: AsyncClient, world: World) -> None:
        campaign = await create_messaging_campaign(client, world, email_body=HOSTILE)
        body = campaign["messaging_config"]["email_body"]
        assert "<script" not in body
        assert "alert(1)" not in body
        assert "onclick" not in body
        assert "onerror" not in body
        assert "javascript:" not in body
        assert '<a href="https://example.com/offer" rel="noopener noreferrer">offer</a>' in body
        assert "<b>{{ first_name }}</b>" in body

    async def test_customer_names_are_escaped_in_the_rendered_html(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        preview = await client.post(
            f"{BASE}/{campaign['id']}/preview", json={}, headers=world.headers
        )
        assert preview.json()["email"]["html"] == "<p>See you soon at Salon Paris!</p>"


class TestTemplates:
    async def test_unknown_variable_is_a_422_naming_it(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await client.post(
            BASE,
            json=messaging_payload(
                [world.paris.id], whatsapp_message="Hi {{ firstname }}, {{ discount }}!"
            ),
            headers=world.headers,
        )
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert detail.startswith("WhatsApp message: unknown variable")
        assert "{{ discount }}, {{ firstname }}" in detail
        assert "{{ first_name }}" in detail  # says what is allowed
        assert response.json()["errors"][0]["field"] == "messaging_config.whatsapp_message"
        listed = await client.get(BASE, headers=world.headers)
        assert listed.json()["items"] == []

    async def test_syntax_error_is_a_422_with_the_line(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await client.post(
            BASE,
            json=messaging_payload([world.paris.id], email_subject="Hello {{ first_name"),
            headers=world.headers,
        )
        assert response.status_code == 422
        assert response.json()["detail"].startswith("Subject: line 1: a {{ is not closed")
        assert response.json()["errors"][0]["field"] == "messaging_config.email_subject"

    async def test_sandbox_refuses_code_execution(self, client: AsyncClient, world: World) -> None:
        response = await client.post(
            BASE,
            json=messaging_payload(
                [world.paris.id], whatsapp_message="{{ cycler.__init__.__globals__ }}"
            ),
            headers=world.headers,
        )
        assert response.status_code == 422
        assert "`{{ cycler.__init__.__globals__ }}` is not a variable" in response.json()["detail"]


class TestLimits:
    async def test_whatsapp_text_of_1600_characters_is_accepted(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world, whatsapp_message="x" * 1600)
        assert len(campaign["messaging_config"]["whatsapp_message"]) == 1600

    async def test_whatsapp_text_over_1600_characters_is_a_422(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await client.post(
            BASE,
            json=messaging_payload([world.paris.id], whatsapp_message="x" * 1601),
            headers=world.headers,
        )
        assert response.status_code == 422
        error = response.json()["errors"][0]
        assert error["field"] == "messaging_config.whatsapp_message"
        assert "1600" in error["message"]

    async def test_subject_over_255_characters_is_a_422(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await client.post(
            BASE,
            json=messaging_payload([world.paris.id], email_subject="s" * 256),
            headers=world.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "messaging_config.email_subject"


class TestPreview:
    async def test_preview_renders_for_a_recipient(self, client: AsyncClient, world: World) -> None:
        campaign = await create_messaging_campaign(client, world)
        await client.post(
            f"{BASE}/{campaign['id']}/recipients",
            json={"user_ids": [world.chloe.id]},
            headers=world.headers,
        )
        response = await client.post(
            f"{BASE}/{campaign['id']}/preview",
            json={"user_id": world.chloe.id},
            headers=world.headers,
        )
        body = response.json()
        assert body["customer"] == {"user_id": world.chloe.id, "name": "Chloe Clark"}
        assert body["email"]["subject"] == "Hello Chloe"
        assert body["whatsapp"]["text"] == "Hi Chloe, 20% off at Salon London this week."

    async def test_preview_uses_a_sample_without_recipients(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(
            client,
            world,
            email_body='<p>Bye? <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
        )
        body = (
            await client.post(f"{BASE}/{campaign['id']}/preview", json={}, headers=world.headers)
        ).json()
        assert body["customer"]["name"] == "Alex Sample"
        assert "/unsubscribe/" in body["email"]["html"]
        assert body["email"]["text"].startswith("Bye? Unsubscribe")

    async def test_preview_of_a_customer_outside_the_campaign_is_404(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await client.post(
            f"{BASE}/{campaign['id']}/preview",
            json={"user_id": world.fabien.id},
            headers=world.headers,
        )
        assert response.status_code == 404
