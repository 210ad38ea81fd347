"""What the owner sees of suppressions: each customer no longer messaged on a channel, why
and since when — their own opt-outs and complaints, and the bounced addresses among their
customers."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.deliverability.schemas import SuppressionRead

_SUPPRESSIONS = """
    SELECT s.user_id, u.first_name, u.last_name, s.channel, s.source AS reason, '' AS detail,
           s.created_at AS since
    FROM marketing_suppressions s JOIN users u ON u.id = s.user_id
    WHERE s.owner_id = :owner_id
    UNION ALL
    SELECT u.id, u.first_name, u.last_name, 'email', es.reason, es.detail, es.created_at
    FROM marketing_audience a
    JOIN users u ON u.id = a.user_id
    JOIN email_suppressions es ON es.address = lower(u.email)
    WHERE a.owner_id = :owner_id
"""


async def page(
    session: AsyncSession, owner_id: int, limit: int, offset: int
) -> tuple[list[SuppressionRead], int]:
    total = await session.scalar(
        text(f"SELECT count(*) FROM ({_SUPPRESSIONS}) s"), {"owner_id": owner_id}
    )
    rows = (
        await session.execute(
            text(f"{_SUPPRESSIONS} ORDER BY since DESC, user_id LIMIT :limit OFFSET :offset"),
            {"owner_id": owner_id, "limit": limit, "offset": offset},
        )
    ).all()
    items = [
        SuppressionRead(
            customer_id=row.user_id,
            name=f"{row.first_name} {row.last_name}".strip(),
            channel=row.channel,
            reason=row.reason,
            detail=row.detail,
            since=row.since,
        )
        for row in rows
    ]
    return items, int(total or 0)
