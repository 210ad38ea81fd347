"""Delivery-engine benchmark (issue 4): `rebook worker` subprocesses against local providers.

    make bench-delivery            all three parts (each bounded, < 10 min in all)
    make bench-delivery-email      one worker over SMTP to a local aiosmtpd sink, beside a bare
                                   aiosmtplib loop with the same number of connections
    make bench-delivery-whatsapp   two workers against the local fake Twilio at 80/s
    make bench-delivery-memory     worker peak RSS at 10 k / 100 k / 1 M recipients; time from
                                   "send now" and from a scheduled time to the first message

(`cd backend && uv run --frozen python ../bench/delivery_bench.py [email|whatsapp|memory|all]`.)
Results are kept in var/bench-delivery.json, so parts can be run separately; every run prints
the table and rewrites only the "Delivery engine (issue 4)" section of docs/benchmarks.md.
All traffic stays on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import aiosmtplib
import delivery_data as data
import psutil
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "backend"))  # tests.fakes: the fake Twilio of the test suite

DOC = REPO / "docs" / "benchmarks.md"
RESULTS = REPO / "var" / "bench-delivery.json"
START = "<!-- delivery-engine-bench:start -->"
END = "<!-- delivery-engine-bench:end -->"
SINK = Path(__file__).with_name("delivery_sink.py")
DEFAULT_CONNECTIONS = 4  # SMTP_CONNECTIONS' default


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- processes -----------------------------------------------------------------------------


def cpu_of(proc: psutil.Process) -> float:
    """CPU seconds (user + system) a process has used so far."""
    times = proc.cpu_times()
    return float(times.user + times.system)


def postgres_cpu() -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL process (server, backends, helpers)."""
    used = {}
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "postgres":
            with suppress(psutil.Error):
                used[proc.pid] = cpu_of(proc)
    return used


def postgres_cpu_since(before: dict[int, float]) -> float:
    return sum(t - before.get(pid, 0.0) for pid, t in postgres_cpu().items())


@contextmanager
def smtp_sink(pipelining: bool) -> Iterator[tuple[int, psutil.Process]]:
    port = free_port()
    command = [sys.executable, str(SINK), str(port)]
    if not pipelining:
        command.append("--no-pipelining")
    sink = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    assert sink.stdout.readline().strip() == "ready"
    try:
        yield port, psutil.Process(sink.pid)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)


