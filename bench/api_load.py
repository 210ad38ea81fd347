"""Load benchmark (issue 16): 50 owners at once on one `rebook serve --no-worker` while a
campaign sends on a `rebook worker`, over the data of messaging_data.py.

    make bench-api     (cd backend && uv run --frozen python ../bench/api_load.py)

Each simulated owner is a loop of real HTTP requests (a connection of its own, a real owner
token) that lists customers, searches, pages on by cursor, reads its campaign's stats and a
page of its recipients, in turn. Phases, each on the same running server and worker:

  quiet          no load: the campaign's send rate without it (also measured last, again)
  different      50 owners, each on a campaign of its own, 1 s between an answer and the
                 next request (an owner reads, then clicks)
  same           50 owners on the campaign that is sending, 1 s between requests
  same, no pause 50 owners on the sending campaign, back to back: the most the server does

Per phase: requests/s, p50/p95/p99 per endpoint, errors, and the CPU (in cores) of the
server, the worker, the database's backends of this database and this process. `--before
REF` runs the same phases, in the same run, on the server and worker of another commit (its
`backend/src` from `git archive`, on this schema). Rewrites its section of
docs/benchmarks.md; the database is `DATABASE_URL`, else `rebook_bench` on 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from httpx import ASGITransport
from messaging_api import Capture, choose_select_all_places
from messaging_data import Target, ensure_data
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from rebook import db
from rebook.app import create_app
from rebook.auth.tokens import create_access_token
from rebook.config import get_settings
from rebook.messaging import recipient_selection
from rebook.models import Campaign

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
RESULTS = REPO / "var" / "bench-api.json"
START = "<!-- api-load-bench:start -->"
END = "<!-- api-load-bench:end -->"
COMMAND = "make bench-api"
API = "/api/v1/owner/campaigns"
LOAD_VERSION = 1
OWNERS = 50
OWN_CAMPAIGN_RECIPIENTS = 4_000
PAUSE_SECONDS = 1.0
TARGET_P95_MS = 200.0
SEND_RATE_TOLERANCE = 0.05
# The worker's limits: what it sends when nothing slows it (outbox backends).
EMAIL_RATE = 100
WHATSAPP_RATE = 50
SELECT_ALL_RUNS = 3
SELECT_ALL_TARGET_MS = 2000.0
SEARCHES = ["mar", "dura", "bernard1", "orange.fr", "lea", "nguyen", "sophie", "lucas"]
ENDPOINTS = ["customers", "search", "customers (cursor)", "stats", "recipients"]
SERVER = [sys.executable, "-c", "from rebook.cli import main; main()", "serve", "--no-worker"]
WORKER = [sys.executable, "-c", "from rebook.cli import main; main()", "worker"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def cpu_seconds(proc: psutil.Process) -> float:
    with suppress(psutil.Error):
        times = proc.cpu_times()
        return float(times.user + times.system)
    return 0.0


# -- data ----------------------------------------------------------------------------------


async def ensure_load_data(conn: asyncpg.Connection, meta: dict[str, Any]) -> dict[str, Any]:
    """50 campaigns of OWN_CAMPAIGN_RECIPIENTS recipients each (one per simulated owner, all
    owner A's, finished, with a spread of outcomes), generated once and kept."""
    raw = await conn.fetchval("SELECT value FROM bench_meta WHERE key = 'api_load'")
    load: dict[str, Any] = json.loads(raw) if raw else {}
    if load.get("version") == LOAD_VERSION:
        return load
    print("Generating the load benchmark's 50 campaigns …", flush=True)
    campaigns = []
    async with conn.transaction():
        for i in range(OWNERS):
            campaign_id = await conn.fetchval(
                "INSERT INTO campaigns (owner_id, name, campaign_type, status, config) "
                "VALUES ($1, $2, 'messaging', 'sent', '{\"channels\": [\"email\", \"whatsapp\"]}')"
                " RETURNING id",
                meta["owner_a"],
                f"Owner {i + 1}'s newsletter",
            )
            await conn.execute(
                "INSERT INTO campaign_places (campaign_id, place_id) SELECT $1, unnest($2::int[])",
                campaign_id,
                meta["places_a"],
            )
            await conn.execute(
                "INSERT INTO campaign_recipients (campaign_id, user_id, place_id, "
                "customer_first_name, customer_last_name, customer_email, customer_phone, "
                "customer_phone_e164) SELECT $1, id, $2, first_name, last_name, email, phone, "
                "phone_e164 FROM users WHERE role = 'customer' ORDER BY id OFFSET $3 LIMIT $4",
                campaign_id,
                meta["places_a"][0],
                i * OWN_CAMPAIGN_RECIPIENTS,
                OWN_CAMPAIGN_RECIPIENTS,
            )
            await conn.execute(
                """
                INSERT INTO campaign_deliveries (campaign_id, recipient_id, channel, status,
                    attempts, error_code, error_message, sent_at)
                SELECT $1, id, ch, st, CASE WHEN st IN ('sent', 'failed') THEN 1 ELSE 0 END,
                       CASE WHEN st = 'failed' THEN '30003' END,
                       CASE WHEN st = 'failed' THEN 'Unreachable destination handset' END,
                       CASE WHEN st = 'sent' THEN now() - interval '1 day' END
                FROM (SELECT r.id, c.ch, CASE WHEN random() < 0.85 THEN 'sent'
                             WHEN random() < 0.4 THEN 'failed' ELSE 'skipped' END AS st
                      FROM campaign_recipients r
                      CROSS JOIN (VALUES ('email'), ('whatsapp')) c(ch)
                      WHERE r.campaign_id = $1) s
                """,
                campaign_id,
            )
            campaigns.append(campaign_id)
        load = {"version": LOAD_VERSION, "campaigns": campaigns, "send_campaign": None}
        await save_load_meta(conn, load)
    await conn.execute("VACUUM ANALYZE campaign_recipients, campaign_deliveries")
    return load


async def save_load_meta(conn: asyncpg.Connection, load: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO bench_meta (key, value) VALUES ('api_load', $1) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        json.dumps(load),
    )


async def create_send_campaign(
    client: httpx.AsyncClient, meta: dict[str, Any], target: Target
) -> int:
    """The campaign that sends during the run: everyone of owner A's 20 places (through the
    API: ~134 000 recipients, ~268 000 deliveries)."""
    created = await client.post(
        API,
        json={
            "name": "Sends during the load benchmark",
            "campaign_type": "messaging",
            "place_ids": meta["places_a"],
            "messaging_config": {
                "channels": ["email", "whatsapp"],
                "email_subject": "{{ first_name }}, we miss you at {{ place_name }}",
                "email_body": "<p>Hello {{ first_name }}, come back to {{ place_name }}.</p>",
                "whatsapp_message": "Hi {{ first_name }}, 20% off at {{ place_name }}.",
            },
        },
    )
    created.raise_for_status()
    campaign_id = int(created.json()["id"])
    added = await client.post(
        f"{API}/{campaign_id}/recipients", json={"select_all": {}}, timeout=600
    )
    added.raise_for_status()
    # Whatever the app left to a background job is written now (no worker runs yet).
    engine = create_async_engine(target.sqlalchemy_url)
    db.set_engine(engine)
    async with db.session_scope() as session:
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        await recipient_selection.prepare_deliveries(session, campaign)
    await db.dispose_engine()
    return campaign_id


async def reset_send_campaign(conn: asyncpg.Connection, campaign_id: int) -> int:
    """Put the sending campaign back as a draft whose deliveries are pending (those skipped
    when added stay skipped): every run sends the same campaign from its start."""
    await conn.execute(
        "DELETE FROM procrastinate_jobs WHERE (args->>'campaign_id')::int = $1", campaign_id
    )
    await conn.execute(
        """
        UPDATE campaign_deliveries
        SET status = 'pending', attempts = 0, earlier_attempts = 0, next_attempt_at = NULL,
            provider_call_at = NULL, provider_message_id = NULL, provider_status = NULL,
            error_code = NULL, error_message = NULL, sent_at = NULL, cost = NULL,
            possible_duplicate = false
        WHERE campaign_id = $1 AND status IN ('sending', 'sent', 'failed', 'cancelled')
        """,
        campaign_id,
    )
    await conn.execute("UPDATE campaigns SET status = 'draft' WHERE id = $1", campaign_id)
    await conn.execute("TRUNCATE outbox_messages")
    await conn.execute("VACUUM ANALYZE campaign_deliveries, outbox_messages")
    pending: int = await conn.fetchval(
        "SELECT coalesce(sum(count), 0) FROM campaign_delivery_counts "
        "WHERE campaign_id = $1 AND status = 'pending'",
        campaign_id,
    )
    return pending


async def sent_so_far(conn: asyncpg.Connection, campaign_id: int) -> int:
    return int(
        await conn.fetchval(
            "SELECT coalesce(sum(count), 0) FROM campaign_delivery_counts "
            "WHERE campaign_id = $1 AND status = 'sent'",
            campaign_id,
        )
    )


# -- select everyone matching ------------------------------------------------------------------

SELECT_ALL = {"select_all": {"filter_by": "all", "search": None, "exclude_user_ids": []}}


@dataclass
class SelectAll:
    """Select everyone matching (≥ 100 000 customers) on a draft, through the server, beside
    the bare INSERT … SELECT that this code's app sends for it, in turn."""

    recipients: int = 0
    app: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    # CPU seconds of each run: the server and this database's backends (nothing else runs
    # on them meanwhile); the bare statement's backend. A busy machine stretches the times
    # above, much less these.
    app_cpu: list[float] = field(default_factory=list)
    raw_cpu: list[float] = field(default_factory=list)


async def capture_select_all(target: Target, meta: dict[str, Any]) -> tuple[str, list[Any]]:
    """The statement this code's app sends for select-all, captured on its engine (in this
    process, through the ASGI app) once; the selection is removed again."""
    engine = create_async_engine(target.sqlalchemy_url, pool_size=2)
    db.set_engine(engine)
    capture = Capture(engine)
    conn = await asyncpg.connect(target.dsn)
    try:
        await choose_select_all_places(conn, engine, meta)
        campaign = meta["select_all_campaign"]
        await conn.execute("DELETE FROM campaign_recipients WHERE campaign_id = $1", campaign)
        token = create_access_token(meta["owner_a"], get_settings())
        app = create_app(frontend_dist=None)
        async with httpx.AsyncClient(
            transport=ASGITransport(app=app),
            base_url="http://bench",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        ) as client:
            with capture.recording() as statements:
                (
                    await client.post(f"{API}/{campaign}/recipients", json=SELECT_ALL)
                ).raise_for_status()
        statement, params = Capture.find(statements, r"INSERT INTO campaign_recipients")
        await conn.execute("DELETE FROM campaign_recipients WHERE campaign_id = $1", campaign)
        return statement, list(params)
    finally:
        await conn.close()
        await db.dispose_engine()


async def time_select_all(
    base_url: str,
    token: str,
    target: Target,
    campaign: int,
    statement: tuple[str, list[Any]],
    server: Process,
) -> SelectAll:
    conn = await asyncpg.connect(target.dsn)
    # The app runs the statement with JIT off (SET LOCAL): so does the bare statement.
    await conn.execute("SET jit = off")
    own_backend = psutil.Process(await conn.fetchval("SELECT pg_backend_pid()"))
    database = make_url(target.sqlalchemy_url).database or ""
    result = SelectAll()

    async def app_cpu() -> float:
        pids = await backend_pids(conn, database)
        backends = sum(cpu_seconds(psutil.Process(p)) for p in pids if psutil.pid_exists(p))
        return server.cpu() + backends

    async def clear() -> None:
        # Vacuumed away, so that every run inserts into the same tables.
        await conn.execute("DELETE FROM campaign_recipients WHERE campaign_id = $1", campaign)
        await conn.execute("VACUUM campaign_recipients, campaign_deliveries")

    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as client:
            for _ in range(SELECT_ALL_RUNS):
                await clear()
                cpu = await app_cpu()
                started = time.perf_counter()
                response = await client.post(f"{API}/{campaign}/recipients", json=SELECT_ALL)
                result.app.append((time.perf_counter() - started) * 1000)
                result.app_cpu.append(await app_cpu() - cpu)
                response.raise_for_status()
                result.recipients = int(response.json()["added"])
                await clear()
                cpu = cpu_seconds(own_backend)
                started = time.perf_counter()
                await conn.execute(statement[0], *statement[1])
                result.raw.append((time.perf_counter() - started) * 1000)
                result.raw_cpu.append(cpu_seconds(own_backend) - cpu)
        await clear()
    finally:
        await conn.close()
    return result


# -- processes -------------------------------------------------------------------------------


class Process:
    """A `rebook` subprocess (server or worker) with its log in a temporary file."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="rebook-load-", suffix=".log")  # noqa: SIM115
        self.proc = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log)
        self.ps = psutil.Process(self.proc.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.ps)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.seek(0)
        tail = self.log.read()[-3000:].decode(errors="replace")
        self.log.close()
        return tail


def environment(target: Target, src: str | None, **settings: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": target.dsn,
        "PUBLIC_BASE_URL": "https://rebook.example",
        "EMAIL_BACKEND": "outbox",
        "WHATSAPP_BACKEND": "outbox",
        "EMAIL_RATE_PER_SECOND": str(EMAIL_RATE),
        "WHATSAPP_RATE_PER_SECOND": str(WHATSAPP_RATE),
        "LOG_LEVEL": "WARNING",
        **settings,
    }
    if src:
        env["PYTHONPATH"] = src
    return env


async def wait_until_up(base_url: str, server: Process) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(300):
            if server.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{server.stop()}")
            with suppress(httpx.TransportError):
                if (await client.get("/healthz", timeout=1)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


async def backend_pids(conn: asyncpg.Connection, database: str) -> list[int]:
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )
    return [r["pid"] for r in rows]


# -- load ------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    seconds: float
    pause: float | None  # None: no load at all
    same_campaign: bool = False
    owners: int = OWNERS
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    sent: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    load_average: str = ""

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + sum(self.errors.values())

    @property
    def send_rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0


class Owner:
    """One simulated owner: the next request in turn, its answer, a pause, and again."""

    def __init__(self, n: int, campaign_id: int, places: list[int]) -> None:
        self.n = n
        self.campaign_id = campaign_id
        self.places = places
        self.step = n  # owners start at different points of the round
        self.cursor: str | None = None
        self.recipients_cursor: str | None = None

    def next_request(self) -> tuple[str, str, list[tuple[str, Any]]]:
        kind = ENDPOINTS[self.step % len(ENDPOINTS)]
        lap = self.step // len(ENDPOINTS)
        self.step += 1
        places = [("place_ids", p) for p in self.places]
        customers = f"{API}/messaging/customers"
        if kind == "customers":
            return kind, customers, [*places, ("limit", 50)]
        if kind == "search":
            search = SEARCHES[(self.n + lap) % len(SEARCHES)]
            return kind, customers, [*places, ("limit", 50), ("search", search)]
        if kind == "customers (cursor)":
            params = [*places, ("limit", 50)]
            return kind, customers, params + ([("cursor", self.cursor)] if self.cursor else [])
        if kind == "stats":
            return kind, f"{API}/{self.campaign_id}/messaging-stats", []
        # The recipients modal: a page of 25, now and then filtered by a status; pages 2-4
        # after the previous page's cursor, as the web app asks for them (a server without
        # cursors gives none: then by page number).
        page = 1 + lap % 4
        params: list[tuple[str, Any]] = [("limit", 25), ("page", page)]
        if lap // 4 % 3 == 2:
            params.append(("status", "sent"))
        if page > 1 and self.recipients_cursor:
            params.append(("cursor", self.recipients_cursor))
        return kind, f"{API}/{self.campaign_id}/recipients", params

    async def run(self, client: httpx.AsyncClient, phase: Phase, until: float) -> None:
        if phase.pause:
            await asyncio.sleep(random.uniform(0, phase.pause))
        while time.monotonic() < until:
            kind, url, params = self.next_request()
            started = time.perf_counter()
            try:
                response = await client.get(url, params=params)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code} {response.text[:200]}")
                if kind.startswith("customers"):
                    self.cursor = response.json().get("next_cursor")
                if kind == "recipients":
                    self.recipients_cursor = response.json().get("next_cursor")
                phase.latencies.setdefault(kind, []).append(elapsed)
            except Exception as exc:
                phase.errors[kind] = phase.errors.get(kind, 0) + 1
                if len(phase.error_samples) < 5:
                    phase.error_samples.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
            if phase.pause:
                await asyncio.sleep(phase.pause)


async def run_phase(
    phase: Phase,
    base_url: str,
    token: str,
    campaigns: list[int],
    send_campaign: int,
    places: list[int],
    conn: asyncpg.Connection,
    database: str,
    processes: dict[str, Process],
) -> None:
    me = psutil.Process()
    machine_before = psutil.cpu_times()
    pids = {pid: psutil.Process(pid) for pid in await backend_pids(conn, database)}
    cpu_before = {name: p.cpu() for name, p in processes.items()}
    cpu_before["this process (load generator)"] = cpu_seconds(me)
    pg_before = {pid: cpu_seconds(p) for pid, p in pids.items()}
    sent_before = await sent_so_far(conn, send_campaign)
    started = time.monotonic()
    until = started + phase.seconds
    if phase.pause is None:
        await asyncio.sleep(phase.seconds)
    else:
        limits = httpx.Limits(max_connections=OWNERS, max_keepalive_connections=OWNERS)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, limits=limits, timeout=60
        ) as client:
            owners = [
                Owner(n, send_campaign if phase.same_campaign else campaigns[n], places)
                for n in range(phase.owners)
            ]
            await asyncio.gather(*(o.run(client, phase, until) for o in owners))
    phase.elapsed = time.monotonic() - started
    phase.sent = await sent_so_far(conn, send_campaign) - sent_before
    for name, p in processes.items():
        phase.cpu[name] = (p.cpu() - cpu_before[name]) / phase.elapsed
    phase.cpu["this process (load generator)"] = (
        cpu_seconds(me) - cpu_before["this process (load generator)"]
    ) / phase.elapsed
    for pid in await backend_pids(conn, database):
        pids.setdefault(pid, psutil.Process(pid)) if psutil.pid_exists(pid) else None
    # A backend that ended may have handed its pid to a new one: that one counts from zero.
    pg = 0.0
    for pid, proc in pids.items():
        now = cpu_seconds(proc)
        pg += now - pg_before.get(pid, 0.0) if now >= pg_before.get(pid, 0.0) else now
    phase.cpu["PostgreSQL (this database's backends)"] = pg / phase.elapsed
    phase.load_average = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    machine_after = psutil.cpu_times()
    busy = sum(machine_after) - sum(machine_before)
    idle = (machine_after.idle + machine_after.iowait) - (
        machine_before.idle + machine_before.iowait
    )
    # Everything that ran on the machine meanwhile, this benchmark and the rest.
    phase.cpu["machine (all processes)"] = (busy - idle) / phase.elapsed
    print(
        f"  {phase.name}: {phase.requests / phase.elapsed:.1f} req/s, "
        f"send {phase.send_rate:.1f}/s, errors {sum(phase.errors.values())}, "
        + ", ".join(f"{k} p95 {pct(v, 95):.0f} ms" for k, v in sorted(phase.latencies.items())),
        flush=True,
    )


async def run_version(
    label: str,
    src: str | None,
    target: Target,
    meta: dict[str, Any],
    load: dict[str, Any],
    conn: asyncpg.Connection,
    seconds: float,
    quiet_seconds: float,
    select_all: tuple[str, list[Any]],
) -> tuple[list[Phase], SelectAll]:
    """One server and one worker of this code: select-all timed on the server alone; then the
    campaign sent from its start, and the phases."""
    send_campaign: int = load["send_campaign"]
    pending = await reset_send_campaign(conn, send_campaign)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = Process(SERVER, environment(target, src, HOST="127.0.0.1", PORT=str(port)))
    worker: Process | None = None
    try:
        await wait_until_up(base_url, server)
        token = create_access_token(meta["owner_a"], get_settings())
        selected = await time_select_all(
            base_url, token, target, meta["select_all_campaign"], select_all, server
        )
        print(
            f"{label}: select-all of {selected.recipients:,}: app {selected.app} ms "
            f"(CPU {selected.app_cpu} s), bare INSERT … SELECT {selected.raw} ms "
            f"(CPU {selected.raw_cpu} s)",
            flush=True,
        )
        worker = Process(WORKER, environment(target, src))
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
            sent = await client.post(
                f"{API}/{send_campaign}/send", params={"send_immediately": "true"}
            )
            sent.raise_for_status()
        # Until the worker sends at its limits (the start job, the first batches).
        for _ in range(600):
            if await sent_so_far(conn, send_campaign) > 2 * (EMAIL_RATE + WHATSAPP_RATE):
                break
            if worker.proc.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{worker.stop()}")
            await asyncio.sleep(0.1)
        await asyncio.sleep(3)
        print(f"{label}: {pending:,} deliveries to send; server pid {server.proc.pid}", flush=True)
        database = make_url(target.sqlalchemy_url).database or ""
        processes = {"server": server, "worker": worker}
        phases = [
            Phase("quiet (before)", quiet_seconds, None),
            # Each request alone, in the same conditions: the latency the others are held to.
            Phase("1 owner, own campaign, back to back", quiet_seconds, 0.0, owners=1),
            Phase("50 owners, own campaigns, 1 s pauses", seconds, PAUSE_SECONDS),
            Phase("50 owners, the sending campaign, 1 s pauses", seconds, PAUSE_SECONDS, True),
            Phase("50 owners, the sending campaign, no pauses", seconds, 0.0, True),
            Phase("quiet (after)", quiet_seconds, None),
        ]
        for phase in phases:
            await run_phase(
                phase,
                base_url,
                token,
                load["campaigns"],
                send_campaign,
                meta["places_a"],
                conn,
                database,
                processes,
            )
        return phases, selected
    finally:
        tails = [("server", server.stop())]
        if worker is not None:
            tails.append(("worker", worker.stop()))
        for name, tail in tails:
            if "Traceback" in tail:
                print(f"--- {name} log (tail) ---\n{tail}", flush=True)


def export_source(ref: str) -> str:
    """`backend/src` of commit `ref`, extracted into a temporary folder (kept until exit)."""
    folder = tempfile.mkdtemp(prefix="rebook-before-")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "backend/src"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return str(Path(folder) / "backend" / "src")


# -- report ----------------------------------------------------------------------------------

HOW = """One `rebook serve --no-worker` (uvicorn, one process, its default pool of 10 + 10
connections) and one `rebook worker` (outbox backends, limits {email} emails/s and {whatsapp}
WhatsApp/s) run on the benchmark data of `bench/messaging_data.py` (1 M bookings); the worker
sends a campaign of all owner A's customers ({recipients:,} recipients, both channels), reset to
a draft at the start of each run. {owners} simulated owners (owner A's token and 20 places:
200 000 customers) each hold an HTTP connection and run, in turn: the customers' first page,
a search (“{searches}”), the next page by cursor, their campaign's stats and a page of its
recipients (25 a page, pages 1-4, each after the previous one's cursor, one walk in three
filtered on `sent`). "Own campaigns": {owners}
finished campaigns of {own:,} recipients, one per owner; "the sending campaign": all on the one
the worker sends. Phases of 60 s (20 s for the quiet ones and the one-owner baseline) follow
each other on the same server and worker; the send rate is the deliveries marked sent during
the phase, against the mean of the two quiet phases. CPU: the server's and the worker's
processes, this database's PostgreSQL backends (`pg_stat_activity`), the load generator (this
process), and everything on the machine. `--before REF` runs the same phases on the server and
worker of commit REF (`git archive` of its `backend/src`) on this schema, in the same run.
Before each version's worker starts, its server selects everyone matching on a draft of ≥ 100 000
customers {select_all_runs} times, each run beside the bare INSERT … SELECT that this code's app
sends for it (captured once, in this process); time and CPU (server and this database's
backends; the bare statement's backend). The code before runs on this schema too, so its
selection also has the references checked per statement (ADR 014)."""


def verdicts(phases: list[Phase]) -> tuple[float, list[tuple[Phase, float, bool, bool]]]:
    quiet = [p.send_rate for p in phases if p.pause is None]
    baseline = sum(quiet) / len(quiet)
    out = []
    for p in phases:
        if p.pause is None or p.owners < OWNERS:
            continue
        ratio = p.send_rate / baseline if baseline else 0.0
        latency_ok = all(pct(v, 95) <= TARGET_P95_MS for v in p.latencies.values())
        out.append((p, ratio, latency_ok, ratio >= 1 - SEND_RATE_TOLERANCE))
    return baseline, out


def phase_table(phases: list[Phase], loaded_only: bool = False) -> str:
    """The phases' figures; `loaded_only`: the 50-owner phases alone (the send rate still
    against all quiet ones)."""
    baseline, _ = verdicts(phases)
    lines = [
        "| Phase | req/s | errors | "
        + " | ".join(ENDPOINTS)
        + " | send rate | server CPU per request | CPU (cores) |",
        "|---|---:|---:|" + "---:|" * len(ENDPOINTS) + "---:|---:|---|",
    ]
    for p in phases:
        if loaded_only and (p.pause is None or p.owners < OWNERS):
            continue
        if p.pause is None:
            cells = ["-"] * len(ENDPOINTS)
            rate = f"{p.send_rate:.1f}/s"
            requests = "-"
            per_request = "-"
        else:
            cells = []
            for kind in ENDPOINTS:
                v = p.latencies.get(kind, [])
                mark = "" if pct(v, 95) <= TARGET_P95_MS else " ❌"
                cells.append(f"{pct(v, 50):.0f} / {pct(v, 95):.0f} / {pct(v, 99):.0f}{mark}")
            ratio = p.send_rate / baseline if baseline else 0.0
            mark = "✅" if ratio >= 1 - SEND_RATE_TOLERANCE else "❌"
            rate = f"{p.send_rate:.1f}/s ({100 * ratio:.0f} %) {mark}"
            requests = f"{p.requests / p.elapsed:.1f}"
            # Less sensitive to a busy machine than latency: what one request costs the server.
            per_request = (
                f"{1000 * p.cpu.get('server', 0.0) * p.elapsed / max(p.requests, 1):.1f} ms"
            )
        cpu = ", ".join(f"{k.split(' ')[0]} {max(v, 0):.2f}" for k, v in p.cpu.items())
        errors = "-" if p.pause is None else str(sum(p.errors.values()))
        lines.append(
            f"| {p.name} | {requests} | {errors} | "
            + " | ".join(cells)
            + f" | {rate} | {per_request} | {cpu} |"
        )
    return "\n".join(lines)


def phase_summary(phases: list[Phase]) -> str:
    """The 50-owner phases in a few words: the worst p95, CPU per request, send rate."""
    baseline, _ = verdicts(phases)
    parts = []
    for p in phases:
        if p.pause is None or p.owners < OWNERS:
            continue
        worst = max(pct(v, 95) for v in p.latencies.values()) if p.latencies else float("nan")
        per_request = 1000 * p.cpu.get("server", 0.0) * p.elapsed / max(p.requests, 1)
        rate = 100 * p.send_rate / baseline if baseline else 0.0
        parts.append(
            f"{p.name[len('50 owners, ') :]}: {p.requests / p.elapsed:.1f} req/s, worst p95 "
            f"{worst:.0f} ms, server {per_request:.1f} ms CPU per request, send {rate:.0f} %"
        )
    return "; ".join(parts)


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "kernel": platform.platform(),
        "python": platform.python_version(),
    }


def select_all_lines(selections: dict[str, SelectAll]) -> tuple[str, bool]:
    """One line per version (p50 and max of the runs, seconds), and whether this code met
    ≤ 2 s in every run."""
    lines = []
    for label, s in selections.items():
        lines.append(
            f"* {label}: {s.recipients:,} recipients + {2 * s.recipients:,} deliveries in "
            f"{pct(s.app, 50) / 1000:.2f} s p50, {max(s.app) / 1000:.2f} s max "
            f"({len(s.app)} runs; CPU {pct(s.app_cpu, 50):.2f} s); the bare INSERT … SELECT "
            f"of the same rows {pct(s.raw, 50) / 1000:.2f} s p50, {max(s.raw) / 1000:.2f} s max "
            f"(CPU {pct(s.raw_cpu, 50):.2f} s)."
        )
    ours = next(iter(selections.values()), None)
    return "\n".join(lines), bool(ours and ours.app and max(ours.app) <= SELECT_ALL_TARGET_MS)


def report(
    results: dict[str, list[Phase]],
    selections: dict[str, SelectAll],
    pg_version: str,
    load: dict[str, Any],
    started: str,
    command: str,
) -> None:
    m = machine()
    sections = []
    # This code's phases in full; the others' 50-owner phases in one line each (every phase
    # of each version in the detail doc).
    errors_here = ""
    for n, (label, phases) in enumerate(results.items()):
        errors = [e for p in phases for e in p.error_samples]
        samples = "; ".join(f"`{e}`" for e in errors[:3])
        if n == 0:
            sections.append(f"**{label}**\n\n{phase_table(phases)}")
            errors_here = f"Errors (first ones): {samples}. " if errors else ""
            continue
        summary = phase_summary(phases)
        failed = f"; errors (first ones): {samples}" if errors else ""
        idle = all(p.send_rate == 0 for p in phases)
        # An older worker whose statements this schema no longer has sends nothing: its
        # phases then ran without the sender's load, and only the latencies compare.
        no_sender = (
            " Its worker sent nothing on this schema, so its phases ran without a sending "
            "worker: its latencies are the lighter case."
            if idle
            else ""
        )
        sections.append(f"**{label}**, same run: {summary}{failed}.{no_sender}")
    now = results[next(iter(results))]
    _, checked = verdicts(now)
    paced = [c for c in checked if c[0].pause]
    met = all(ok and rate_ok and not p.errors for p, _, ok, rate_ok in paced)
    verdict = "✅ met" if met else "❌ not all met"
    ours = [
        sum(v for k, v in p.cpu.items() if not k.startswith("machine"))
        for phases in results.values()
        for p in phases
        if p.pause is not None
    ]
    machine_cpu = [
        p.cpu.get("machine (all processes)", 0.0)
        for ps in results.values()
        for p in ps
        if p.pause is not None
    ]
    busy = ""
    if machine_cpu and min(machine_cpu) >= 0.9 * int(m["nproc"]):
        server = [p.cpu.get("server", 0.0) for ps in results.values() for p in ps if p.pause]
        per_request = [
            1000 * p.cpu.get("server", 0.0) * p.elapsed / max(p.requests, 1)
            for ps in results.values()
            for p in ps
            if p.pause
        ]
        capacity = min(server) * 1000 / max(per_request)
        busy = (
            f"The machine's {m['nproc']} cores were busy throughout (machine ≥ "
            f"{min(machine_cpu):.2f} cores in every loaded phase) while this benchmark's "
            f"processes used {min(ours):.2f}-{max(ours):.2f}: the rest was other work on the "
            f"machine. The server got {min(server):.2f}-{max(server):.2f} of a core, at "
            f"{min(per_request):.0f}-{max(per_request):.0f} ms of CPU per request a capacity "
            f"of ~{capacity:.0f} requests/s, below the ~45/s that 50 paced owners ask for, so "
            "their requests queued: latencies here measure the queue, CPU per request and the "
            "comparison with the code before, in the same run, are what these figures show.\n"
        )
    sending = load.get("send_recipients", 0)
    tolerance = 100 * SEND_RATE_TOLERANCE
    selected, selected_ok = select_all_lines(selections)
    selected_verdict = "✅ met" if selected_ok else "❌ not met"
    loads = [float(p.load_average.split(" / ")[0]) for ps in results.values() for p in ps]
    load_range = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "?"
    rates = f"{EMAIL_RATE} + {WHATSAPP_RATE}"
    target = f"{TARGET_P95_MS:.0f}"
    limit = f"{SELECT_ALL_TARGET_MS / 1000:.0f}"
    pct_ = f"{tolerance:.0f}"
    select_all_head = (
        "Select everyone matching on a draft through the server (before the worker starts), "
        "each run beside the bare statement"
    )
    text = f"""{START}
