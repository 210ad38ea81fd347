"""Rendering never stalls the API: a real `rebook serve` answers /healthz within 50 ms at the
99th percentile while clients save and preview hostile and worst-case content side by side."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from rebook.db import get_sessionmaker
from rebook.models import CampaignMessage
from tests.delivery.conftest import TABLES
from tests.factories import auth_headers, create_customer, create_owner, create_place
from tests.messaging.conftest import BASE, messaging_payload
from tests.messaging.test_owner_content import HOSTILE, HOSTILE_BODIES

# A timed figure, published by `make bench-latency`; not part of `make test`.
pytestmark = pytest.mark.latency

log = logging.getLogger("tests.render_isolation")
# Two owners at once, each saving or previewing as fast as the server answers.
CLIENTS = 2
IDLE_SECONDS = 1.0
WINDOW_SECONDS = 4.0
WINDOWS = 3
PROBE_EVERY = 0.02
# The largest body an owner may save, full of variables and defaults: the worst accepted.
PARAGRAPH = '<p>Hello {{ first_name | default("there") | title }}, see you at {{ place_name }}!</p>'
FILLER = "<p>" + "Plenty of words an owner might write. " * 2500
WORST_BODY = (PARAGRAPH * 50 + FILLER)[: 100_000 - 4] + "</p>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    headers: dict[str, str]
    place_id: int
    legacy_campaign_id: int
    worst_campaign_id: int


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncIterator[tuple[dict[str, str], int]]:
    async with get_sessionmaker()() as session:  # the factories commit
        owner = await create_owner(session)
        place = await create_place(session, owner, name="Salon Paris")
        for i in range(20):
            await create_customer(session, first_name=f"Client{i}", booked_at=[place])
    yield auth_headers(owner), place.id
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def server(
    database_url: str, seeded: tuple[dict[str, str], int], tmp_path: Any
) -> AsyncIterator[Server]:
    headers, place_id = seeded
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "HOST": "127.0.0.1", "PORT": str(port)}
    env |= {"LOG_LEVEL": "WARNING", "EMAIL_BACKEND": "outbox", "WHATSAPP_BACKEND": "outbox"}
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", "from rebook.cli import main; main()", "serve", "--no-worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "serve.log").read_text()) from None
                await asyncio.sleep(0.2)
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            legacy = (await client.post(BASE, json=messaging_payload([place_id]))).json()["id"]
            worst = await client.post(
                BASE, json=messaging_payload([place_id], email_body=WORST_BODY)
            )
            assert worst.status_code == 201, worst.text
            await client.post(f"{BASE}/{legacy}/recipients", json={"select_all": {}})
        # Saved before today's checks: the preview must refuse it without running it.
        async with get_sessionmaker()() as session:
            await session.execute(
                update(CampaignMessage)
                .where(CampaignMessage.campaign_id == legacy, CampaignMessage.channel == "email")
                .values(subject=HOSTILE["huge power"], message_body=HOSTILE["for loops"])
            )
            await session.commit()
        yield Server(url, headers, place_id, legacy, worst.json()["id"])
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def _probe(url: str, stop: threading.Event, latencies: list[float]) -> None:
    """GET /healthz every PROBE_EVERY seconds on one kept-alive connection, from its own
    thread so the load's clients never delay a measurement."""
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(PROBE_EVERY)


def _requests(server: Server) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    place = [server.place_id]
    hostile = [*HOSTILE.values(), *HOSTILE_BODIES.values()]
    for source in itertools.cycle(hostile):
        field = "email_body" if len(source) > 255 else "email_subject"
        yield "POST", BASE, messaging_payload(place, **{field: source})
        yield "POST", BASE, messaging_payload(place, whatsapp_message=source[:1600])
        yield "POST", f"{BASE}/{server.legacy_campaign_id}/preview", {}
        yield "POST", f"{BASE}/{server.worst_campaign_id}/preview", {}
        yield "POST", BASE, messaging_payload(place, email_body=WORST_BODY)


def _p99(latencies: list[float]) -> float:
    # Fewer than two answers in a window: the event loop was held for most of it.
    return (
        statistics.quantiles(latencies, n=100, method="inclusive")[98]
        if len(latencies) > 1
        else float("inf")
    )


def _percentiles(latencies: list[float]) -> str:
    if len(latencies) < 2:
        return "(no answers to measure)"
    p50 = statistics.median(latencies) * 1000
    return (
        f"p50 {p50:.1f} ms, p99 {_p99(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )


async def test_healthz_stays_fast_while_hostile_content_is_saved_and_previewed(
    server: Server,
) -> None:
    """Owners keep saving and previewing hostile content while /healthz is probed. The
    machine is shared, so a window whose p99 is over the bound is measured again (up to
    WINDOWS times); before the fix every window was seconds over (one save held the event
    loop for 4 s)."""
    latencies: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=_probe, args=(server.url, stop, latencies))
    statuses: dict[int, int] = {}
    requests = _requests(server)
    loaded = asyncio.Event()

    async def client() -> None:
        async with httpx.AsyncClient(
            base_url=server.url, headers=server.headers, timeout=60
        ) as http:
            while not loaded.is_set():
                method, path, body = next(requests)
                try:
                    status = (await http.request(method, path, json=body)).status_code
                except httpx.TransportError:
                    status = 0  # no answer: the server dropped the connection
                statuses[status] = statuses.get(status, 0) + 1

    # One pass over every request first, so what is measured is the steady state and not
    # the server's first-use caches (compiled SQL, imports on first use).
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=60) as http:
        for _ in range(5 * len(HOSTILE) + 5 * len(HOSTILE_BODIES)):
            method, path, body = next(requests)
            await http.request(method, path, json=body)
    prober.start()
    report = []
    try:
        await asyncio.sleep(IDLE_SECONDS)
        idle, latencies[:] = list(latencies), []
        report.append(f"idle: {len(idle)} probes, {_percentiles(idle)}")
        clients = [asyncio.create_task(client()) for _ in range(CLIENTS)]
        for _ in range(WINDOWS):
            await asyncio.sleep(WINDOW_SECONDS)
            window, latencies[:] = list(latencies), []
            report.append(f"under hostile load: {len(window)} probes, {_percentiles(window)}")
            if _p99(window) < 0.050:
                break
        loaded.set()
        await asyncio.gather(*clients)
    finally:
        stop.set()
        prober.join()
    report.append(f"{sum(statuses.values())} hostile requests, by status {statuses}")
    # The figures for docs/reliability.md: pytest … -o log_cli=true --log-cli-level=WARNING
    log.warning("/healthz %s", "; ".join(report))

    assert set(statuses) <= {200, 201, 422}, statuses  # always an answer, never a 5xx
    assert statuses.get(422, 0) >= 20  # the hostile content was really tried
    assert len(window) >= 100
    assert _p99(window) < 0.050, report