class Worker:
    """A `rebook worker` subprocess, its stderr in a temp file, its memory sampled."""

    worker_src: str | None = None  # --worker-src: run another checkout's engine
    profile: str | None = None  # --profile: py-spy samples each worker into <profile>.<pid>

    def __init__(self, **settings: str) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="rebook-worker-", suffix=".log")  # noqa: SIM115
        command = data.WORKER
        env = data.worker_env(**settings)
        if self.worker_src:
            env["PYTHONPATH"] = self.worker_src
        self.proc = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.ps = psutil.Process(self.proc.pid)
        if self.profile:
            # Stops, and writes its samples, when the worker exits.
            spy = ["py-spy", "record", "--pid", str(self.proc.pid), "--rate", "250", "--threads"]
            subprocess.Popen(
                [*spy, "--format", "raw", "--output", f"{self.profile}.{self.proc.pid}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        self.rss_samples: list[float] = []

    def sample(self) -> None:
        with suppress(psutil.NoSuchProcess):
            self.rss_samples.append(self.ps.memory_info().rss / 2**20)

    def peak_mb(self) -> float:
        """VmHWM: the kernel's peak resident set size of the process."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
        self.log.seek(0)
        tail = self.log.read()[-3000:].decode(errors="replace")
        self.log.close()
        return tail


async def wait_for_workers(engine: AsyncEngine, count: int) -> None:
    for _ in range(300):
        async with engine.connect() as conn:
            n = await conn.scalar(text("SELECT count(*) FROM procrastinate_workers"))
        if (n or 0) >= count:
            await asyncio.sleep(0.5)  # past its startup sweep
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the worker did not start")


async def wait_sent(
    engine: AsyncEngine,
    campaign_id: int,
    total: int,
    limit_s: float,
    workers: list[Worker],
) -> float:
    """Poll the campaign's counters until every delivery is final or `limit_s` passes;
    samples the workers' RSS meanwhile. Returns the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        for w in workers:
            w.sample()
            if w.proc.poll() is not None:
                raise RuntimeError(f"worker died:\n{w.stop()}")
        c = await data.counts(engine, campaign_id)
        if c.get("sent", 0) + c.get("failed", 0) + c.get("skipped", 0) >= total:
            break
        await asyncio.sleep(0.25)
    return time.monotonic() - began


def app_client() -> AsyncClient:
    from rebook.app import create_app

    app = create_app(frontend_dist=None)
    return AsyncClient(
        transport=ASGITransport(app=app, client=("127.0.0.1", 50000)),
        base_url="http://rebook.bench",
    )


# -- 1. email throughput ---------------------------------------------------------------------


def sample_email(i: int = 1) -> Any:
    """An OutgoingEmail as the engine would send it (same template, same size)."""
    from rebook.channels.base import OutgoingEmail
    from rebook.config import get_settings
    from rebook.messaging.rendering import Personalisation, render_email

    rendered = render_email(
        data.EMAIL_SUBJECT,
        data.EMAIL_BODY,
        Personalisation(1, i, f"Client{i}", "Bench", "Salon Bench"),
        get_settings(),
    )
    return OutgoingEmail(
        delivery_id=i,
        owner_id=1,
        to=f"c{i}@{data.DOMAIN}",
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        unsubscribe_url=rendered.unsubscribe_url,
        from_name="Salon Bench",
    )


def sample_message_bytes() -> bytes:
    """One message as the engine builds it, serialised."""
    from rebook.channels.mime import SenderIdentity, build_message
    from rebook.config import get_settings

    return build_message(sample_email(), SenderIdentity.from_settings(get_settings())).data


async def build_and_send_loop(port: int, connections: int, count: int) -> float:
    """A second reference: the same loop, but each message built by the app's own
    `build_message` (no database, no rendering). Returns messages/s."""
    from rebook.channels.mime import SenderIdentity, build_message
    from rebook.config import get_settings

    email_from = get_settings().email_from
    identity = SenderIdentity.from_settings(get_settings())
    outgoing = sample_email()
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(connections)]
    sender = parseaddr(email_from)[1]
    for c in clients:
        await c.connect()
    todo = iter(range(count))

    async def run(client: aiosmtplib.SMTP) -> None:
        for _ in todo:
            await client.sendmail(sender, [outgoing.to], build_message(outgoing, identity).data)

    began = time.perf_counter()
    await asyncio.gather(*(run(c) for c in clients))
    elapsed = time.perf_counter() - began
    for c in clients:
        await c.quit()
    return count / elapsed


async def bare_loop(port: int, connections: int, count: int) -> tuple[float, int]:
    """aiosmtplib alone: `connections` clients, each sending its share of `count` ready-made
    messages back to back. Returns (messages/s, message size)."""
    raw = sample_message_bytes()
    sender = parseaddr("Rebook <no-reply@rebook.test>")[1]
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(connections)]
    for c in clients:
        await c.connect()
    todo = iter(range(count))

    async def run(client: aiosmtplib.SMTP) -> None:
        for i in todo:
            await client.sendmail(sender, [f"c{i}@{data.DOMAIN}"], raw)

    began = time.perf_counter()
    await asyncio.gather(*(run(c) for c in clients))
    elapsed = time.perf_counter() - began
    for c in clients:
        await c.quit()
    return count / elapsed, len(raw)


async def measured_bare_loop(
    port: int, sink: psutil.Process, conns: int, n: int
) -> tuple[float, int, dict[str, float]]:
    """The bare loop, and the CPU per message (ms) of its client and of the sink."""
    me = psutil.Process()
    cpu = (cpu_of(me), cpu_of(sink))
    rate, size = await bare_loop(port, conns, n)
    used = {"client": cpu_of(me) - cpu[0], "sink": cpu_of(sink) - cpu[1]}
    print(f"  bare aiosmtplib loop: {rate:,.0f} msg/s ({size} bytes each)", flush=True)
    return rate, size, {k: v / n * 1000 for k, v in used.items()}


