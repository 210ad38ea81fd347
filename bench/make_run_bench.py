"""How long `make run` takes to serve: a first run on a fresh database (migrations, demo data)
and a second run with nothing changed (no npm install, no build, no migration), against a
baseline measured in the same run: the same second start as three processes (`rebook
migrate`, `rebook seed-demo`, `rebook serve`), as `make run` started it before.

    make bench-run     (DATABASE_URL's server, else postgresql://postgres@127.0.0.1:5432)

"Served" is the first 200 from /healthz. Prints the figures for
docs/benchmarks-sending-and-startup.md."""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin(sql: str) -> None:
    subprocess.run(["psql", SERVER, "-q", "-c", sql], check=True, capture_output=True)


def time_to_serve(command: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds from starting `command` (a shell line) to the first 200 of /healthz."""
    port = env["PORT"]
    started = time.perf_counter()
    process = subprocess.Popen(
        ["bash", "-c", " && ".join(command)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
            except OSError:
                pass
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    name = f"rebook_bench_run_{uuid.uuid4().hex[:8]}"
    base = SERVER.rsplit("/", 1)[0]
    _admin(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "DATABASE_URL": f"{base}/{name}", "PORT": str(_free_port())}
        subprocess.run(["make", "-s", "frontend"], cwd=REPO, check=True, capture_output=True)
        first = time_to_serve(["make run"], env, REPO)
        second = time_to_serve(["make run"], env, REPO)
        uv = "python3 -m uv" if not _has("uv") else "uv"
        three = time_to_serve(
            [
                f"{uv} run --frozen rebook migrate",
                f"{uv} run --frozen rebook seed-demo",
                f"{uv} run --frozen rebook serve",
            ],
            env,
            REPO / "backend",
        )
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs,")
    print(f"{platform.platform()}, Python {platform.python_version()}; load {load}")
    print(f"first make run (fresh database, web app already built): {first:.1f} s")
    print(f"second make run (nothing changed): {second:.1f} s")
    print(f"baseline, the same second start as three processes: {three:.1f} s")


def _has(program: str) -> bool:
    return any((Path(p) / program).exists() for p in os.environ.get("PATH", "").split(":"))


if __name__ == "__main__":
    main()
