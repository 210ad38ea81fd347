"""Recipients and deliveries reference their campaign, customer and recipient through
statement-level triggers (one check per statement, not one lookup per written row): the same
promises as the foreign keys they replace."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from rebook.db import get_engine
from tests.delivery.conftest import BASE, Shop, drain, make_shop, start_campaign, stats

pytestmark = pytest.mark.usefixtures("committed")


async def draft_with_everyone(api: AsyncClient, shop: Shop) -> dict[str, Any]:
    created = await api.post(
        BASE,
        json={
            "name": "Winback",
            "campaign_type": "messaging",
            "place_ids": [shop.paris.id],
            "messaging_config": {
                "channels": ["email", "whatsapp"],
                "email_subject": "Hello",
                "email_body": "<p>Come back</p>",
                "whatsapp_message": "Come back",
            },
        },
        headers=shop.headers,
    )
    assert created.status_code == 201, created.text
    campaign: dict[str, Any] = created.json()
    added = await api.post(
        f"{BASE}/{campaign['id']}/recipients", json={"select_all": {}}, headers=shop.headers
    )
    assert added.status_code == 200, added.text
    return campaign


async def scalar(sql: str, **params: Any) -> Any:
    async with get_engine().connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def test_writing_recipients_and_deliveries_runs_no_per_row_trigger(
    api: AsyncClient,
) -> None:
    # A row-level trigger on INSERT (a foreign key's check is one) runs once per written row:
    # 300 000 times for a selection of 100 000 customers on two channels.
    per_row = await scalar(
        "SELECT string_agg(tgname, ', ') FROM pg_trigger WHERE tgrelid IN "
        "('campaign_recipients'::regclass, 'campaign_deliveries'::regclass) "
        "AND tgtype & 1 = 1 AND tgtype & 4 = 4"  # TRIGGER_TYPE_ROW, TRIGGER_TYPE_INSERT
    )
    assert per_row is None


@pytest.mark.parametrize(
    ("statement", "missing"),
    [
        (
            "INSERT INTO campaign_recipients (campaign_id, user_id, customer_first_name, "
            "customer_last_name) VALUES (:campaign, 999999, '', '')",
            "users",
        ),
        (
            "INSERT INTO campaign_recipients (campaign_id, user_id, customer_first_name, "
            "customer_last_name) VALUES (999999, :user, '', '')",
            "campaigns",
        ),
        (
            "INSERT INTO campaign_deliveries (campaign_id, recipient_id, channel) "
            "VALUES (:campaign, 999999, 'email')",
            "campaign_recipients",
        ),
    ],
)
async def test_a_row_referencing_nothing_is_refused(
    api: AsyncClient, statement: str, missing: str
) -> None:
    shop = await make_shop(customers=1)
    campaign = await draft_with_everyone(api, shop)

    with pytest.raises(IntegrityError, match=f"→ {missing}"):
        async with get_engine().begin() as conn:
            await conn.execute(
                text(statement), {"campaign": campaign["id"], "user": shop.customers[0].id}
            )

    assert (await stats(api, shop, campaign["id"]))["total"] == 2


async def test_a_deleted_customer_leaves_the_draft_with_their_deliveries(
    api: AsyncClient,
) -> None:
    shop = await make_shop(customers=3)
    campaign = await draft_with_everyone(api, shop)
    gone = shop.customers[0]

    async with get_engine().begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": gone.id})

    page = await api.get(f"{BASE}/{campaign['id']}/recipients", headers=shop.headers)
    assert sorted(r["user_id"] for r in page.json()["items"]) == sorted(
        c.id for c in shop.customers[1:]
    )
    assert page.json()["pagination"]["total_count"] == 2
    assert (await stats(api, shop, campaign["id"]))["total"] == 4
    orphans = await scalar(
        "SELECT count(*) FROM campaign_deliveries d WHERE NOT EXISTS "
        "(SELECT 1 FROM campaign_recipients r WHERE r.id = d.recipient_id)"
    )
    assert orphans == 0


async def test_a_deleted_draft_takes_its_recipients_and_deliveries(api: AsyncClient) -> None:
    shop = await make_shop(customers=3)
    campaign = await draft_with_everyone(api, shop)

    response = await api.delete(f"{BASE}/{campaign['id']}", headers=shop.headers)

    assert response.status_code == 204, response.text
    left = await scalar(
        "SELECT (SELECT count(*) FROM campaign_recipients WHERE campaign_id = :id) "
        "+ (SELECT count(*) FROM campaign_deliveries WHERE campaign_id = :id)",
        id=campaign["id"],
    )
    assert left == 0


async def test_a_customer_with_sent_history_cannot_be_deleted(api: AsyncClient) -> None:
    shop = await make_shop(customers=2)
    campaign = await start_campaign(api, shop)
    await drain()
    before = await stats(api, shop, campaign["id"])

    with pytest.raises(IntegrityError):
        async with get_engine().begin() as conn:
            await conn.execute(
                text("DELETE FROM users WHERE id = :id"), {"id": shop.customers[0].id}
            )

    assert await stats(api, shop, campaign["id"]) == before


async def test_a_recipient_can_only_be_pointed_at_an_existing_customer(api: AsyncClient) -> None:
    shop = await make_shop(customers=2)
    campaign = await draft_with_everyone(api, shop)
    first, second = shop.customers

    with pytest.raises(IntegrityError, match="→ users"):
        async with get_engine().begin() as conn:
            await conn.execute(
                text(
                    "UPDATE campaign_recipients SET user_id = 999999 "
                    "WHERE campaign_id = :campaign AND user_id = :user"
                ),
                {"campaign": campaign["id"], "user": first.id},
            )

    page = await api.get(f"{BASE}/{campaign['id']}/recipients", headers=shop.headers)
    assert sorted(r["user_id"] for r in page.json()["items"]) == sorted([first.id, second.id])


async def test_a_delivery_cannot_be_moved_to_another_recipient(api: AsyncClient) -> None:
    shop = await make_shop(customers=2)
    campaign = await draft_with_everyone(api, shop)

    with pytest.raises(IntegrityError, match="cannot change"):
        async with get_engine().begin() as conn:
            await conn.execute(
                text(
                    "UPDATE campaign_deliveries SET recipient_id = (SELECT max(recipient_id) "
                    "FROM campaign_deliveries WHERE campaign_id = :c) "
                    "WHERE campaign_id = :c AND recipient_id = (SELECT min(recipient_id) "
                    "FROM campaign_deliveries WHERE campaign_id = :c) AND channel = 'email'"
                ),
                {"c": campaign["id"]},
            )


async def test_a_customer_being_added_cannot_be_deleted_until_the_addition_ends(
    api: AsyncClient,
) -> None:
    # As with a foreign key, a delete waits for the transaction adding the customer instead
    # of leaving a recipient of nobody (it locks the recipients' table first).
    shop = await make_shop(customers=2)
    campaign = await draft_with_everyone(api, shop)
    customer = shop.customers[0]
    async with get_engine().connect() as adding, get_engine().connect() as deleting:
        await adding.execute(
            text("DELETE FROM campaign_recipients WHERE campaign_id = :c AND user_id = :u"),
            {"c": campaign["id"], "u": customer.id},
        )
        await adding.commit()
        await adding.execute(
            text(
                "INSERT INTO campaign_recipients (campaign_id, user_id, customer_first_name, "
                "customer_last_name) VALUES (:c, :u, '', '')"
            ),
            {"c": campaign["id"], "u": customer.id},
        )
        await deleting.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(DBAPIError, match="lock timeout"):
            await deleting.execute(text("DELETE FROM users WHERE id = :u"), {"u": customer.id})
        await deleting.rollback()
        await adding.commit()


ADD_RECIPIENT = (
    "INSERT INTO campaign_recipients (campaign_id, user_id, customer_first_name, "
    "customer_last_name) VALUES (:c, :u, '', '')"
)


async def _one_removed(api: AsyncClient) -> tuple[dict[str, Any], int]:
    """A draft of everyone, with one of its customers taken out again (to be added back)."""
    shop = await make_shop(customers=2)
    campaign = await draft_with_everyone(api, shop)
    customer = shop.customers[0].id
    async with get_engine().begin() as conn:
        await conn.execute(
            text("DELETE FROM campaign_recipients WHERE campaign_id = :c AND user_id = :u"),
            {"c": campaign["id"], "u": customer},
        )
    return campaign, customer


async def test_adding_customers_leaves_their_rows_unlocked(api: AsyncClient) -> None:
    # A selection of 100 000 customers writes no row lock on them: the rare deletion of a
    # customer waits for it at the recipients' table instead (above).
    campaign, customer = await _one_removed(api)
    async with get_engine().connect() as adding, get_engine().connect() as other:
        await adding.execute(text(ADD_RECIPIENT), {"c": campaign["id"], "u": customer})
        locked = await other.execute(
            text("SELECT id FROM users WHERE id = :u FOR UPDATE NOWAIT"), {"u": customer}
        )
        assert locked.scalar() == customer
        await other.rollback()
        await adding.commit()


async def test_a_customer_being_deleted_cannot_be_added_and_then_is_refused(
    api: AsyncClient,
) -> None:
    campaign, customer = await _one_removed(api)
    async with get_engine().connect() as deleting, get_engine().connect() as adding:
        await deleting.execute(text("DELETE FROM users WHERE id = :u"), {"u": customer})
        await adding.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(DBAPIError, match="lock timeout"):
            await adding.execute(text(ADD_RECIPIENT), {"c": campaign["id"], "u": customer})
        await adding.rollback()
        await deleting.commit()
        with pytest.raises(IntegrityError, match="→ users"):
            await adding.execute(text(ADD_RECIPIENT), {"c": campaign["id"], "u": customer})
        await adding.rollback()


async def test_a_snapshot_older_than_a_deletion_cannot_add_the_deleted_customer(
    api: AsyncClient,
) -> None:
    # REPEATABLE READ still sees a customer deleted since its snapshot: its check locks
    # them, which fails, instead of trusting what it sees.
    campaign, customer = await _one_removed(api)
    async with get_engine().connect() as adding, get_engine().connect() as deleting:
        await adding.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        assert (
            await adding.execute(text("SELECT count(*) FROM users WHERE id = :u"), {"u": customer})
        ).scalar() == 1
        await deleting.execute(text("DELETE FROM users WHERE id = :u"), {"u": customer})
        await deleting.commit()
        with pytest.raises(DBAPIError, match="could not serialize"):
            await adding.execute(text(ADD_RECIPIENT), {"c": campaign["id"], "u": customer})
        await adding.rollback()
    orphans = await scalar(
        "SELECT count(*) FROM campaign_recipients r WHERE NOT EXISTS "
        "(SELECT 1 FROM users u WHERE u.id = r.user_id)"
    )
    assert orphans == 0
