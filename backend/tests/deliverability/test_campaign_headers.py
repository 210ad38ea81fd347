"""What a campaign email the worker sends says about its sender: the place, its Reply-To, the
owner's own address on a verified domain, the owner's list and the campaign's Feedback-ID."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from rebook.config import get_settings
from rebook.db import get_sessionmaker
from rebook.models import Place, User
from tests.delivery.conftest import drain, make_shop, start_campaign
from tests.fakes.smtp import SmtpSink

pytestmark = pytest.mark.usefixtures("committed")


async def test_the_business_sends_and_gets_the_replies(
    api: AsyncClient, smtp_backend: SmtpSink, delivery_env: pytest.MonkeyPatch
) -> None:
    delivery_env.setenv("EMAIL_SENDER_DOMAINS", "salon-paris.example")
    delivery_env.setenv("SMTP_EHLO_NAME", "mta.rebook.example")
    get_settings.cache_clear()
    shop = await make_shop(customers=1, phone=False)
    async with get_sessionmaker()() as session:
        await session.execute(
            update(Place)
            .where(Place.id == shop.paris.id)
            .values(reply_to_email="contact@salon-paris.example")
        )
        await session.execute(
            update(User)
            .where(User.id == shop.owner.id)
            .values(sender_email="hello@salon-paris.example")
        )
        await session.commit()
    campaign = await start_campaign(api, shop, channels=["email"], whatsapp_message=None)
    await drain()

    (received,) = smtp_backend.received
    message = received.message
    assert str(message["From"]) == "Salon Paris <hello@salon-paris.example>"
    assert message["Reply-To"] == "contact@salon-paris.example"
    assert message["List-Id"] == f"Salon Paris <owner-{shop.owner.id}.rebook.test>"
    assert message["Feedback-ID"] == f"{campaign['id']}:{shop.owner.id}:campaign:rebook"
    assert smtp_backend.handler.ehlo_names[0] == "mta.rebook.example"
