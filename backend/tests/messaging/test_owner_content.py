"""Owner content at save and in the preview: only variables and a default value; refused in an
owner's words when it cannot render for the campaign's real customers or would be over a
channel's limit once rendered; the rendered HTML is sanitised, whatever is in the database."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.channels.outbox import DEMO_TEMPLATES
from rebook.models import CampaignMessage
from tests.factories import create_customer
from tests.messaging.conftest import BASE, World, create_messaging_campaign, messaging_payload

# What the issue found saved with 201 (then a 500 at preview and "internal error" at send),
# or stalling the API: each must be a 422 saying what is wrong, changing nothing. How long the
# refusal takes, and that the API stays responsive meanwhile, is `make bench-latency`'s figure.
HOSTILE = {
    "division": "{{ 1/0 }}",
    "arithmetic": "{{ first_name + 1 }}",
    "attributes": "{{ ''.__class__.__mro__ }}",
    "attr filter": "{{ first_name|attr('__class__') }}",
    "include": '{% include "base.html" %}',
    "import": '{% import "macros.html" as m %}',
    "recursive macro": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "huge power": "{{ 9**(9**7) }}",
    "for loops": "{% for i in range(2000) %}{% for j in range(2000) %}x{% endfor %}{% endfor %}",
    "safe": "<p>{{ '\\x3cimg src=x onerror=alert(1)\\x3e'|safe }}</p>",
}
# Too long for a subject or a WhatsApp text (refused by the schema): as an email body.
HOSTILE_BODIES = {
    "huge number": "{{ " + "9" * 5000 + " }}",
    "deep nesting": "{{ " + "(" * 3000 + "first_name" + ")" * 3000 + " }}",
    "unclosed": "<p>Hello</p>" * 1000 + "{{ first_name",
    "many variables": "<p>{{ first_name }}</p>" * 3000,
}
FIELDS = {
    "email_subject": "Subject",
    "email_body": "Email message",
    "whatsapp_message": "WhatsApp message",
}
# Jinja's own words must never reach an owner.
JINJA_WORDS = ("expected token", "TemplateSyntaxError", "unexpected", "jinja", "Traceback")


def assert_owner_words(body: dict[str, Any], field: str) -> None:
    detail = body["detail"]
    assert detail.startswith(f"{FIELDS[field]}: "), detail
    assert "{{ first_name" in detail  # says what can be used
    assert not any(word.lower() in detail.lower() for word in JINJA_WORDS), detail
    assert body["errors"][0]["field"] == f"messaging_config.{field}"


class TestHostileContentIsRefusedAtSave:
    @pytest.mark.parametrize("field", list(FIELDS))
    @pytest.mark.parametrize("source", list(HOSTILE.values()), ids=list(HOSTILE))
    async def test_a_new_campaign_is_refused_in_owner_words(
        self, client: AsyncClient, world: World, field: str, source: str
    ) -> None:
        response = await client.post(
            BASE, json=messaging_payload([world.paris.id], **{field: source}), headers=world.headers
        )
        assert response.status_code == 422, response.text
        assert_owner_words(response.json(), field)
        assert (await client.get(BASE, headers=world.headers)).json()["items"] == []

    @pytest.mark.parametrize("source", list(HOSTILE_BODIES.values()), ids=list(HOSTILE_BODIES))
    async def test_a_large_hostile_email_body_is_refused(
        self, client: AsyncClient, world: World, source: str
    ) -> None:
        response = await client.post(
            BASE, json=messaging_payload([world.paris.id], email_body=source), headers=world.headers
        )
        assert response.status_code == 422, response.text
        assert_owner_words(response.json(), "email_body")

    @pytest.mark.parametrize("source", list(HOSTILE.values()), ids=list(HOSTILE))
    async def test_an_edit_is_refused_and_the_saved_content_stays(
        self, client: AsyncClient, world: World, source: str
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        config = {**campaign["messaging_config"], "whatsapp_message": source}
        response = await client.patch(
            f"{BASE}/{campaign['id']}", json={"messaging_config": config}, headers=world.headers
        )
        assert response.status_code == 422, response.text
        assert_owner_words(response.json(), "whatsapp_message")
        after = (await client.get(f"{BASE}/{campaign['id']}", headers=world.headers)).json()
        assert after["messaging_config"] == campaign["messaging_config"]

    async def test_the_refusal_quotes_the_offending_markup_and_its_line(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await client.post(
            BASE,
            json=messaging_payload(
                [world.paris.id], whatsapp_message="Hi {{ first_name }}!\nTotal: {{ 9**9 }}"
            ),
            headers=world.headers,
        )
        assert response.json()["detail"].startswith(
            "WhatsApp message: line 2: `{{ 9**9 }}` is not a variable."
        )

    async def test_a_template_variable_is_checked_like_a_text(
        self, client: AsyncClient, world: World
    ) -> None:
        response = await client.post(
            BASE,
            json=messaging_payload(
                [world.paris.id],
                whatsapp_message=None,
                whatsapp_content_sid=DEMO_TEMPLATES[0].content_sid,
                whatsapp_content_variables={"1": "{{ 1/0 }}", "2": "{{ place_name }}"},
            ),
            headers=world.headers,
        )
        assert response.status_code == 422
        assert response.json()["detail"].startswith("WhatsApp template variable 1: line 1:")
        field = response.json()["errors"][0]["field"]
        assert field == "messaging_config.whatsapp_content_variables.1"


class TestWhatOwnersUse:
    async def test_a_default_value_stands_in_for_an_empty_name(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        nameless = await create_customer(session, first_name="", booked_at=[world.paris])
        await session.commit()
        campaign = await create_messaging_campaign(
            client,
            world,
            email_subject='Hello {{ first_name | default("there") }}',
            whatsapp_message='Hi {{ first_name | default("friend") | upper }}, see you at '
            "{{ place_name | title }}",
        )
        await client.post(
            f"{BASE}/{campaign['id']}/recipients",
            json={"user_ids": [nameless.id, world.alice.id]},
            headers=world.headers,
        )
        for user_id, subject, text in (
            (nameless.id, "Hello there", "Hi FRIEND, see you at Salon Paris"),
            (world.alice.id, "Hello Alice", "Hi ALICE, see you at Salon Paris"),
        ):
            preview = await client.post(
                f"{BASE}/{campaign['id']}/preview", json={"user_id": user_id}, headers=world.headers
            )
            assert preview.json()["email"]["subject"] == subject
            assert preview.json()["whatsapp"]["text"] == text


class TestLimitsApplyToTheRenderedText:
    async def test_a_short_whatsapp_text_that_renders_too_long_is_refused(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        await create_customer(session, first_name="N" * 100, booked_at=[world.london])
        await session.commit()
        source = ("{{ first_name }} " * 38).ljust(660, ".")
        response = await client.post(
            BASE,
            json=messaging_payload([world.paris.id, world.london.id], whatsapp_message=source),
            headers=world.headers,
        )
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert detail == (
            "WhatsApp message: for the customers with the longest names, the WhatsApp message "
            "would be 3,852 characters long; WhatsApp allows 1,600 (an emoji counts as 2)."
        )
        assert response.json()["errors"][0]["field"] == "messaging_config.whatsapp_message"

    async def test_a_1600_character_template_is_refused_when_a_name_makes_it_longer(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        source = "x" * 1584 + "{{ first_name }}"  # 1,600 characters
        fits = await client.post(
            BASE,
            json=messaging_payload([world.paris.id], whatsapp_message=source),
            headers=world.headers,
        )
        assert fits.status_code == 201  # the longest first name at Paris has 5 letters
        await create_customer(session, first_name="Marie-Amélie-Louise", booked_at=[world.paris])
        await session.commit()
        response = await client.patch(
            f"{BASE}/{fits.json()['id']}",
            json={"messaging_config": fits.json()["messaging_config"]},
            headers=world.headers,
        )
        assert response.status_code == 422
        assert "would be 1,603 characters long" in response.json()["detail"]

    async def test_emoji_count_as_two_characters_like_twilio_counts_them(
        self, client: AsyncClient, world: World
    ) -> None:
        fits = await client.post(
            BASE,
            json=messaging_payload([world.paris.id], whatsapp_message="\U0001f600" * 800),
            headers=world.headers,
        )
        assert fits.status_code == 201
        over = await client.post(
            BASE,
            json=messaging_payload([world.paris.id], whatsapp_message="\U0001f600" * 801),
            headers=world.headers,
        )
        assert over.status_code == 422
        assert "would be 1,602 characters long" in over.json()["detail"]

    async def test_a_subject_that_renders_over_255_characters_is_refused(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        await create_customer(
            session, first_name="F" * 100, last_name="L" * 100, booked_at=[world.paris]
        )
        await session.commit()
        response = await client.post(
            BASE,
            json=messaging_payload(
                [world.paris.id],
                email_subject="{{ first_name }} {{ last_name }}, {{ first_name }}!",
            ),
            headers=world.headers,
        )
        assert response.status_code == 422
        assert response.json()["detail"] == (
            "Subject: for the customers with the longest names, the subject would be 304 "
            "characters long; the limit is 255."
        )


class TestRenderedHtmlIsSanitised:
    async def test_legacy_script_in_the_database_never_reaches_the_preview(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        # Content saved before the checks (or written around them) is still in the database.
        await session.execute(
            update(CampaignMessage)
            .where(
                CampaignMessage.campaign_id == campaign["id"], CampaignMessage.channel == "email"
            )
            .values(
                message_body='<p onclick="x()">Hi {{ first_name }}</p><script>alert(1)</script>'
                '<img src="x" onerror="alert(1)"><a href="javascript:alert(2)">go</a>'
            )
        )
        await session.commit()
        preview = await client.post(
            f"{BASE}/{campaign['id']}/preview", json={}, headers=world.headers
        )
        assert preview.status_code == 200
        html = preview.json()["email"]["html"]
        assert html.startswith("<p>Hi Alex</p>")
        for word in ("<script", "alert(1)", "onerror", "onclick", "javascript:"):
            assert word not in html

    async def test_legacy_content_that_cannot_render_is_a_422_at_preview(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await session.execute(
            update(CampaignMessage)
            .where(
                CampaignMessage.campaign_id == campaign["id"], CampaignMessage.channel == "email"
            )
            .values(message_body=HOSTILE["safe"])
        )
        await session.commit()
        preview = await client.post(
            f"{BASE}/{campaign['id']}/preview", json={}, headers=world.headers
        )
        assert preview.status_code == 422
        assert preview.json()["detail"].startswith("Email message: line 1: ")
        assert "is not a variable" in preview.json()["detail"]
