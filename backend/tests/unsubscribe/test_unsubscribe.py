from __future__ import annotations

import base64
import html

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.config import get_settings
from rebook.models import AuditEvent, MarketingSuppression, Place, User
from rebook.unsubscribe.tokens import UnsubscribeTarget, make_token, read_token, unsubscribe_url
from tests.factories import create_customer, create_owner, create_place

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
async def people(session: AsyncSession) -> tuple[User, User]:
    owner = await create_owner(session)
    await create_place(session, owner, name="Salon Paris")
    customer = await create_customer(session)
    return owner, customer


def token_for(owner: User, customer: User, channel: str = "email") -> str:
    return make_token(UnsubscribeTarget(owner.id, customer.id, channel), get_settings())


async def suppressions(session: AsyncSession) -> list[tuple[int, int, str, str]]:
    rows = await session.execute(
        select(
            MarketingSuppression.owner_id,
            MarketingSuppression.user_id,
            MarketingSuppression.channel,
            MarketingSuppression.source,
        )
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows.all()]


async def events(session: AsyncSession) -> list[AuditEvent]:
    return list((await session.scalars(select(AuditEvent))).all())


class TestTokens:
    def test_a_token_reads_back_and_its_url_is_on_the_public_base(self) -> None:
        target = UnsubscribeTarget(3, 9, "email")
        settings = get_settings()

        assert read_token(make_token(target, settings), settings) == target
        assert unsubscribe_url(target, settings).startswith(
            f"{settings.public_base_url}/unsubscribe/"
        )

    def test_any_change_breaks_the_token(self) -> None:
        settings = get_settings()
        token = make_token(UnsubscribeTarget(3, 9, "email"), settings)
        forged = make_token(UnsubscribeTarget(3, 10, "email"), settings).split(".")[0]

        assert read_token(f"{forged}.{token.split('.')[1]}", settings) is None
        assert read_token(token[:-2], settings) is None
        assert read_token("garbage", settings) is None


class TestConfirmationPage:
    async def test_get_shows_a_button_and_changes_nothing(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User]
    ) -> None:
        owner, customer = people
        token = token_for(owner, customer)

        response = await client.get(f"/unsubscribe/{token}")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert f'<form method="post" action="/unsubscribe/{token}">' in response.text
        assert "stop receiving marketing emails from Salon Paris" in response.text
        assert "set-cookie" not in response.headers
        assert await suppressions(session) == []
        assert await events(session) == []


class TestUnsubscribe:
    async def test_one_click_post_records_the_suppression_and_an_audit_event(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User]
    ) -> None:
        owner, customer = people

        response = await client.post(f"/unsubscribe/{token_for(owner, customer)}", data=ONE_CLICK)

        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        assert "You're unsubscribed" in html.unescape(response.text)
        assert "no longer receive marketing emails from Salon Paris" in response.text
        assert await suppressions(session) == [(owner.id, customer.id, "email", "one_click")]
        [event] = await events(session)
        assert event.action == "customer.unsubscribed"
        assert (event.owner_id, event.actor_user_id) == (owner.id, customer.id)
        assert event.details["channel"] == "email"
        assert event.ip_address == "203.0.113.7"

    async def test_the_pages_button_records_the_page_as_the_source(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User]
    ) -> None:
        owner, customer = people

        response = await client.post(f"/unsubscribe/{token_for(owner, customer, 'whatsapp')}")

        assert response.status_code == 200
        assert await suppressions(session) == [
            (owner.id, customer.id, "whatsapp", "unsubscribe_page")
        ]

    async def test_unsubscribing_twice_records_it_once(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User]
    ) -> None:
        owner, customer = people
        url = f"/unsubscribe/{token_for(owner, customer)}"

        first = await client.post(url, data=ONE_CLICK)
        second = await client.post(url, data=ONE_CLICK)

        assert (first.status_code, second.status_code) == (200, 200)
        assert len(await suppressions(session)) == 1
        assert len(await events(session)) == 1

    async def test_no_redirect(self, client: AsyncClient, people: tuple[User, User]) -> None:
        owner, customer = people

        response = await client.post(
            f"/unsubscribe/{token_for(owner, customer)}", data=ONE_CLICK, follow_redirects=False
        )

        assert response.status_code == 200
        assert "location" not in response.headers