async def engine_round(
    engine: AsyncEngine, owner: int, place: int, args: Any, port: int, sink: psutil.Process
) -> dict[str, Any]:
    """One campaign of `--email-recipients` sent by a fresh `rebook worker`."""
    n, conns = args.email_recipients, args.smtp_connections
    async with app_client() as api:
        campaign = await data.create_campaign(api, engine, owner, place, n, "email")
        worker = Worker(
            EMAIL_BACKEND="smtp",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(port),
            SMTP_CONNECTIONS=str(conns),
            EMAIL_RATE_PER_SECOND="100000",
            **args.worker_settings,
        )
        try:
            await wait_for_workers(engine, 1)
            cpu = (cpu_of(worker.ps), cpu_of(sink))
            pg_before = postgres_cpu()
            posted = await data.send(api, owner, campaign)
            waited = await wait_sent(engine, campaign, n, 300, [worker])
            # CPU per message (ms) of each process taking part: which one the machine runs
            # out of.
            cpu_engine = {
                "worker": (cpu_of(worker.ps) - cpu[0]) / n * 1000,
                "sink": (cpu_of(sink) - cpu[1]) / n * 1000,
                "postgres": postgres_cpu_since(pg_before) / n * 1000,
            }
        finally:
            tail = worker.stop()
    first, last, sent = await data.send_times(engine, campaign)
    if sent < n:
        print(tail)
        raise RuntimeError(f"only {sent} of {n} sent in {waited:.0f} s")
    rate = (sent - 1) / (last - first)
    print(f"  engine: {rate:,.0f} msg/s", flush=True)
    return {
        "engine": rate,
        "engine_from_post": sent / (last - posted),
        "first_after_post": first - posted,
        "cpu_engine": cpu_engine,
        "peak_rss": max(worker.rss_samples),
    }


async def email_part(engine: AsyncEngine, owner: int, place: int, args: Any) -> dict[str, Any]:
    """`--rounds` engine runs, each between two runs of the bare loop (the machine is shared
    and its speed drifts); the round with the median ratio is reported, with every ratio."""
    n, conns = args.email_recipients, args.smtp_connections
    rounds = []
    with smtp_sink(not args.no_pipelining) as (port, sink):
        await bare_loop(port, conns, 500)  # warm up the sink
        before = await measured_bare_loop(port, sink, conns, n)
        for _ in range(args.rounds):
            run = await engine_round(engine, owner, place, args, port, sink)
            after = await measured_bare_loop(port, sink, conns, n)
            run |= {
                "bare": [before[0], after[0]],
                "size": before[1],
                "cpu_bare": before[2],
                "ratio": run["engine"] / ((before[0] + after[0]) / 2),
            }
            print(f"  → {run['ratio']:.0%} of the bare loop", flush=True)
            rounds.append(run)
            before = after
        built = await build_and_send_loop(port, conns, min(n, 5000))
        print(f"  aiosmtplib loop building each message: {built:,.0f} msg/s", flush=True)
    median = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
    return {
        "recipients": n,
        "connections": conns,
        "built": built,
        "ratios": [r["ratio"] for r in rounds],
        **median,
    }


# -- 2. WhatsApp rate ----------------------------------------------------------------------------


def max_window(times: list[float], width: float = 1.0) -> tuple[int, float]:
    """The most requests in any window [t, t + width) — sliding, starting at each request —
    and where the first such window starts (seconds after the first request)."""
    ordered = sorted(times)
    best, at, j = 0, 0.0, 0
    for i, t in enumerate(ordered):
        while j < len(ordered) and ordered[j] < t + width:
            j += 1
        if j - i > best:
            best, at = j - i, t - ordered[0]
    return best, at


