from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.models import AuditEvent, Booking, CampaignDelivery, CampaignRecipient
from tests.factories import auth_headers, create_customer, create_owner
from tests.messaging.conftest import BASE, World, create_messaging_campaign


async def add(client: AsyncClient, world: World, campaign_id: int, payload: dict[str, Any]) -> Any:
    return await client.post(
        f"{BASE}/{campaign_id}/recipients", json=payload, headers=world.headers
    )


async def recipients(client: AsyncClient, world: World, campaign_id: int, **params: Any) -> Any:
    response = await client.get(
        f"{BASE}/{campaign_id}/recipients", params=params, headers=world.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in body["items"]}


class TestAddByIds:
    async def test_eligible_customers_are_added_with_a_delivery_per_channel(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await add(
            client, world, campaign["id"], {"user_ids": [world.alice.id, world.chloe.id]}
        )
        assert response.json() == {"added": 2, "removed": 0, "total_recipients": 2}

        listed = by_name(await recipients(client, world, campaign["id"]))
        alice = listed["Alice Arnaud"]
        assert alice["customer_phone"] == "06 12 34 56 78"
        assert alice["place_id"] == world.paris.id
        assert {d["channel"]: d["status"] for d in alice["deliveries"]} == {
            "email": "pending",
            "whatsapp": "pending",
        }
        # Chloe has no email: kept, with the email delivery skipped and the reason shown.
        chloe = listed["Chloe Clark"]
        email = next(d for d in chloe["deliveries"] if d["channel"] == "email")
        assert (email["status"], email["error_message"]) == ("skipped", "No email address on file.")

    async def test_non_eligible_ids_are_a_422_naming_them_and_nothing_is_added(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        refused = sorted([world.denis.id, world.ines.id])
        response = await add(
            client, world, campaign["id"], {"user_ids": [world.alice.id, *refused]}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["ids"] == refused
        for user_id in refused:
            assert str(user_id) in response.json()["detail"]
        assert (await recipients(client, world, campaign["id"]))["items"] == []

    async def test_adding_twice_never_duplicates(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"user_ids": [world.alice.id]})
        again = await add(
            client, world, campaign["id"], {"user_ids": [world.alice.id, world.bruno.id]}
        )
        assert again.json()["added"] == 1
        assert again.json()["total_recipients"] == 2
        deliveries = await session.scalar(
            select(func.count())
            .select_from(CampaignDelivery)
            .where(CampaignDelivery.campaign_id == campaign["id"])
        )
        assert deliveries == 4

    async def test_unreadable_phone_is_kept_with_a_whatsapp_error(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"user_ids": [world.hugo.id]})
        hugo = (await recipients(client, world, campaign["id"]))["items"][0]
        whatsapp = next(d for d in hugo["deliveries"] if d["channel"] == "whatsapp")
        assert whatsapp["status"] == "skipped"
        assert whatsapp["error_code"] == "invalid_phone"
        assert "not a valid number" in whatsapp["error_message"]
        email = next(d for d in hugo["deliveries"] if d["channel"] == "email")
        assert email["status"] == "pending"

    async def test_local_numbers_are_stored_in_e164_with_the_places_country(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"user_ids": [world.alice.id, world.chloe.id]})
        rows = dict(
            (
                await session.execute(
                    select(CampaignRecipient.user_id, CampaignRecipient.customer_phone_e164).where(
                        CampaignRecipient.campaign_id == campaign["id"]
                    )
                )
            ).all()
        )
        assert rows == {world.alice.id: "+33612345678", world.chloe.id: "+447911123456"}


