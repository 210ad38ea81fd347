"""argon2 runs off the event loop: through a real uvicorn server, /healthz stays fast while
32 wrong logins are checked at once."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from rebook.auth.passwords import hash_password
from rebook.models import User, UserRole
from tests.private_app import private_database, uvicorn_process

# A timed figure, published by `make bench-latency`; not part of `make test`.
pytestmark = pytest.mark.latency

CONCURRENT_LOGINS = 32


async def _add_owner(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with AsyncSession(engine) as session, session.begin():
        session.add(
            User(
                email="load@example.com",
                first_name="Lo",
                last_name="Ad",
                role=UserRole.business_owner,
                password_hash=hash_password("right"),
            )
        )
    await engine.dispose()


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with private_database(database_url, "login") as url:
        asyncio.run(_add_owner(url))
        with uvicorn_process(url) as base_url:
            yield base_url


async def test_healthz_stays_under_50ms_p99_during_32_concurrent_wrong_logins(
    server: str,
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        # Warm up: the engine, the password threads, the connection pool.
        assert (await client.get("/healthz")).status_code == 200
        warm = await client.post(
            "/api/v1/auth/login", data={"username": "load@example.com", "password": "right"}
        )
        assert warm.status_code == 200

        async def wrong_login(i: int) -> int:
            # Distinct emails, so the account throttle does not answer for argon2.
            response = await client.post(
                "/api/v1/auth/login",
                data={"username": f"guess{i}@example.com", "password": "wrong"},
            )
            return response.status_code

        # Probed from a thread of its own, on its own connection: the 32 logins' answers,
        # handled by this event loop, never delay a measurement.
        latencies: list[float] = []
        stop = threading.Event()

        def probe() -> None:
            with httpx.Client(base_url=server, timeout=60) as prober:
                while not stop.is_set():
                    before = time.perf_counter()
                    assert prober.get("/healthz").status_code == 200
                    latencies.append(time.perf_counter() - before)
                    time.sleep(0.01)

        prober = threading.Thread(target=probe)
        started = time.perf_counter()
        prober.start()
        try:
            statuses = await asyncio.gather(*(wrong_login(i) for i in range(CONCURRENT_LOGINS)))
        finally:
            stop.set()
            prober.join()
        elapsed = time.perf_counter() - started

    assert statuses == [401] * CONCURRENT_LOGINS
    # The hashes really ran meanwhile (about a quarter of a second of CPU each).
    assert elapsed > 1.0, elapsed
    assert len(latencies) >= 20
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(  # noqa: T201
        f"\n/healthz during {CONCURRENT_LOGINS} wrong logins ({elapsed:.1f} s): "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms over {len(latencies)} probes"
    )
    assert p99 < 0.050, f"p99 {p99 * 1000:.1f} ms over {len(latencies)} probes"