async def whatsapp_part(engine: AsyncEngine, owner: int, place: int, args: Any) -> dict[str, Any]:
    from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_NUMBER, FakeTwilio

    rate, n = args.whatsapp_rate, args.whatsapp_recipients
    fake = FakeTwilio().start()
    workers: list[Worker] = []
    try:
        async with app_client() as api:
            campaign = await data.create_campaign(api, engine, owner, place, n, "whatsapp")
            settings = {
                "WHATSAPP_BACKEND": "twilio",
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TWILIO_WHATSAPP_NUMBER": WHATSAPP_NUMBER,
                "TWILIO_API_BASE_URL": fake.base_url,
                "WHATSAPP_RATE_PER_SECOND": str(rate),
                **args.worker_settings,
            }
            workers = [Worker(**settings) for _ in range(2)]
            await wait_for_workers(engine, 2)
            posted = await data.send(api, owner, campaign)
            waited = await wait_sent(engine, campaign, n, n / rate * 2 + 30, workers)
    finally:
        tails = [w.stop() for w in workers]
        fake.stop()
    times = sorted(r["at"] for r in fake.posts())
    RESULTS.with_name("bench-delivery-whatsapp-times.json").write_text(json.dumps(times))
    if len(times) < n:
        print("\n".join(tails))
        raise RuntimeError(f"only {len(times)} of {n} requests in {waited:.0f} s")
    achieved = (len(times) - 1) / (times[-1] - times[0])
    out = {
        "recipients": n,
        "rate": rate,
        "requests": len(times),
        "achieved": achieved,
        "ratio": achieved / rate,
        "max_window": max_window(times)[0],
        "max_window_at": max_window(times)[1],
        "first_after_post": times[0] - posted,
        "duration": times[-1] - times[0],
    }
    print(
        f"  achieved {achieved:.2f}/s ({out['ratio']:.1%} of {rate}/s); busiest 1-s window: "
        f"{out['max_window']} requests",
        flush=True,
    )
    return out


# -- 3. memory and latency ----------------------------------------------------------------------


async def memory_part(engine: AsyncEngine, owner: int, place: int, args: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"sizes": [], "cap_s": args.memory_cap}
    async with app_client() as api:
        for size in args.memory_sizes:
            await data.cleanup(engine)
            began = time.monotonic()
            campaign = await data.create_campaign(api, engine, owner, place, size, "email")
            print(f"  {size:,} recipients prepared in {time.monotonic() - began:.0f} s", flush=True)
            worker = Worker(EMAIL_BACKEND="outbox", EMAIL_RATE_PER_SECOND="100000")
            try:
                await wait_for_workers(engine, 1)
                idle = worker.peak_mb()
                posted = await data.send(api, owner, campaign)
                waited = await wait_sent(engine, campaign, size, args.memory_cap, [worker])
                peak = worker.peak_mb()
            finally:
                tail = worker.stop()
            first, last, sent = await data.send_times(engine, campaign)
            if not sent:
                print(tail)
                raise RuntimeError("nothing sent")
            row = {
                "size": size,
                "sent": sent,
                "seconds": waited,
                "complete": sent >= size,
                "idle_rss": idle,
                "peak_rss": peak,
                "first_after_post": first - posted,
                "rate": (sent - 1) / (last - first) if sent > 1 else 0.0,
            }
            out["sizes"].append(row)
            print(
                f"  {size:>9,}: {sent:,} sent in {waited:.0f} s, peak RSS {peak:.1f} MB "
                f"(idle {idle:.1f}), first message {row['first_after_post'] * 1000:.0f} ms "
                "after the POST",
                flush=True,
            )
        # A scheduled campaign: its first message, measured from its scheduled time.
        await data.cleanup(engine)
        out["scheduled"] = []
        worker = Worker(EMAIL_BACKEND="outbox", EMAIL_RATE_PER_SECOND="100000")
        try:
            await wait_for_workers(engine, 1)
            for lead in (3.0, 7.0, 12.0):
                campaign = await data.create_campaign(api, engine, owner, place, 1000, "email")
                when = datetime.now(UTC) + timedelta(seconds=lead)
                await data.schedule(api, owner, campaign, when)
                await data.send(api, owner, campaign, now=False)
                await wait_sent(engine, campaign, 1000, lead + 30, [worker])
                first, _, _ = await data.send_times(engine, campaign)
                late = first - when.timestamp()
                out["scheduled"].append({"lead": lead, "late": late})
                print(f"  scheduled {lead:.0f} s ahead: first message {late:.2f} s late")
        finally:
            worker.stop()
    return out


# -- report ------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    pg = subprocess.run(
        ["psql", data.database_url().replace("+asyncpg", ""), "-tAc", "SELECT version()"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "free": subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.rstrip(),
        "pg": pg,
        "python": platform.python_version(),
        "kernel": platform.platform(),
    }


def verdict(ok: bool) -> str:
    return "✅" if ok else "❌"


