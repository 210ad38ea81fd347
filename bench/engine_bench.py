"""Rates and cancel of the delivery engine (issue 12, items 1 and 13): real `rebook worker`
subprocesses against an SMTP sink and a fake Twilio, each in a process of its own that records
when every message arrived.

    make bench-rates    email and WhatsApp at 14, 100, 200 and 300/s, two workers: achieved
                        rate over the whole campaign, busiest 1-second window
    make bench-cancel   a campaign on both channels at 14/s, 80/s and unthrottled, cancelled
                        through the API 2 s after "send now": what arrived after the answer

(`cd backend && uv run --frozen python ../bench/engine_bench.py rates|cancel [options]`.)
Database as for bench/delivery_bench.py. Results go to var/bench-engine.json and are printed;
docs/reliability.md ("Engine") quotes them."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import delivery_data as data
from delivery_bench import Worker, app_client, free_port, machine, max_window, wait_for_workers
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "var" / "bench-engine.json"
UNTHROTTLED = 100_000.0


class Sink:
    """A provider stand-in in its own process; `arrivals()` once stopped."""

    def __init__(self, command: list[str]) -> None:
        self.times = Path(tempfile.mkstemp(prefix="rebook-arrivals-", suffix=".json")[1])
        self.proc = subprocess.Popen(
            [sys.executable, *command, str(self.times)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.ready = self.proc.stdout.readline().split()

    def stop(self) -> list[float]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        arrivals: list[float] = sorted(json.loads(self.times.read_text() or "[]"))
        self.times.unlink()
        return arrivals


def smtp_sink() -> tuple[Sink, dict[str, str]]:
    port = free_port()
    sink = Sink([str(HERE / "delivery_sink.py"), str(port), "--times"])
    return sink, {
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
    }


def twilio_sink() -> tuple[Sink, dict[str, str]]:
    from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_NUMBER

    sink = Sink([str(HERE / "twilio_sink.py")])
    return sink, {
        "WHATSAPP_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_NUMBER": WHATSAPP_NUMBER,
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{sink.ready[1]}",
    }


@asynccontextmanager
async def workers(engine: AsyncEngine, count: int, **settings: str) -> AsyncIterator[list[Worker]]:
    started = [Worker(**settings) for _ in range(count)]
    try:
        await wait_for_workers(engine, count)
        yield started
    finally:
        for w in started:
            w.stop()


async def settled(engine: AsyncEngine, campaign_id: int, limit_s: float) -> None:
    """Wait until no delivery of the campaign is pending or sending (or `limit_s`)."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        c = await data.counts(engine, campaign_id)
        if not c.get("pending", 0) and not c.get("sending", 0):
            return
        await asyncio.sleep(0.25)


# -- rates ------------------------------------------------------------------------------------


async def rate_run(
    engine: AsyncEngine, owner: int, place: int, channel: str, rate: float, args: Any
) -> dict[str, Any]:
    n = max(int(rate * args.seconds), 50)
    sink, settings = smtp_sink() if channel == "email" else twilio_sink()
    key = "EMAIL_RATE_PER_SECOND" if channel == "email" else "WHATSAPP_RATE_PER_SECOND"
    try:
        async with (
            app_client() as api,
            workers(engine, args.workers, **settings, **{key: str(rate)}) as running,
        ):
            campaign = await data.create_campaign(api, engine, owner, place, n, channel)
            await data.send(api, owner, campaign)
            began = time.monotonic()
            while time.monotonic() - began < n / rate * 2 + 30:
                for w in running:
                    if w.proc.poll() is not None:
                        raise RuntimeError(f"worker died:\n{w.stop()}")
                c = await data.counts(engine, campaign)
                if c.get("sent", 0) + c.get("failed", 0) >= n:
                    break
                await asyncio.sleep(0.25)
    finally:
        arrivals = sink.stop()
    await data.cleanup(engine)
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    busiest, at = max_window(arrivals)
    # The rate in each 5-second stretch: a campaign that slows down part-way shows here.
    stretches = []
    t = arrivals[0]
    while t < arrivals[-1]:
        stretches.append(sum(t <= a < t + 5 for a in arrivals) / 5)
        t += 5
    out = {
        "channel": channel,
        "rate": rate,
        "messages": len(arrivals),
        "expected": n,
        "seconds": arrivals[-1] - arrivals[0],
        "achieved": achieved,
        "ratio": achieved / rate,
        "max_window": busiest,
        "max_window_at": at,
        "per_5s": stretches,
    }
    print(
        f"  {channel:8} {rate:>5.0f}/s: {len(arrivals)} messages in {out['seconds']:.1f} s, "
        f"{achieved:.1f}/s = {out['ratio']:.1%}; busiest 1-s window {busiest} "
        f"(at {at:.1f} s); per 5 s: {' '.join(f'{r:.0f}' for r in stretches)}",
        flush=True,
    )
    return out


