"""A relay's permanent refusal of an address while sending (5xx at RCPT) is a hard bounce:
no later campaign of any owner mails the address again."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.deliverability.conftest import another_owner_of, listed_emails, shop_emails
from tests.delivery.conftest import BASE, Shop, deliveries, drain, make_shop, start_campaign, stats
from tests.fakes.smtp import SmtpSink

pytestmark = pytest.mark.usefixtures("committed")

EMAIL_ONLY: dict[str, Any] = {"channels": ["email"], "whatsapp_message": None}


async def drafted_with_everyone(api: AsyncClient, shop: Shop) -> int:
    created = await api.post(
        BASE,
        json={
            "name": "Next month",
            "campaign_type": "messaging",
            "place_ids": [shop.paris.id],
            "messaging_config": {
                "channels": ["email"],
                "email_subject": "Hi {{ first_name }}",
                "email_body": "<p>Hello</p>",
            },
        },
        headers=shop.headers,
    )
    campaign_id: int = created.json()["id"]
    added = await api.post(
        f"{BASE}/{campaign_id}/recipients", json={"select_all": {}}, headers=shop.headers
    )
    assert added.json()["added"] == len(shop.customers)
    return campaign_id


class TestRefusedAtRcpt:
    async def test_a_550_at_rcpt_is_not_mailed_by_the_next_campaign(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        shop = await make_shop(customers=3, phone=False)
        dead = str(shop.customers[1].email)
        _, other_headers, other_place = await another_owner_of(shop.customers[1])
        smtp_backend.refuse(dead, "550 5.1.1 <x>: Recipient address rejected: User unknown")
        # Drafted before the refusal: its recipients were chosen while the address looked fine.
        drafted = await drafted_with_everyone(api, shop)
        first = await start_campaign(api, shop, **EMAIL_ONLY)
        await drain()

        refused = next(
            d for d in await deliveries(api, shop, first["id"]) if d["status"] == "failed"
        )
        assert (refused["error_code"], refused["provider_status"]) == ("smtp-550", "bounced")
        assert refused["error_message"].startswith("Bounced: ")
        assert "User unknown" in refused["error_message"]
        assert (await stats(api, shop, first["id"]))["bounced"] == 1
        smtp_backend.handler.refusals.clear()  # Rebook itself must hold back from now on

        sent = await api.post(
            f"{BASE}/{drafted}/send", params={"send_immediately": "true"}, headers=shop.headers
        )
        assert sent.status_code == 200
        later = await start_campaign(api, shop, **EMAIL_ONLY)
        await drain()

        assert dead not in {r for m in smtp_backend.received for r in m.rcpt_tos}
        skipped = next(d for d in await deliveries(api, shop, drafted) if d["status"] == "skipped")
        assert skipped["error_code"] == "bounced_address"
        assert "bounced" in skipped["error_message"]
        assert (await stats(api, shop, later["id"]))["total"] == 2  # never added
        assert await listed_emails(api, shop.headers, shop.paris.id) == shop_emails(shop) - {dead}
        assert dead not in await listed_emails(api, other_headers, other_place)

    async def test_a_policy_refusal_suppresses_nothing(
        self, api: AsyncClient, smtp_backend: SmtpSink
    ) -> None:
        shop = await make_shop(customers=2, phone=False)
        smtp_backend.refuse(str(shop.customers[0].email), "550 5.7.1 Message rejected as spam")
        campaign = await start_campaign(api, shop, **EMAIL_ONLY)
        await drain()

        body = await stats(api, shop, campaign["id"])
        assert (body["failed"], body["bounced"]) == (1, 0)
        assert await listed_emails(api, shop.headers, shop.paris.id) == shop_emails(shop)