def rounds_note(run: dict[str, Any]) -> str:
    """The ratio of every round, when there were several (the median round is shown)."""
    ratios = run.get("ratios", [])
    if len(ratios) < 2:
        return ""
    return " (median of " + ", ".join(f"{r:.0%}" for r in ratios) + ")"


def table(results: dict[str, Any]) -> str:
    lines = [
        "| Measure | Result | Baseline / limit | Target | Met |",
        "|---|---:|---:|---|:-:|",
    ]
    if email := results.get("email"):
        bare = sum(email["bare"]) / 2
        lines.append(
            f"| Email, 1 worker, {email['connections']} SMTP connections, "
            f"{email['recipients']:,} recipients ({email['size']:,} B each) "
            f"| {email['engine']:,.0f} msg/s "
            f"| bare aiosmtplib loop {email['bare'][0]:,.0f} / {email['bare'][1]:,.0f} msg/s "
            f"(before / after) | ≥ 80 % of the bare loop: **{email['ratio']:.0%}**"
            f"{rounds_note(email)} | {verdict(email['engine'] >= 0.8 * bare)} |"
        )
        lines.append(
            f"| Second reference: aiosmtplib loop that builds each message with the app's "
            f"`build_message` (no DB, no rendering) | {email['built']:,.0f} msg/s "
            f"| | engine / this: {email['engine'] / email['built']:.0%} | |"
        )
        if (bare_cpu := email.get("cpu_bare")) and (engine_cpu := email.get("cpu_engine")):
            lines.append(
                f"| … CPU per message: worker {engine_cpu['worker']:.2f} ms, sink "
                f"{engine_cpu['sink']:.2f} ms, PostgreSQL {engine_cpu['postgres']:.2f} ms "
                f"| bare loop: client {bare_cpu['client']:.2f} ms, sink "
                f"{bare_cpu['sink']:.2f} ms | | |"
            )
        lines.append(
            f"| … counting from the POST …/send | {email['engine_from_post']:,.0f} msg/s "
            f"| first message {email['first_after_post'] * 1000:.0f} ms after the POST | | |"
        )
    for key in sorted(k for k in results if k.startswith("email_") and k.endswith("_connections")):
        more = results[key]
        lines.append(
            f"| Email, the same with {more['connections']} SMTP connections on both sides "
            f"| {more['engine']:,.0f} msg/s "
            f"| bare loop {more['bare'][0]:,.0f} / {more['bare'][1]:,.0f} msg/s "
            f"| **{more['ratio']:.0%}**{rounds_note(more)} | {verdict(more['ratio'] >= 0.8)} |"
        )
    if plain := results.get("email_no_pipelining"):
        lines.append(
            f"| Email, the same against a sink that does not offer PIPELINING "
            f"(`--no-pipelining`) | {plain['engine']:,.0f} msg/s "
            f"| bare loop {plain['bare'][0]:,.0f} / {plain['bare'][1]:,.0f} msg/s "
            f"| **{plain['ratio']:.0%}**{rounds_note(plain)} | {verdict(plain['ratio'] >= 0.8)} |"
        )
    if before := results.get("email_before"):
        lines.append(
            f"| Email, the engine before (same run conditions) "
            f"| {before['engine']:,.0f} msg/s "
            f"| bare loop {before['bare'][0]:,.0f} / {before['bare'][1]:,.0f} msg/s "
            f"| **{before['ratio']:.0%}**{rounds_note(before)} "
            f"| {verdict(before['ratio'] >= 0.8)} |"
        )
    if wa := results.get("whatsapp"):
        lines.append(
            f"| WhatsApp, 2 workers, fake Twilio, {wa['requests']:,} messages "
            f"over {wa['duration']:.0f} s | {wa['achieved']:.2f} msg/s "
            f"| limit {wa['rate']:g}/s | ≥ 95 % of the limit: **{wa['ratio']:.1%}** "
            f"| {verdict(wa['ratio'] >= 0.95)} |"
        )
        lines.append(
            f"| … busiest 1-second window (sliding) | {wa['max_window']} requests "
            f"| limit {wa['rate']:g} | none above the limit "
            f"| {verdict(wa['max_window'] <= wa['rate'])} |"
        )
    if wa := results.get("whatsapp_before"):
        lines.append(
            f"| WhatsApp, the engine before | {wa['achieved']:.2f} msg/s, "
            f"busiest second {wa['max_window']} requests | limit {wa['rate']:g}/s "
            f"| **{wa['ratio']:.1%}**, ≤ {wa['rate']:g} in any second "
            f"| {verdict(wa['ratio'] >= 0.95 and wa['max_window'] <= wa['rate'])} |"
        )
    if mem := results.get("memory"):
        for row in mem["sizes"]:
            how = (
                f"all {row['sent']:,} sent in {row['seconds']:.0f} s"
                if row["complete"]
                else f"{row['sent']:,} sent in the first {row['seconds']:.0f} s (capped)"
            )
            target = "≤ 150 MB" if row["size"] >= 1_000_000 else "flat in size"
            ok = row["peak_rss"] <= 150
            lines.append(
                f"| Worker peak RSS (VmHWM), {row['size']:,} recipients, outbox | "
                f"{row['peak_rss']:.1f} MB | idle worker {row['idle_rss']:.1f} MB; {how}, "
                f"{row['rate']:,.0f} msg/s | {target} | {verdict(ok)} |"
            )
        for row in mem["sizes"]:
            ms = row["first_after_post"] * 1000
            lines.append(
                f"| Send now → first message, {row['size']:,} recipients | {ms:.0f} ms "
                f"| | ≤ 1 s | {verdict(ms <= 1000)} |"
            )
        for row in mem["scheduled"]:
            lines.append(
                f"| Scheduled ({row['lead']:.0f} s ahead) → first message | "
                f"{row['late']:.2f} s after its time | | ≤ 2 s | "
                f"{verdict(0 <= row['late'] <= 2)} |"
            )
    return "\n".join(lines)


