"""The test suite's fake Twilio (backend/tests/fakes/twilio.py) in a process of its own, so
that its request times are not held up by the benchmark driver's own work.
`python twilio_sink.py TIMES_PATH` prints `ready <port>`; on SIGTERM it writes, as JSON, the
wall-clock time each message POST arrived, and prints how many there were."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from tests.fakes.twilio import FakeTwilio


def main(times: str) -> None:
    fake = FakeTwilio().start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"ready {fake.port}", flush=True)
    stop.wait()
    fake.stop()
    arrivals = sorted(r["at"] for r in fake.posts())
    Path(times).write_text(json.dumps(arrivals))
    print(len(arrivals), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
