"""The delivery jobs, run by `rebook worker` (and by `rebook serve` unless --no-worker).

Each is safe to run again (it reloads and skips what is done), so one the database left
halfway runs again once the database is back, instead of failing: a failed job whose
failure cannot even be recorded would stay `doing` under a live worker, and its campaign
would wait for it."""

from __future__ import annotations

from rebook.config import get_settings
from rebook.db import get_engine, retry_while_unreachable
from rebook.delivery import queue
from rebook.delivery.runtime import current_senders, run_sweep
from rebook.jobs import app
from rebook.messaging import dispatch, flow


@app.task(name=queue.START_TASK, queue=queue.QUEUE)
async def start_campaign(campaign_id: int) -> None:
    await retry_while_unreachable(
        lambda: flow.start_campaign(campaign_id, get_settings()), "start campaign"
    )


@app.task(name=queue.BATCH_TASK, queue=queue.QUEUE)
async def send_batch(campaign_id: int, slot: int = 0) -> None:
    del slot  # only part of the queueing lock: parallel batches of one campaign
    senders = current_senders()
    await retry_while_unreachable(
        lambda: dispatch.run_batch(get_engine(), senders, campaign_id), "send batch"
    )
    await retry_while_unreachable(lambda: flow.after_batch(campaign_id), "after batch")


@app.periodic(cron="* * * * *", periodic_id="messaging-sweep")
@app.task(name="messaging.sweep", queue=queue.QUEUE, queueing_lock="messaging-sweep")
async def sweep(timestamp: int) -> None:
    """Safety net, every minute: mend what dead workers left and start what is due."""
    del timestamp
    await retry_while_unreachable(run_sweep, "sweep")
