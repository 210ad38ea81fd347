"""Structured logs: one JSON object per line with the event's fields (campaign, delivery id,
channel, outcome, provider id…). Message bodies and full addresses never go in a log record;
senders mask addresses before logging."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else came from `extra=` and is a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class DropQueryStrings(logging.Filter):
    """Access logs keep the path, not the query: a customer search (`?search=0612…`) must not
    write a phone number or an email into the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, str(path).split("?", 1)[0], version, status)
        return True


def configure(level: str) -> None:
    # The worker logs a line per delivery, thousands a second: skip what a record would
    # otherwise collect and no line shows (the logging HOWTO's "Optimization" section).
    logging._srcfile = None  # caller's file, function and line
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("rebook").setLevel(level)
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(level)
    logging.getLogger("uvicorn.access").addFilter(DropQueryStrings())
