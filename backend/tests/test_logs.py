from __future__ import annotations

import io
import json
import logging

from rebook.logs import DropQueryStrings, JsonFormatter


def test_access_logs_keep_the_path_but_not_a_searched_phone_number() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.access")
    logger.propagate = False
    logger.addHandler(handler)
    logger.addFilter(DropQueryStrings())
    logger.setLevel(logging.INFO)

    logger.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        "/api/v1/owner/campaigns/messaging/customers?place_ids=1&search=0612345678",
        "1.1",
        200,
    )
    logger.info("delivery sent", extra={"delivery_id": 7, "channel": "email"})

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert "0612345678" not in first["event"]
    assert first["event"].endswith('"GET /api/v1/owner/campaigns/messaging/customers HTTP/1.1" 200')
    assert (second["event"], second["delivery_id"], second["channel"]) == (
        "delivery sent",
        7,
        "email",
    )
