"""A PostgreSQL server of a test's own, which the test can stop and start again: the
machine's binaries (/usr/lib/postgresql/*/bin) or those of the embedded `pgserver` wheel,
on a free port of 127.0.0.1 with a data directory in a temporary folder.

No binaries, no test: `PrivatePostgres.binaries()` raises rather than letting the test skip
(both exist wherever `make setup` ran: the wheel is a dependency on Linux and macOS)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.fakes.net import free_port

NEEDED = ("initdb", "pg_ctl", "postgres")


class PrivatePostgres:
    def __init__(self, root: Path) -> None:
        self.bin = self.binaries()
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        # PostgreSQL refuses to run as root: then it runs as an ordinary account.
        self.user = _unprivileged_user() if os.geteuid() == 0 else None

    @staticmethod
    def binaries() -> Path:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
        try:
            from pgserver._commands import POSTGRES_BIN_PATH

            candidates.append(Path(POSTGRES_BIN_PATH))
        except ImportError:
            pass
        for path in candidates:
            if all((path / name).is_file() for name in NEEDED):
                return path
        raise RuntimeError(
            "No PostgreSQL binaries for a private test server: install the `pgserver` wheel "
            "(`make setup`) or Debian's postgresql package. Looked in: "
            + ", ".join(map(str, candidates))
        )

    @property
    def url(self) -> str:
        """The asyncpg URL of its `postgres` database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        self.root.chmod(0o777)
        subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            timeout=timeout,
            user=self.user,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def init(self) -> PrivatePostgres:
        self.data.mkdir(parents=True)
        if self.user is not None:
            shutil.chown(self.data, self.user, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "utf8")
        return self

    def start(self) -> None:
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.data} -c fsync=off "
            "-c max_connections=200 -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-o", options,
            "-l", str(self.data / "server.log"), "start",
        )  # fmt: skip

    def ensure_running(self) -> None:
        """Started again if a failed test left it stopped."""
        status = subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
            user=self.user,
            cwd=self.root,
            capture_output=True,
            check=False,
        )
        if status.returncode != 0:
            self.start()

    def stop(self) -> float:
        """Stop it as an operator would (fast: open sessions are terminated); when it went."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", "fast", "stop")
        return time.monotonic()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return (self.data / "server.log").read_text()[-chars:]
        except OSError as exc:
            return str(exc)

    def __enter__(self) -> PrivatePostgres:
        self.init().start()
        return self

    def __exit__(self, *exc: Any) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()


def _unprivileged_user() -> str:
    for name in ("postgres", "pgserver"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    from pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    return "pgserver"