def section(results: dict[str, Any], notes: str) -> str:
    m = results["machine"]
    runs = "\n".join(f"- {part}: {when}" for part, when in sorted(results["when"].items()))
    return f"""{START}
## Delivery engine (issue 4)

Figures from `bench/delivery_bench.py`, run with (each part bounded, well under 10 minutes):

```
make bench-delivery-email      # or: make bench-delivery  (all three parts)
make bench-delivery-whatsapp
make bench-delivery-memory
```

(`cd backend && uv run --frozen python ../bench/delivery_bench.py email|whatsapp|memory|all`;
database `rebook_bench_delivery` on 127.0.0.1:5432, or `DATABASE_URL`; customers generated
once with `INSERT … SELECT generate_series` by `bench/delivery_data.py`.)

Runs (UTC):
{runs}

**Machine**: {m["nproc"]} CPUs ({m["cpu"]}), shared and noisy; {m["kernel"]}, Python
{m["python"]}; {m["pg"]}, default settings. Everything — PostgreSQL, the worker(s), the SMTP
sink / fake Twilio and the benchmark driver — shares these {m["nproc"]} CPUs.

```
{m["free"]}
```

**How**: every worker is a real `rebook worker` subprocess (procrastinate, its own engine). A
campaign is created through the API, its recipients and deliveries inserted with SQL, and it is
sent with `POST /api/v1/owner/campaigns/{{id}}/send` through the app (in-process ASGI). Rates
come from the deliveries' `sent_at` (committed after the provider answered); the WhatsApp
rate and windows from the fake Twilio's own request timestamps.

{table(results)}

{notes}
{END}
"""


NOTES = """**Email.** The sink is aiosmtpd in its own process (`bench/delivery_sink.py`, counts and
drops); it offers PIPELINING, as most relays do, except in the `--no-pipelining` row. The
bare loop sends the same serialised message (built once by the engine's own
`build_message` from the same template) with `aiosmtplib.SMTP.sendmail` over the same number of
connections, before and after the worker's run; the ratio is against their mean. The worker
renders and builds each message, commits `sending` + `provider_call_at` before each SMTP call
and the outcome after it (through its journal, see below). Worker settings:
EMAIL_BACKEND=smtp, SMTP_CONNECTIONS=4, EMAIL_RATE_PER_SECOND=100000 (so the limit does not
bind), the rest at their defaults
(DELIVERY_BATCH_SIZE=100, DELIVERY_PARALLEL_BATCHES=4, WORKER_CONCURRENCY=4, LOG_LEVEL=INFO).

**WhatsApp.** Two `rebook worker` processes share the limit through `send_rate_slots`; the
fake is `backend/tests/fakes/twilio.py` (uvicorn, in the benchmark process). Achieved rate =
(requests - 1) / (last - first request); the window count slides over every request.

**Memory.** The outbox backend (a row per message in `outbox_messages`), so nothing but the
engine is measured. VmHWM from `/proc/<pid>/status` of the worker process; "idle" is the worker
after start-up, before the campaign is sent (its imports: ~88 MB; with WHATSAPP_BACKEND=twilio
the Twilio SDK, loaded at start-up, adds ~16 MB). The 100 k and 1 M runs are capped (the cap is
in the table): RSS is measured while that campaign is being sent, which is when the engine
holds chunks, connections and tasks; nothing in the engine grows with the campaign (it claims
`DELIVERY_BATCH_SIZE` rows at a time and reads counts from `campaign_delivery_counts`).
Scheduled: a 1 000-recipient campaign scheduled a few seconds ahead with an idle worker; "late"
= first `sent_at` - scheduled time.
"""


