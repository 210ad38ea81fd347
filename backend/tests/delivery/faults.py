"""Plumbing for the fault tests (a database restart, kill -9 of workers): large shops written
with SQL, real `rebook worker` / `rebook serve` processes, and the per-recipient count of what
reached the SMTP sink and the fake Twilio beside the recorded delivery states."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from rebook.db import get_sessionmaker
from tests.delivery.conftest import Shop
from tests.factories import create_owner, create_place
from tests.fakes.net import free_port

REBOOK = [sys.executable, "-c", "from rebook.cli import main; main()"]
FINAL = ("sent", "partially_failed", "failed", "cancelled")


async def bulk_shop(engine: AsyncEngine, customers: int, *, tag: str) -> Shop:
    """An owner, a place and `customers` consenting customers who booked there, each with an
    email address c<i>@<tag>.test and a WhatsApp number."""
    async with get_sessionmaker()() as session:
        owner = await create_owner(session)
        place = await create_place(session, owner, name="Salon Paris")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                """
                WITH people AS (
                  INSERT INTO users (email, first_name, last_name, phone, phone_e164, role,
                                     gdpr_marketing_consent, gdpr_marketing_consent_at)
                  SELECT 'c' || i || '@' || :tag || '.test', 'Client' || i, 'Fault',
                         '06' || lpad(i::text, 8, '0'), '+336' || lpad(i::text, 8, '0'),
                         'customer', true, now()
                  FROM generate_series(1, :n) AS i
                  RETURNING id)
                INSERT INTO bookings (place_id, user_id, starts_at, status)
                SELECT :place, id, now() - interval '30 days', 'completed' FROM people
                """
            ),
            {"tag": tag, "n": customers, "place": place.id},
        )
    return Shop(owner, place, [])


def rebook_env(database_url: str, **settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": "https://rebook.example",
        "LOG_LEVEL": "INFO",
        **settings,
    }


@dataclass
class Process:
    """A `rebook` command running in the background, its output kept in a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a supervisor stops it; its exit code."""
        if self.alive:
            self.popen.terminate()
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise


def spawn(name: str, args: list[str], env: dict[str, str]) -> Process:
    log = Path(tempfile.mkstemp(prefix=f"rebook-{name}-", suffix=".log")[1])
    with log.open("wb") as out:
        popen = subprocess.Popen([*REBOOK, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    return Process(name, popen, log)


def spawn_worker(env: dict[str, str], name: str = "worker") -> Process:
    return spawn(name, ["worker"], env)


async def spawn_serve(env: dict[str, str], *, worker: bool) -> Process:
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    process = spawn("serve", [*args, "--worker" if worker else "--no-worker"], env)
    process.port = port
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(300):
            assert process.alive, process.output()
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"rebook serve never answered\n{process.output()}")


async def wait_until_final(
    engine: AsyncEngine, campaign_id: int, timeout: float, processes: list[Process]
) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        try:
            async with engine.connect() as conn:
                status = await conn.scalar(
                    text("SELECT status FROM campaigns WHERE id = :id"), {"id": campaign_id}
                )
        except Exception:  # the database may still be coming back
            status = "?"
        if status in FINAL:
            return status
        await asyncio.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.output()}" for p in processes)
    raise AssertionError(f"campaign {campaign_id} still {status!r} after {timeout} s\n{logs}")


@dataclass
class Tally:
    """Per recipient: copies received at the provider beside the recorded delivery."""

    channel: str
    deliveries: int = 0
    states: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)  # sent, never received
    unflagged_duplicates: list[str] = field(default_factory=list)
    flagged: int = 0
    received_twice: int = 0
    extra: list[str] = field(default_factory=list)  # received, not recorded sent

    @property
    def ok(self) -> bool:
        return not (self.lost or self.unflagged_duplicates or self.extra)

    def line(self) -> str:
        states = ", ".join(f"{k} {v}" for k, v in sorted(self.states.items()))
        return (
            f"{self.channel}: {self.deliveries} deliveries ({states}); lost "
            f"{len(self.lost)}; received twice {self.received_twice} (flagged "
            f"possible_duplicate {self.flagged}, unflagged {len(self.unflagged_duplicates)}); "
            f"received but not recorded sent {len(self.extra)}"
        )


async def tally(
    engine: AsyncEngine, campaign_id: int, channel: str, received: Counter[str]
) -> Tally:
    """`received`: copies per address (email) or E.164 number (WhatsApp)."""
    address = "r.customer_email" if channel == "email" else "r.customer_phone_e164"
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    f"SELECT {address}, d.status, d.possible_duplicate "
                    "FROM campaign_deliveries d "
                    "JOIN campaign_recipients r ON r.id = d.recipient_id "
                    "WHERE d.campaign_id = :id AND d.channel = :channel"
                ),
                {"id": campaign_id, "channel": channel},
            )
        ).all()
    result = Tally(channel, deliveries=len(rows))
    recorded = set()
    for who, status, flagged in rows:
        recorded.add(who)
        result.states[status] += 1
        copies = received.get(who, 0)
        result.flagged += bool(flagged)
        if status == "sent" and copies == 0:
            result.lost.append(who)
        if copies > 1:
            result.received_twice += 1
            if not flagged:
                result.unflagged_duplicates.append(who)
        if copies and status != "sent":
            result.extra.append(who)
    result.extra += [who for who in received if who not in recorded]
    return result


def fresh_connections(base_url: str, headers: dict[str, str]) -> httpx.AsyncClient:
    """A client that opens a connection per request: a kept-alive one that the server closed
    while idle (uvicorn: after 5 s) would fail the first request made on it, whatever the
    server would have answered."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        timeout=10,
        limits=httpx.Limits(max_keepalive_connections=0),
    )
