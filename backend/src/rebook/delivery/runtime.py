"""One worker's providers (SMTP pool, Twilio client), how a worker runs, and its sweep."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import socket
import time
from collections.abc import Coroutine, Iterator
from typing import Any

from rebook.channels.backends import email_sender, whatsapp_sender
from rebook.config import Settings, get_settings
from rebook.db import get_engine, is_unreachable
from rebook.delivery import recovery
from rebook.delivery.calls import Senders
from rebook.jobs import app

log = logging.getLogger("rebook.delivery")

FETCH_POLL_SECONDS = 0.5
# procrastinate's worker, stopped by a failure, starts again after this, doubled each time
# up to the maximum; after a good run the wait starts short again.
RESTART_FIRST_SECONDS = 0.5
RESTART_MAX_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0

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
    """Run a delivery worker until stopped (SIGINT or SIGTERM, or cancelled): first mend what
    a dead worker left, then serve the job queue.

    It outlives the database: statements wait for it to come back (`db.retry_while_unreachable`,
    `jobs.Connector`), and should procrastinate's worker stop all the same (a database error
    where a statement cannot be repeated, or any failure of its own), a new one starts after
    a backoff, mending first what the old one left. So it ends only when stopped (or, with
    `wait=False`, when the queue is empty), or by raising an error that is not the database
    being away: a worker that quietly returns, exit status 0, is restarted by no supervisor."""
    settings = get_settings()
    name = f"{socket.gethostname()}-{os.getpid()}"
    stop = asyncio.Event()
    handlers = _stop_on_signals(stop) if install_signal_handlers else contextlib.nullcontext()
    delay = RESTART_FIRST_SECONDS
    try:
        with handlers:
            while True:
                started = time.monotonic()
                failure = await _until(stop, _serve(name, settings, wait=wait))
                if stop.is_set() or (failure is None and not wait):
                    break
                if failure is not None and not is_unreachable(failure):
                    raise failure
                if time.monotonic() - started > HEALTHY_AFTER_SECONDS:
                    delay = RESTART_FIRST_SECONDS
                log.error(
                    "delivery worker stopped unexpectedly; starting again",
                    extra={"worker": name, "in_seconds": delay},
                    exc_info=failure,
                )
                with contextlib.suppress(Exception):
                    await _close_app()  # a pool whose opening failed is not reused
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
                delay = min(delay * 2, RESTART_MAX_SECONDS)
        log.info("delivery worker stopped", extra={"worker": name})
    except asyncio.CancelledError:
        log.info("delivery worker stopping", extra={"worker": name})
        raise
    finally:
        await close_senders()


async def _serve(name: str, settings: Settings, *, wait: bool) -> None:
    async with app.open_async():
        await run_sweep()
        log.info("delivery worker started", extra={"worker": name})
        await app.run_worker_async(
            queues=["messaging"],
            concurrency=settings.worker_concurrency,
            name=name,
            wait=wait,
            install_signal_handlers=False,  # ours stop it (`_stop_on_signals`)
            update_heartbeat_interval=min(10.0, settings.delivery_stale_after_seconds / 3),
            # A job deferred for later (a scheduled campaign's start) sends no notification
            # when it falls due: only polling finds it, so poll often enough for a
            # scheduled campaign to start within a second of its time.
            fetch_job_polling_interval=FETCH_POLL_SECONDS,
            delete_jobs="successful",
        )


async def _close_app() -> None:
    await app.close_async()


async def _until(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> BaseException | None:
    """Run `work` until it ends (its exception, if any) or `stop` is set: then cancel it,
    which procrastinate's worker takes as a request to stop (it finishes its jobs)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
        await asyncio.wait({task})
    if task.cancelled():
        return None
    return task.exception()


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT or SIGTERM: stop after the running jobs; a second one: the default (quit)."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def on_signal() -> None:
        for sig in signals:
            loop.remove_signal_handler(sig)
        stop.set()

    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def run_sweep() -> None:
    """Needs the jobs app open (it is, inside a worker)."""
    await recovery.resolve_stale_deliveries(get_engine(), current_senders())
    await recovery.retry_stalled_jobs(app, get_settings())
    await recovery.plan_missing_jobs()