def write_doc(results: dict[str, Any]) -> None:
    body = section(results, NOTES)
    current = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if START in current and END in current:
        head, rest = current.split(START, 1)
        _, tail = rest.split(END, 1)
        new = head + body.rstrip("\n") + tail
    else:
        new = current.rstrip("\n") + "\n\n" + body
    DOC.write_text(new)
    print(f"\nUpdated the 'Delivery engine (issue 4)' section of {DOC.relative_to(REPO)}.")


async def run(parts: list[str], args: Any, url: str) -> None:
    engine = data.bench_engine(url)
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.setdefault("when", {})
    try:
        wanted = max([args.email_recipients, args.whatsapp_recipients, *args.memory_sizes])
        owner, place = 0, 0
        if parts:
            needed = max(args.email_recipients, args.whatsapp_recipients)
            owner, place = await data.ensure_customers(
                engine, wanted if "memory" in parts else needed
            )
        for part in parts:
            await data.cleanup(engine)
            print(f"\n== {part} ==", flush=True)
            fn = {"email": email_part, "whatsapp": whatsapp_part, "memory": memory_part}[part]
            key = part
            if args.worker_src:
                key = f"{part}_before"
            elif part == "email" and args.no_pipelining:
                key = "email_no_pipelining"
            elif part == "email" and args.smtp_connections != DEFAULT_CONNECTIONS:
                key = f"email_{args.smtp_connections}_connections"
            results[key] = await fn(engine, owner, place, args)
            results["when"][key] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
        await data.cleanup(engine)
    finally:
        await engine.dispose()
    results["machine"] = machine()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    print()
    print(table(results))
    if not args.no_doc:
        write_doc(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["email", "whatsapp", "memory", "all", "report"])
    parser.add_argument("--email-recipients", type=int, default=10_000)
    parser.add_argument(
        "--smtp-connections",
        type=int,
        default=DEFAULT_CONNECTIONS,
        help="on both sides; other than the default, results are kept as email_<N>_connections",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="engine runs, each between two bare-loop runs"
    )
    parser.add_argument("--whatsapp-recipients", type=int, default=2_400)
    parser.add_argument("--whatsapp-rate", type=float, default=80.0)
    parser.add_argument(
        "--memory-sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10_000, 100_000, 1_000_000],
    )
    parser.add_argument("--memory-cap", type=float, default=60.0)
    parser.add_argument("--set", action="append", default=[], help="worker setting NAME=VALUE")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument(
        "--no-pipelining",
        action="store_true",
        help="the email sink does not offer PIPELINING; results are kept as email_no_pipelining",
    )
    parser.add_argument(
        "--worker-src",
        help="run the workers from this backend/src (e.g. an export of the engine before the "
        "changes); results are kept as <part>_before",
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="sample each worker with py-spy (on PATH) into PATH.<pid>; implies --no-doc",
    )
    args = parser.parse_args()
    args.worker_settings = dict(s.split("=", 1) for s in args.set)
    Worker.worker_src = args.worker_src
    Worker.profile = args.profile
    args.no_doc = args.no_doc or bool(args.profile)
    parts = {"all": ["email", "whatsapp", "memory"], "report": []}.get(args.part, [args.part])
    url = data.prepare_database()
    asyncio.run(run(parts, args, url))


if __name__ == "__main__":
    main()
