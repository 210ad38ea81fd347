"""One worker's providers (SMTP pool, Twilio client) and how a worker runs."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket

from rebook.channels.base import email_sender, whatsapp_sender
from rebook.config import Settings, get_settings
from rebook.db import get_engine
from rebook.delivery.engine import Senders

log = logging.getLogger("rebook.delivery")

FETCH_POLL_SECONDS = 0.5

_senders: Senders | None = None


def preload(settings: Settings) -> None:
    """Import now what a provider's SDK would import on its first call: the Twilio SDK loads
    its API classes lazily (~0.3 s with the event loop blocked), and messages already past
    their send slot would then reach Twilio late, together, above the rate limit."""
    if settings.whatsapp_backend == "twilio":
        importlib.import_module("twilio.rest.api.v2010.account")


def current_senders() -> Senders:
    global _senders
    if _senders is None:
        settings = get_settings()
        preload(settings)
        _senders = Senders(
            get_engine(), settings, email_sender(settings), whatsapp_sender(settings)
        )
    return _senders


async def close_senders() -> None:
    global _senders
    if _senders is not None:
        await _senders.aclose()
    _senders = None


async def run_worker(*, install_signal_handlers: bool = True, wait: bool = True) -> None:
    """Run a delivery worker until stopped: first mend what a dead worker left, then serve
    the job queue."""
    from rebook.delivery.tasks import run_sweep
    from rebook.jobs import app

    settings = get_settings()
    name = f"{socket.gethostname()}-{os.getpid()}"
    try:
        async with app.open_async():
            await run_sweep()
            log.info("delivery worker started", extra={"worker": name})
            await app.run_worker_async(
                queues=["messaging"],
                concurrency=settings.worker_concurrency,
                name=name,
                wait=wait,
                install_signal_handlers=install_signal_handlers,
                update_heartbeat_interval=min(10.0, settings.delivery_stale_after_seconds / 3),
                # A job deferred for later (a scheduled campaign's start) sends no notification
                # when it falls due: only polling finds it, so poll often enough for a
                # scheduled campaign to start within a second of its time.
                fetch_job_polling_interval=FETCH_POLL_SECONDS,
                delete_jobs="successful",
            )
    except asyncio.CancelledError:
        log.info("delivery worker stopping", extra={"worker": name})
        raise
    finally:
        await close_senders()