## 50 owners at once (issue 16)

{started}, `{command}`; {m["nproc"]} CPUs ({m["cpu"]}), shared: 1-min load average {load_range}
at the phases' ends; {pg_version.split(" on ")[0]}. One server, one worker sending {sending:,}
recipients at {rates}/s (outbox); {OWNERS} owners cycle customers, search, next page, stats and
recipients (pages by cursor) on their own campaigns or the sending one, 1 s apart (or not).
p50 / p95 / p99 ms (❌ p95 > {target} ms); send rate against the quiet phases (❌ > {pct_} %
lower). Method, every phase, load averages: `docs/benchmarks-api-load.md`.

{chr(10).join(s + chr(10) for s in sections)}
Targets for the paced phases of this code (0 errors, p95 ≤ {TARGET_P95_MS:.0f} ms everywhere,
send rate within {tolerance:.0f} %): {verdict}. {errors_here}{busy}{select_all_head}
(≤ {limit} s: {selected_verdict}):
{selected}
{END}
"""
    write_section(text)
    detail = REPO / "docs" / "benchmarks-api-load.md"
    lines = [
        "# 50 owners at once: how it runs, per-phase detail",
        "",
        f"Written by `{command}` on {started} ({m['kernel']}, Python {m['python']}).",
        "",
        HOW.format(
            owners=OWNERS,
            email=EMAIL_RATE,
            whatsapp=WHATSAPP_RATE,
            recipients=load.get("send_recipients", 0),
            own=OWN_CAMPAIGN_RECIPIENTS,
            select_all_runs=SELECT_ALL_RUNS,
            searches="”, “".join(SEARCHES),
        ),
        "",
        "Requests, errors, load average (1 / 5 / 15 min) at the end of each phase, CPU in cores.",
        "",
    ]
    for label, phases in results.items():
        lines += [f"## {label}", "", phase_table(phases), ""]
        lines += ["| Phase | requests | errors | load average | CPU |"]
        lines.append("|---|---:|---:|---|---|")
        for p in phases:
            cpu = ", ".join(f"{k} {v:.2f}" for k, v in p.cpu.items())
            lines.append(
                f"| {p.name} | {p.requests} | {sum(p.errors.values())} | {p.load_average} | {cpu} |"
            )
        lines.append("")
    detail.write_text("\n".join(lines))
    print(text)


def write_section(body: str) -> None:
    current = DOC.read_text()
    if START in current and END in current:
        head, rest = current.split(START, 1)
        _, tail = rest.split(END + "\n", 1)
        DOC.write_text(head + body + tail)
    else:
        DOC.write_text(current.rstrip("\n") + "\n\n" + body)


async def main_async(args: argparse.Namespace) -> None:
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    target, meta = await ensure_data()
    conn = await asyncpg.connect(target.dsn)
    try:
        load = await ensure_load_data(conn, meta)
        pg_version = await conn.fetchval("SELECT version()")
        get_settings.cache_clear()
        if not load.get("send_campaign"):
            load["send_campaign"] = await prepare_send_campaign(target, meta)
            load["send_recipients"] = await conn.fetchval(
                "SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1",
                load["send_campaign"],
            )
            await save_load_meta(conn, load)
        statement = await capture_select_all(target, meta)
        results: dict[str, list[Phase]] = {}
        selections: dict[str, SelectAll] = {}
        versions: list[tuple[str, str | None]] = [("This code", None)]
        if args.before:
            commit = subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", args.before],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            label = args.before if commit.startswith(args.before) else f"{args.before} ({commit})"
            versions.append((f"Before: {label}", export_source(commit)))
        for label, src in versions:
            results[label], selections[label] = await run_version(
                label, src, target, meta, load, conn, args.seconds, args.quiet_seconds, statement
            )
        await reset_send_campaign(conn, load["send_campaign"])
    finally:
        await conn.close()
    command = COMMAND + (f' BENCH_API_ARGS="--before {args.before}"' if args.before else "")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "started": started,
                "command": command,
                "pg_version": pg_version,
                "load": load,
                "results": {k: [asdict(p) for p in v] for k, v in results.items()},
                "select_all": {k: asdict(v) for k, v in selections.items()},
            }
        )
    )
    report(results, selections, pg_version, load, started, command)


def report_again() -> None:
    """Write the docs again from the last run's results (var/bench-api.json)."""
    saved = json.loads(RESULTS.read_text())
    results = {k: [Phase(**p) for p in v] for k, v in saved["results"].items()}
    selections = {k: SelectAll(**v) for k, v in saved.get("select_all", {}).items()}
    report(
        results, selections, saved["pg_version"], saved["load"], saved["started"], saved["command"]
    )


async def prepare_send_campaign(target: Target, meta: dict[str, Any]) -> int:
    """Create the sending campaign through a server of this code (once; kept)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = Process(SERVER, environment(target, None, HOST="127.0.0.1", PORT=str(port)))
    try:
        await wait_until_up(base_url, server)
        token = create_access_token(meta["owner_a"], get_settings())
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
            return await create_send_campaign(client, meta, target)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of a loaded phase")
    parser.add_argument("--quiet-seconds", type=float, default=20, help="length of a quiet one")
    parser.add_argument("--before", help="also run the phases on this commit's server/worker")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the docs from var/bench-api.json"
    )
    args = parser.parse_args()
    if args.report_only:
        report_again()
    else:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