class TestTamperedToken:
    @pytest.mark.parametrize("method", ["GET", "POST"])
    async def test_tampered_token_is_400_and_changes_nothing(
        self,
        client: AsyncClient,
        session: AsyncSession,
        people: tuple[User, User],
        method: str,
    ) -> None:
        owner, customer = people
        signature = token_for(owner, customer).split(".")[1]
        other_payload = token_for(owner, owner).split(".")[0]

        response = await client.request(
            method, f"/unsubscribe/{other_payload}.{signature}", data=ONE_CLICK
        )

        assert response.status_code == 400
        assert "not valid" in response.text
        assert await suppressions(session) == []
        assert await events(session) == []

    async def test_a_signed_token_for_an_unknown_channel_is_400(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User]
    ) -> None:
        owner, customer = people

        response = await client.post(
            f"/unsubscribe/{token_for(owner, customer, 'carrier-pigeon')}", data=ONE_CLICK
        )

        assert response.status_code == 400
        assert await suppressions(session) == []


class TestThePlaceTheMessageCameFrom:
    @pytest.fixture
    async def lyon(self, session: AsyncSession, people: tuple[User, User]) -> Place:
        owner, _ = people
        return await create_place(session, owner, name="Salon Lyon")

    async def test_the_page_names_the_place_of_the_message_not_the_first_place(
        self, client: AsyncClient, people: tuple[User, User], lyon: Place
    ) -> None:
        owner, customer = people
        token = make_token(
            UnsubscribeTarget(owner.id, customer.id, "email", lyon.id), get_settings()
        )

        shown = await client.get(f"/unsubscribe/{token}")
        done = await client.post(f"/unsubscribe/{token}", data=ONE_CLICK)

        assert "stop receiving marketing emails from Salon Lyon?" in shown.text
        assert "no longer receive marketing emails from Salon Lyon." in done.text
        assert "Salon Paris" not in shown.text + done.text

    async def test_a_place_that_is_not_the_owners_is_never_named(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User]
    ) -> None:
        owner, customer = people
        stranger = await create_place(session, await create_owner(session), name="Elsewhere")
        target = UnsubscribeTarget(owner.id, customer.id, "email", stranger.id)

        shown = await client.get(f"/unsubscribe/{make_token(target, get_settings())}")

        assert "from Salon Paris?" in shown.text
        assert "Elsewhere" not in shown.text

    async def test_a_link_from_before_places_were_in_tokens_still_works(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User], lyon: Place
    ) -> None:
        owner, customer = people
        settings = get_settings()
        old = token_for(owner, customer)  # owner.customer.channel, as every older email has
        payload = base64.urlsafe_b64decode(old.split(".")[0] + "==").decode()
        assert payload == f"{owner.id}.{customer.id}.email"

        shown = await client.get(f"/unsubscribe/{old}")
        done = await client.post(f"/unsubscribe/{old}", data=ONE_CLICK)

        assert read_token(old, settings) == UnsubscribeTarget(owner.id, customer.id, "email")
        assert "from Salon Paris?" in shown.text
        assert done.status_code == 200
        assert await suppressions(session) == [(owner.id, customer.id, "email", "one_click")]


class TestAUsedLink:
    async def test_a_used_link_says_it_is_done_instead_of_asking_again(
        self, client: AsyncClient, session: AsyncSession, people: tuple[User, User]
    ) -> None:
        owner, customer = people
        url = f"/unsubscribe/{token_for(owner, customer)}"
        await client.post(url, data=ONE_CLICK)

        again = await client.get(url)

        assert again.status_code == 200
        text = html.unescape(again.text)
        assert "<h1>You're already unsubscribed</h1>" in text
        assert "you no longer receive marketing emails from Salon Paris" in text
        assert "<form" not in text
        assert len(await events(session)) == 1

    async def test_a_stop_on_another_channel_still_asks(
        self, client: AsyncClient, people: tuple[User, User]
    ) -> None:
        owner, customer = people
        await client.post(f"/unsubscribe/{token_for(owner, customer, 'whatsapp')}")

        shown = await client.get(f"/unsubscribe/{token_for(owner, customer)}")

        assert "Do you want to stop receiving marketing emails from Salon Paris?" in shown.text
