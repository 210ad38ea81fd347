"""A small local stand-in for Twilio's Messages API and the Content API's template list,
run by uvicorn in a background thread.

It records every request, answers like Twilio (JSON bodies, error codes, Retry-After), can be
told to fail or stall for a number, lists messages for `find_sent`, and sends status callbacks
signed the way Twilio signs them, so the webhook's signature check is exercised for real."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from twilio.request_validator import RequestValidator

from tests.fakes.net import free_port

ACCOUNT_SID = "AC" + "1234567890abcdef" * 2
AUTH_TOKEN = "fake-twilio-auth-token"
WHATSAPP_NUMBER = "+14155238886"
TEMPLATE_SID = "HX" + "0123456789abcdef" * 2


def content_resource(
    sid: str,
    name: str,
    body: str,
    samples: dict[str, str],
    *,
    status: str = "approved",
    category: str = "MARKETING",
    rejection_reason: str = "",
    kind: str = "twilio/text",
) -> dict[str, Any]:
    """One item of GET /v1/ContentAndApprovals, shaped as Twilio's spec describes it."""
    return {
        "date_created": "2026-11-02T10:00:00Z",
        "date_updated": "2026-11-03T10:00:00Z",
        "sid": sid,
        "account_sid": ACCOUNT_SID,
        "friendly_name": name,
        "language": "en",
        "variables": samples,
        "types": {kind: {"body": body}},
        "approval_requests": {
            "name": name.lower().replace(" ", "_"),
            "category": category,
            "content_type": kind,
            "status": status,
            "rejection_reason": rejection_reason,
            "allow_category_change": False,
        },
    }


def default_templates() -> list[dict[str, Any]]:
    return [
        content_resource(
            TEMPLATE_SID,
            "Winback offer",
            "Hi {{1}}, see you at {{2}}: 20% off this week.",
            {"1": "Camille", "2": "Salon Paris"},
        )
    ]


@dataclass
class Rule:
    status: int = 400
    code: int | None = None
    message: str = "Error"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Answer this way only so many times, then accept normally (None: always).
    times: int | None = None


@dataclass
class FakeMessage:
    sid: str
    to: str
    from_: str
    body: str
    status: str
    status_callback: str | None
    date_created: datetime

    def resource(self) -> dict[str, Any]:
        rfc2822 = format_datetime(self.date_created, usegmt=True)
        return {
            "account_sid": ACCOUNT_SID,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": rfc2822,
            "date_sent": None,
            "date_updated": rfc2822,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {},
            "to": self.to,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{self.sid}.json",
        }


