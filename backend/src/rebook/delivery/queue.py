"""Deferring and cancelling delivery jobs inside the caller's transaction, so a campaign's
state and its jobs commit (or roll back) together.

procrastinate's Python API (`defer_async`, `JobManager.cancel_job_by_id_async`) runs on its own
connection and commits on its own, so it cannot join this transaction. Its writes go through
the SQL functions that API itself calls (`procrastinate_defer_jobs_v1`,
`procrastinate_cancel_job_v1`: versioned names, part of the pinned schema that
tests/test_queue_schema.py holds to the installed release); only reads touch its tables."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

QUEUE = "messaging"
START_TASK = "messaging.start_campaign"
BATCH_TASK = "messaging.send_batch"


def start_lock(campaign_id: int) -> str:
    return f"campaign-{campaign_id}-start"


def batch_lock(campaign_id: int, slot: int) -> str:
    return f"campaign-{campaign_id}-batch-{slot}"


async def defer(
    session: AsyncSession,
    task_name: str,
    args: dict[str, Any],
    *,
    queueing_lock: str | None = None,
    scheduled_at: datetime | None = None,
) -> int | None:
    """Defer a job in this transaction; None if a job with the same queueing lock is
    already waiting (the work is already planned)."""
    exists = queueing_lock is not None and await session.scalar(
        text("SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = :lock AND status = 'todo'"),
        {"lock": queueing_lock},
    )
    if exists:
        return None
    job_id = await session.scalar(
        text(
            "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, "
            ":lock, CAST(:args AS jsonb), :at)::procrastinate_job_to_defer_v1]))"
        ),
        {
            "queue": QUEUE,
            "task": task_name,
            "lock": queueing_lock,
            "args": json.dumps(args),
            "at": scheduled_at,
        },
    )
    return int(job_id) if job_id is not None else None


async def schedule_start(session: AsyncSession, campaign_id: int, when: datetime | None) -> None:
    """The job that starts a campaign: now, or at its scheduled time."""
    await cancel_waiting(session, campaign_id)
    await defer(
        session,
        START_TASK,
        {"campaign_id": campaign_id},
        queueing_lock=start_lock(campaign_id),
        scheduled_at=when,
    )


async def cancel_waiting(session: AsyncSession, campaign_id: int) -> int:
    """Remove the campaign's jobs that have not started; running batches stop by themselves
    between batches when they see the campaign is no longer sending."""
    result = await session.execute(
        text(
            "SELECT procrastinate_cancel_job_v1(id, false, true) FROM procrastinate_jobs "
            "WHERE status = 'todo' AND queue_name = :queue "
            "AND (args->>'campaign_id')::int = :campaign_id"
        ),
        {"queue": QUEUE, "campaign_id": campaign_id},
    )
    return sum(1 for (job_id,) in result.all() if job_id is not None)