class TestSelectAll:
    async def test_everyone_matching_minus_exclusions(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await add(
            client,
            world,
            campaign["id"],
            {"select_all": {"filter_by": "all", "exclude_user_ids": [world.bruno.id]}},
        )
        assert response.json()["added"] == 5
        assert sorted(by_name(await recipients(client, world, campaign["id"]))) == [
            "Alice Arnaud",
            "Chloe Clark",
            "Emma Evans",
            "Gina Garcia",
            "Hugo Henry",
        ]

    async def test_each_recipient_keeps_the_campaign_place_booked_at_last(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        """Its name personalises the message: the latest booking at one of the campaign's
        places, whether everyone matching is selected or the customer is picked by id."""
        jo = await create_customer(session, first_name="Jo", booked_at=[world.paris])
        now = datetime.now(UTC)
        session.add_all(
            [
                Booking(place_id=world.london.id, user_id=jo.id, starts_at=now - timedelta(days=3)),
                # Later, but at a place of another owner: not this campaign's.
                Booking(place_id=world.rival_place.id, user_id=jo.id, starts_at=now),
            ]
        )
        await session.commit()
        everyone = await create_messaging_campaign(client, world)
        await add(client, world, everyone["id"], {"select_all": {}})
        picked = await create_messaging_campaign(client, world)
        await add(client, world, picked["id"], {"user_ids": [jo.id, world.bruno.id]})
        only_paris = await create_messaging_campaign(client, world, [world.paris.id])
        await add(client, world, only_paris["id"], {"select_all": {}})

        for campaign in (everyone, picked):
            listed = by_name(await recipients(client, world, campaign["id"]))
            assert listed[f"Jo {jo.last_name}"]["place_id"] == world.london.id
            assert listed["Bruno Bernard"]["place_id"] == world.london.id
        listed = by_name(await recipients(client, world, only_paris["id"]))
        assert listed[f"Jo {jo.last_name}"]["place_id"] == world.paris.id
        assert "Bruno Bernard" not in listed  # booked at London only

    async def test_with_filter_and_search(self, client: AsyncClient, world: World) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await add(
            client, world, campaign["id"], {"select_all": {"filter_by": "has_phone", "search": "e"}}
        )
        # has_phone (a valid number): Alice, Chloe, Emma; "e" is in each name or email.
        assert sorted(by_name(await recipients(client, world, campaign["id"]))) == [
            "Alice Arnaud",
            "Chloe Clark",
            "Emma Evans",
        ]
        assert response.json()["added"] == 3

    async def test_suppressed_channel_is_skipped_with_the_reason(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"select_all": {}})
        emma = by_name(await recipients(client, world, campaign["id"]))["Emma Evans"]
        statuses = {d["channel"]: (d["status"], d["error_message"]) for d in emma["deliveries"]}
        assert statuses == {
            "email": ("skipped", "Unsubscribed from your emails."),
            "whatsapp": ("pending", None),
        }

    async def test_either_ids_or_select_all(self, client: AsyncClient, world: World) -> None:
        campaign = await create_messaging_campaign(client, world)
        both = await add(
            client, world, campaign["id"], {"user_ids": [world.alice.id], "select_all": {}}
        )
        neither = await add(client, world, campaign["id"], {})
        for response in (both, neither):
            assert response.status_code == 422
            assert "either user_ids or select_all" in response.json()["detail"]

    async def test_recipients_added_is_audited(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"select_all": {"filter_by": "has_email"}})
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.campaign_id == campaign["id"],
                AuditEvent.action == "campaign.recipients_added",
            )
        )
        assert event is not None
        assert event.details["by"] == "select_all"
        assert event.details["count"] == 4


