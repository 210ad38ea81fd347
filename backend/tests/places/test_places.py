from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import auth_headers, create_owner, create_place


async def test_owner_sees_only_their_own_places(client: AsyncClient, session: AsyncSession) -> None:
    owner, other = await create_owner(session), await create_owner(session)
    mine = await create_place(session, owner, name="Salon Rouge", country_code="FR")
    await create_place(session, other, name="Not mine")

    response = await client.get("/api/v1/owner/places", headers=auth_headers(owner))

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": mine.id,
            "name": "Salon Rouge",
            "timezone": "Europe/Paris",
            "country_code": "FR",
            "reply_to_email": None,
        }
    ]