class FakeTwilio:
    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self.messages: list[FakeMessage] = []
        self.rules: dict[str, Rule] = {}  # keyed by "whatsapp:+E164"
        # What GET /v1/ContentAndApprovals lists, in pages of its PageSize.
        self.templates: list[dict[str, Any]] = default_templates()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        self.requests.clear()
        self.messages.clear()
        self.rules.clear()
        self.templates = default_templates()

    def answer(self, to_e164: str, rule: Rule) -> None:
        """Answer the next sends to this number with `rule` (an error, a slow answer…)."""
        self.rules[f"whatsapp:{to_e164}"] = rule

    def posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST"]

    # -- the HTTP app -------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI()
        messages_path = "/2010-04-01/Accounts/{account_sid}/Messages.json"

        def authorized(request: Request, account_sid: str) -> bool:
            expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            return (
                account_sid == ACCOUNT_SID
                and request.headers.get("authorization") == f"Basic {expected}"
            )

        def error(status: int, code: int | None, message: str, headers: dict[str, str]) -> Any:
            body = {"code": code, "message": message, "more_info": "", "status": status}
            return JSONResponse(body, status_code=status, headers=headers)

        @app.post(messages_path)
        async def create_message(account_sid: str, request: Request) -> Any:
            arrived = time.time()
            form = await request.form()
            data = {key: form.get(key) for key in form}
            self.requests.append({"method": "POST", "form": data, "at": arrived})
            if not authorized(request, account_sid):
                return error(401, 20003, "Authenticate", {})
            rule = self.rules.get(str(data.get("To")))
            if rule is not None and rule.times is not None:
                if rule.times <= 0:
                    rule = None
                else:
                    rule.times -= 1
            if rule is not None:
                if rule.delay:
                    await asyncio.sleep(rule.delay)
                if rule.status >= 300:
                    return error(rule.status, rule.code, rule.message, rule.headers)
            message = FakeMessage(
                sid="SM" + uuid.uuid4().hex,
                to=str(data["To"]),
                from_=str(data["From"]),
                body=str(data.get("Body") or ""),
                status="queued",
                status_callback=str(data["StatusCallback"]) if "StatusCallback" in data else None,
                date_created=datetime.now(UTC),
            )
            self.messages.append(message)
            return JSONResponse(message.resource(), status_code=201)

        @app.get(messages_path)
        async def list_messages(account_sid: str, request: Request) -> Any:
            query = request.query_params
            self.requests.append({"method": "GET", "query": dict(query), "at": time.time()})
            if not authorized(request, account_sid):
                return error(401, 20003, "Authenticate", {})
            after = query.get("DateSent>")
            since = datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
            found = [
                m
                for m in reversed(self.messages)
                if query.get("To") in (None, m.to)
                and query.get("From") in (None, m.from_)
                and (since is None or m.date_created >= since)
            ]
            uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
            return {
                "messages": [m.resource() for m in found],
                "end": max(len(found) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }

        @app.get("/v1/ContentAndApprovals")
        async def list_templates(request: Request) -> Any:
            query = request.query_params
            self.requests.append({"method": "GET", "query": dict(query), "at": time.time()})
            expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return error(401, 20003, "Authenticate", {})
            size, page = int(query.get("PageSize", 50)), int(query.get("Page", 0))
            items = self.templates[page * size : (page + 1) * size]
            url = "https://content.twilio.com/v1/ContentAndApprovals"
            more = (page + 1) * size < len(self.templates)
            return {
                "contents": items,
                "meta": {
                    "page": page,
                    "page_size": size,
                    "first_page_url": f"{url}?PageSize={size}&Page=0",
                    "previous_page_url": None,
                    "next_page_url": f"{url}?PageSize={size}&Page={page + 1}&PageToken=p{page + 1}"
                    if more
                    else None,
                    "url": f"{url}?PageSize={size}&Page={page}",
                    "key": "contents",
                },
            }

        return app

    def start(self) -> FakeTwilio:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake Twilio did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    # -- callbacks to our app -----------------------------------------------------------

    def message(self, sid: str) -> FakeMessage:
        return next(m for m in self.messages if m.sid == sid)


def signed_callback(
    url: str, params: dict[str, str], auth_token: str = AUTH_TOKEN
) -> dict[str, str]:
    """The headers Twilio would send with `params` posted to `url`."""
    signature = RequestValidator(auth_token).compute_signature(url, params)
    return {"X-Twilio-Signature": signature, "I-Twilio-Idempotency-Token": uuid.uuid4().hex}


async def send_status_callback(
    client: httpx.AsyncClient,
    url: str,
    *,
    message_sid: str,
    status: str,
    to: str = "whatsapp:+33612345678",
    error_code: str | None = None,
    price: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a status callback like Twilio's to `url` (the StatusCallback the message was
    sent with), through `client`, signed with the fake account's auth token."""
    params = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "ChannelPrefix": "whatsapp",
        "From": f"whatsapp:{WHATSAPP_NUMBER}",
        "To": to,
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "MessageStatus": status,
        "SmsStatus": status,
    }
    if error_code is not None:
        params["ErrorCode"] = error_code
    if price is not None:
        params["Price"] = price
        params["PriceUnit"] = "USD"
    signed = signed_callback(url, params)
    split = httpx.URL(url)
    path = split.raw_path.decode()
    return await client.post(path, data=params, headers={**signed, **(headers or {})})