class TestListRemoveExport:
    async def test_status_and_channel_filters(self, client: AsyncClient, world: World) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"select_all": {}})
        skipped_email = await recipients(
            client, world, campaign["id"], status="skipped", channel="email"
        )
        assert sorted(by_name(skipped_email)) == ["Chloe Clark", "Emma Evans"]
        skipped_whatsapp = await recipients(
            client, world, campaign["id"], status="skipped", channel="whatsapp"
        )
        assert sorted(by_name(skipped_whatsapp)) == ["Bruno Bernard", "Gina Garcia", "Hugo Henry"]
        page = await recipients(client, world, campaign["id"], page=2, limit=4)
        assert page["pagination"]["total_count"] == 6
        assert len(page["items"]) == 2

    async def test_pending_recipient_can_be_removed(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"user_ids": [world.alice.id, world.bruno.id]})
        alice = by_name(await recipients(client, world, campaign["id"]))["Alice Arnaud"]
        response = await client.delete(
            f"{BASE}/{campaign['id']}/recipients/{alice['id']}", headers=world.headers
        )
        assert response.status_code == 204
        assert sorted(by_name(await recipients(client, world, campaign["id"]))) == ["Bruno Bernard"]

    async def test_a_messaged_recipient_cannot_be_removed(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"user_ids": [world.alice.id]})
        alice = (await recipients(client, world, campaign["id"]))["items"][0]
        await session.execute(
            update(CampaignDelivery)
            .where(
                CampaignDelivery.recipient_id == alice["id"], CampaignDelivery.channel == "email"
            )
            .values(status="sent")
        )
        await session.commit()
        response = await client.delete(
            f"{BASE}/{campaign['id']}/recipients/{alice['id']}", headers=world.headers
        )
        assert response.status_code == 409
        assert "already been messaged" in response.json()["detail"]
        assert len((await recipients(client, world, campaign["id"]))["items"]) == 1

    async def test_remove_all_pending_starts_the_selection_over(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"select_all": {}})
        response = await client.delete(f"{BASE}/{campaign['id']}/recipients", headers=world.headers)
        assert response.json() == {"added": 0, "removed": 6, "total_recipients": 0}

    async def test_csv_export_has_one_row_per_channel_with_statuses(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"user_ids": [world.alice.id, world.chloe.id]})
        response = await client.get(
            f"{BASE}/{campaign['id']}/recipients/export.csv", headers=world.headers
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [(r["name"], r["channel"], r["status"]) for r in rows] == [
            ("Alice Arnaud", "email", "pending"),
            ("Alice Arnaud", "whatsapp", "pending"),
            ("Chloe Clark", "email", "skipped"),
            ("Chloe Clark", "whatsapp", "pending"),
        ]
        assert rows[2]["error_message"] == "No email address on file."

    async def test_changing_channels_gives_every_recipient_the_new_channel(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world, channels=["email"])
        await add(client, world, campaign["id"], {"user_ids": [world.alice.id]})
        response = await client.patch(
            f"{BASE}/{campaign['id']}",
            json={"messaging_config": {"channels": ["whatsapp"], "whatsapp_message": "Hi"}},
            headers=world.headers,
        )
        assert response.status_code == 200, response.text
        alice = (await recipients(client, world, campaign["id"]))["items"][0]
        assert [(d["channel"], d["status"]) for d in alice["deliveries"]] == [
            ("whatsapp", "pending")
        ]


FILTERS: list[dict[str, str]] = [
    {},
    {"channel": "email"},
    {"channel": "whatsapp"},
    *({"status": s} for s in ("pending", "sent", "failed", "skipped", "cancelled")),
    *(
        {"status": s, "channel": c}
        for s in ("pending", "sent", "skipped")
        for c in ("email", "whatsapp")
    ),
]


class TestCursorPages:
    async def walk(
        self, client: AsyncClient, world: World, campaign_id: int, **params: Any
    ) -> list[list[str]]:
        pages, cursor, page = [], None, 1
        while True:
            body = await recipients(
                client, world, campaign_id, limit=2, page=page, cursor=cursor, **params
            )
            pages.append([r["name"] for r in body["items"]])
            cursor, page = body["next_cursor"], page + 1
            if cursor is None:
                return pages

    async def test_pages_by_cursor_list_everyone_once_in_order(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"select_all": {}})
        by_page = await recipients(client, world, campaign["id"], limit=200)

        pages = await self.walk(client, world, campaign["id"])

        assert [name for page in pages for name in page] == [r["name"] for r in by_page["items"]]
        assert [len(page) for page in pages] == [2, 2, 2]

    async def test_a_recipient_removed_meanwhile_shifts_no_one_onto_an_unseen_page(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"select_all": {}})
        first = await recipients(client, world, campaign["id"], limit=2)
        gone = first["items"][0]
        removed = await client.delete(
            f"{BASE}/{campaign['id']}/recipients/{gone['id']}", headers=world.headers
        )
        assert removed.status_code == 204

        second = await recipients(
            client, world, campaign["id"], limit=2, page=2, cursor=first["next_cursor"]
        )

        everyone = await recipients(client, world, campaign["id"], limit=200)
        assert [r["name"] for r in second["items"]] == [r["name"] for r in everyone["items"][1:3]]

    async def test_a_status_on_both_channels_is_paged_without_a_total(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"user_ids": [world.alice.id, world.gina.id]})
        await session.execute(
            update(CampaignDelivery)
            .where(CampaignDelivery.campaign_id == campaign["id"])
            .values(status="sent")
        )
        await session.commit()

        body = await recipients(client, world, campaign["id"], status="sent", limit=1)

        assert body["pagination"]["total_count"] is None
        assert [r["name"] for r in body["items"]] == ["Alice Arnaud"]
        assert body["next_cursor"] is not None
        rest = await recipients(
            client, world, campaign["id"], status="sent", limit=1, cursor=body["next_cursor"]
        )
        assert [r["name"] for r in rest["items"]] == ["Gina Garcia"]

    async def test_a_cursor_not_given_by_a_page_is_refused(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await client.get(
            f"{BASE}/{campaign['id']}/recipients",
            params={"cursor": "not-a-cursor"},
            headers=world.headers,
        )
        assert response.status_code == 422
        assert "cursor" in response.json()["detail"]


class TestTotals:
    """Every page's total is the number of recipients the filter lists, however the campaign
    got there (totals come from counters kept by the database, not from counting rows)."""

    async def assert_totals_match_the_lists(
        self, client: AsyncClient, world: World, campaign_id: int
    ) -> dict[str, int]:
        totals = {}
        for params in FILTERS:
            body = await recipients(client, world, campaign_id, limit=200, **params)
            total = body["pagination"]["total_count"]
            status = params.get("status")
            held_by = [
                channel
                for channel in ("email", "whatsapp")
                if status
                and (await recipients(client, world, campaign_id, status=status, channel=channel))[
                    "items"
                ]
            ]
            if "channel" not in params and len(held_by) == 2:
                # Held by both channels: only reading every such delivery could count them.
                assert total is None, params
                assert body["pagination"]["max_page"] is None
            else:
                assert total == len(body["items"]), params
            totals[" ".join(params.values()) or "all"] = len(body["items"])
        return totals

    async def test_totals_follow_sends_on_both_channels_and_removals(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"select_all": {}})
        assert (await self.assert_totals_match_the_lists(client, world, campaign["id"]))["all"] == 6
        # Alice is sent on both channels (one recipient sent, not two); Gina's email is sent
        # and her WhatsApp skipped; Bruno fails.
        listed = by_name(await recipients(client, world, campaign["id"]))
        ids = {name.split()[0]: r["id"] for name, r in listed.items()}
        await session.execute(
            update(CampaignDelivery)
            .where(
                CampaignDelivery.recipient_id.in_([ids["Alice"], ids["Gina"]]),
                CampaignDelivery.status == "pending",
            )
            .values(status="sent")
        )
        await session.execute(
            update(CampaignDelivery)
            .where(
                CampaignDelivery.recipient_id == ids["Bruno"], CampaignDelivery.channel == "email"
            )
            .values(status="failed")
        )
        await session.commit()
        totals = await self.assert_totals_match_the_lists(client, world, campaign["id"])
        assert totals["sent"] == 2
        assert totals["sent email"] == 2
        assert totals["sent whatsapp"] == 1
        assert totals["failed"] == 1

        await client.delete(
            f"{BASE}/{campaign['id']}/recipients/{ids['Hugo']}", headers=world.headers
        )
        totals = await self.assert_totals_match_the_lists(client, world, campaign["id"])
        assert totals["all"] == 5

    async def test_a_deleted_customer_leaves_the_total(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"select_all": {}})
        await session.delete(world.chloe)  # erased from the platform: her rows cascade
        await session.commit()
        totals = await self.assert_totals_match_the_lists(client, world, campaign["id"])
        assert totals["all"] == 5
        stats = await client.get(f"{BASE}/{campaign['id']}/messaging-stats", headers=world.headers)
        assert stats.json()["total_recipients"] == 5