async def rates(engine: AsyncEngine, owner: int, place: int, args: Any) -> dict[str, Any]:
    runs = []
    for channel in args.channels:
        for rate in args.rates:
            runs.append(await rate_run(engine, owner, place, channel, rate, args))
    return {"workers": args.workers, "runs": runs}


# -- cancel -----------------------------------------------------------------------------------


async def cancel_run(
    engine: AsyncEngine, owner: int, place: int, rate: float, args: Any
) -> dict[str, Any]:
    n = args.cancel_recipients if rate < UNTHROTTLED else args.cancel_recipients_unthrottled
    email_sink, email_settings = smtp_sink()
    wa_sink, wa_settings = twilio_sink()
    settings = {
        **email_settings,
        **wa_settings,
        "EMAIL_RATE_PER_SECOND": str(rate),
        "WHATSAPP_RATE_PER_SECOND": str(rate),
    }
    answer: dict[str, Any] = {}
    try:
        async with app_client() as api:
            campaign = await data.create_campaign(api, engine, owner, place, n, "email")
            await both_channels(api, engine, owner, campaign)
            async with workers(engine, args.workers, **settings):
                await data.send(api, owner, campaign)
                await asyncio.sleep(args.cancel_after)
                response = await api.post(
                    f"{data.API}/{campaign}/cancel", headers=data.owner_headers(owner)
                )
                answered = time.time()
                assert response.status_code == 200, response.text
                answer = response.json()
                await settled(engine, campaign, 60)
                await asyncio.sleep(1)
            final = await data.counts(engine, campaign)
    finally:
        email = email_sink.stop()
        whatsapp = wa_sink.stop()
    await data.cleanup(engine)
    after = {
        "email": sum(t > answered for t in email),
        "whatsapp": sum(t > answered for t in whatsapp),
    }
    out = {
        "rate": rate,
        "recipients": n,
        "arrived": {"email": len(email), "whatsapp": len(whatsapp)},
        "after_answer": after,
        "under_way": answer.get("messages_under_way"),
        "final": final,
    }
    label = "unthrottled" if rate >= UNTHROTTLED else f"{rate:.0f}/s"
    print(
        f"  {label:>11}: {n} customers x 2 channels; arrived {len(email)} emails, "
        f"{len(whatsapp)} WhatsApp; after the cancel's answer: email {after['email']}, "
        f"WhatsApp {after['whatsapp']} (answer said under way: {out['under_way']}); "
        f"recorded {final}",
        flush=True,
    )
    return out


async def both_channels(api: Any, engine: AsyncEngine, owner: int, campaign: int) -> None:
    """Add WhatsApp to an email campaign: the message, and a delivery per recipient."""
    headers = data.owner_headers(owner)
    current = (await api.get(f"{data.API}/{campaign}", headers=headers)).json()
    config = current["messaging_config"] | {
        "channels": ["email", "whatsapp"],
        "whatsapp_message": data.WHATSAPP_MESSAGE,
    }
    patched = await api.patch(
        f"{data.API}/{campaign}", json={"messaging_config": config}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO campaign_deliveries (campaign_id, recipient_id, channel, status) "
                "SELECT :c, id, 'whatsapp', 'pending' FROM campaign_recipients "
                "WHERE campaign_id = :c AND customer_phone_e164 IS NOT NULL "
                "ON CONFLICT DO NOTHING"
            ),
            {"c": campaign},
        )
        await data.open_whatsapp_windows(conn, campaign)


async def cancel(engine: AsyncEngine, owner: int, place: int, args: Any) -> dict[str, Any]:
    runs = [await cancel_run(engine, owner, place, rate, args) for rate in args.cancel_rates]
    return {"workers": args.workers, "cancel_after": args.cancel_after, "runs": runs}


# -- main -------------------------------------------------------------------------------------


async def run(part: str, args: Any, url: str) -> None:
    engine = data.bench_engine(url)
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    try:
        wanted = max(
            [args.cancel_recipients_unthrottled, *(int(r * args.seconds) for r in args.rates)]
        )
        owner, place = await data.ensure_customers(engine, wanted)
        await data.cleanup(engine)
        fn = {"rates": rates, "cancel": cancel}[part]
        print(f"== {part} ==", flush=True)
        results[part] = await fn(engine, owner, place, args)
        results[part]["when"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        results[part]["machine"] = machine()
    finally:
        await engine.dispose()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["rates", "cancel"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--channels", nargs="+", default=["email", "whatsapp"])
    parser.add_argument("--rates", type=float, nargs="+", default=[14, 100, 200, 300])
    parser.add_argument("--seconds", type=float, default=20, help="length of each rate run")
    parser.add_argument("--cancel-rates", type=float, nargs="+", default=[14, 80, UNTHROTTLED])
    parser.add_argument("--cancel-recipients", type=int, default=400)
    parser.add_argument("--cancel-recipients-unthrottled", type=int, default=5000)
    parser.add_argument("--cancel-after", type=float, default=2.0)
    args = parser.parse_args()
    url = data.prepare_database()
    asyncio.run(run(args.part, args, url))


if __name__ == "__main__":
    main()