class TestOwnerIsolation:
    async def test_another_owner_gets_404_on_every_messaging_endpoint(
        self, client: AsyncClient, world: World, session: AsyncSession
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        await add(client, world, campaign["id"], {"user_ids": [world.alice.id]})
        recipient_id = (await recipients(client, world, campaign["id"]))["items"][0]["id"]
        intruder = auth_headers(await create_owner(session))
        url = f"{BASE}/{campaign['id']}"
        attempts = [
            client.post(f"{url}/recipients", json={"select_all": {}}, headers=intruder),
            client.post(f"{url}/recipients", json={"user_ids": [world.bruno.id]}, headers=intruder),
            client.get(f"{url}/recipients", headers=intruder),
            client.get(f"{url}/recipients/export.csv", headers=intruder),
            client.delete(f"{url}/recipients/{recipient_id}", headers=intruder),
            client.delete(f"{url}/recipients", headers=intruder),
            client.post(f"{url}/preview", json={}, headers=intruder),
            client.get(f"{url}/send-summary", headers=intruder),
            client.post(f"{url}/send?send_immediately=true", headers=intruder),
            client.post(f"{url}/cancel", headers=intruder),
            client.get(f"{url}/messaging-stats", headers=intruder),
        ]
        for attempt in attempts:
            response = await attempt
            assert response.status_code == 404, (response.request.url, response.text)
            assert response.json()["error"] == "NotFound"
        listed = await recipients(client, world, campaign["id"])
        assert [r["name"] for r in listed["items"]] == ["Alice Arnaud"]

    async def test_a_recipient_of_another_campaign_is_404(
        self, client: AsyncClient, world: World
    ) -> None:
        first = await create_messaging_campaign(client, world)
        second = await create_messaging_campaign(client, world)
        await add(client, world, first["id"], {"user_ids": [world.alice.id]})
        recipient_id = (await recipients(client, world, first["id"]))["items"][0]["id"]
        response = await client.delete(
            f"{BASE}/{second['id']}/recipients/{recipient_id}", headers=world.headers
        )
        assert response.status_code == 404

    async def test_another_owners_customers_are_not_found(
        self, client: AsyncClient, world: World
    ) -> None:
        campaign = await create_messaging_campaign(client, world)
        response = await add(client, world, campaign["id"], {"user_ids": [world.fabien.id]})
        assert response.status_code == 404
        assert response.json()["detail"] == f"Customer not found: {world.fabien.id}."
        assert (await recipients(client, world, campaign["id"]))["items"] == []
