"""The `twilio` backend: WhatsApp through the official `twilio` SDK and its async HTTP client.

Retries are ours, not the SDK's: the Messages API has no idempotency key, so a retried POST
after a 5xx could send the message twice. Every failure is classified (channels/errors.py)
and the engine decides when to try again, after `find_sent` when the outcome is unknown."""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from rebook.channels.base import (
    CatalogUnavailable,
    ContentTemplate,
    OutgoingWhatsApp,
    SendFailure,
    SendResult,
    mask,
)
from rebook.channels.errors import NETWORK_MESSAGE, TIMEOUT_MESSAGE, twilio_error
from rebook.config import Settings

logger = logging.getLogger(__name__)

TWILIO_API_ORIGIN = "https://api.twilio.com"
TWILIO_CONTENT_ORIGIN = "https://content.twilio.com"
# Clocks differ between us and Twilio; look a little before the delivery's start.
FIND_SENT_SLACK = timedelta(minutes=2)

# The headers of the last Twilio response seen by the current task: the SDK's exceptions do
# not carry them, and Retry-After is in them.
_last_headers: ContextVar[Any] = ContextVar("twilio_last_headers", default=None)


# The SDK logs every request's URL and query at INFO: for a message lookup that is the
# customer's full number, which our logs never hold.
_sdk_logger = logging.getLogger("rebook.channels.twilio.sdk")
_sdk_logger.setLevel(logging.WARNING)


class RebookTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's aiohttp client, created lazily inside the running loop, with a timeout, no
    retries, and `TWILIO_API_BASE_URL` / `TWILIO_CONTENT_BASE_URL` standing in for
    https://api.twilio.com / https://content.twilio.com when set."""

    session: aiohttp.ClientSession | None

    def __init__(
        self, api_base_url: str | None, timeout: float, content_base_url: str | None = None
    ) -> None:
        super().__init__(pool_connections=False, timeout=timeout, logger=_sdk_logger)
        self._origins = {
            origin: base.rstrip("/")
            for origin, base in (
                (TWILIO_API_ORIGIN, api_base_url),
                (TWILIO_CONTENT_ORIGIN, content_base_url),
            )
            if base
        }
        self._timeout_seconds = timeout

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ARG002 - ours applies
        allow_redirects: bool = False,
    ) -> Response:
        if self.session is None:
            self.session = aiohttp.ClientSession()
        for origin, base in self._origins.items():
            if url.startswith(origin):
                url = base + url[len(origin) :]
                break
        if auth is not None:
            # aiohttp deprecates its BasicAuth object; the header is the same.
            headers = {**(headers or {}), "Authorization": aiohttp.encode_basic_auth(*auth)}
        response: Response = await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=self._timeout_seconds,
            allow_redirects=allow_redirects,
        )
        _last_headers.set(response.headers)
        return response


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def classify(exc: Exception) -> SendFailure:
    """The `SendFailure` for anything the SDK or the network raised."""
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        status = int(exc.status) if exc.status is not None else None
        code = int(exc.code) if exc.code is not None and exc.code != status else None
        meaning = twilio_error(code, status)
        label = str(code) if code is not None else f"http-{status}"
        retry_after = _retry_after(_last_headers.get()) if meaning.transient else None
        return SendFailure(
            label,
            meaning.message,
            transient=meaning.transient,
            suppress=meaning.suppress,
            retry_after=retry_after,
            stops_sending=meaning.stops_sending,
        )
    if isinstance(exc, TwilioException) and len(exc.args) > 1 and isinstance(exc.args[1], Response):
        # A list page refused: the SDK raises the bare response ("Unable to fetch page").
        response = exc.args[1]
        try:
            code = json.loads(response.text).get("code")
        except (ValueError, AttributeError):
            code = None
        return classify(TwilioRestException(response.status_code, "", code=code))
    if isinstance(exc, TimeoutError):
        return SendFailure("timeout", TIMEOUT_MESSAGE, transient=True)
    return SendFailure("network", NETWORK_MESSAGE, transient=True)


def _price(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        return abs(Decimal(value))
    except InvalidOperation:
        return None


class TwilioWhatsAppSender:
    def __init__(self, settings: Settings, *, timeout: float | None = None) -> None:
        if not (
            settings.twilio_account_sid
            and settings.twilio_auth_token
            and settings.twilio_whatsapp_number
        ):
            raise ValueError(
                "WHATSAPP_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_WHATSAPP_NUMBER"
            )
        self._http = RebookTwilioHttpClient(
            settings.twilio_api_base_url, timeout or settings.twilio_timeout_seconds
        )
        self._client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=self._http
        )
        # The SDK imports the Messages API's modules on first use: about a second of the
        # event loop, here, rather than during the first sends (which would all miss their
        # send slots).
        self._messages = self._client.messages
        self._account_sid = settings.twilio_account_sid
        self._from = f"whatsapp:{settings.twilio_whatsapp_number}"
        self._callback_base = (
            f"{settings.public_base_url.rstrip('/')}/api/v1/webhooks/twilio/status"
        )

    async def connect(self) -> None:
        """Open a connection to Twilio before the first message (a first message that set
        it up would reach Twilio late, together with the next ones): one read of the
        account, whatever its answer."""
        try:
            await self._client.api.v2010.accounts(self._account_sid).fetch_async()
        except Exception:  # the messages will say what is wrong, if anything is
            logger.debug("twilio warm-up request failed", exc_info=True)

    def status_callback_url(self, delivery_id: int) -> str:
        return f"{self._callback_base}?delivery_id={delivery_id}"

    async def send(self, msg: OutgoingWhatsApp) -> SendResult:
        params: dict[str, Any] = {
            "to": f"whatsapp:{msg.to_e164}",
            "from_": self._from,
            "status_callback": self.status_callback_url(msg.delivery_id),
        }
        if msg.content_sid:
            params["content_sid"] = msg.content_sid
            if msg.content_variables:
                params["content_variables"] = json.dumps(msg.content_variables)
        elif msg.body is not None:
            params["body"] = msg.body
        else:
            raise ValueError("a WhatsApp message needs a body or a content_sid")
        started = time.monotonic()
        try:
            message = await self._messages.create_async(**params)
        except Exception as exc:
            failure = classify(exc)
            logger.warning(
                "whatsapp refused",
                extra={
                    "delivery_id": msg.delivery_id,
                    "to": mask(msg.to_e164),
                    "code": failure.code,
                    "transient": failure.transient,
                    "retry_after": failure.retry_after,
                },
            )
            raise failure from exc
        logger.info(
            "whatsapp sent",
            extra={
                "delivery_id": msg.delivery_id,
                "to": mask(msg.to_e164),
                "provider_message_id": message.sid,
                "provider_status": message.status,
                "seconds": round(time.monotonic() - started, 4),
            },
        )
        # Twilio reports the price later, in a status callback.
        return SendResult(provider_message_id=message.sid, provider_status=message.status)

    async def find_sent(self, msg: OutgoingWhatsApp, since: datetime) -> SendResult | None:
        """Twilio's Message resource does not return the StatusCallback URL, so a message is
        matched by sender, recipient, creation time and, for free text, the body. No DateSent
        filter: a message still queued at Twilio has no date_sent yet and would be missed."""
        try:
            candidates = await self._messages.list_async(
                to=f"whatsapp:{msg.to_e164}", from_=self._from, limit=50, page_size=50
            )
        except Exception as exc:
            raise classify(exc) from exc
        earliest = since - FIND_SENT_SLACK
        for message in candidates:
            created = message.date_created
            if created is not None and created < earliest:
                continue
            if msg.body is not None and (message.body or "").strip() != msg.body.strip():
                continue
            logger.info(
                "whatsapp found at provider",
                extra={
                    "delivery_id": msg.delivery_id,
                    "to": mask(msg.to_e164),
                    "provider_message_id": message.sid,
                },
            )
            return SendResult(
                provider_message_id=message.sid,
                provider_status=message.status,
                cost=_price(message.price),
            )
        return None

    async def aclose(self) -> None:
        await self._http.close()


# Templates read per Content API page (its maximum is 1000).
CONTENT_PAGE_SIZE = 500


def _approval(approvals: Any) -> dict[str, Any]:
    """The WhatsApp approval of a ContentAndApprovals item: the spec gives it flat, the
    approval requests resource keys it by channel ("whatsapp")."""
    if not isinstance(approvals, dict):
        return {}
    nested = approvals.get("whatsapp")
    return nested if isinstance(nested, dict) else approvals


def content_template(item: Any) -> ContentTemplate | None:
    """A ContentAndApprovals item as a template, or None without a SID."""
    if not item.sid:
        return None
    approval = _approval(item.approval_requests)
    variables = item.variables if isinstance(item.variables, dict) else {}
    return ContentTemplate(
        content_sid=item.sid,
        friendly_name=item.friendly_name or item.sid,
        language=item.language or None,
        category=(str(approval.get("category") or "").upper() or None),
        status=str(approval.get("status") or "unsubmitted").lower(),
        rejection_reason=str(approval.get("rejection_reason") or "") or None,
        types=item.types if isinstance(item.types, dict) else {},
        sample_variables={str(k): str(v) for k, v in variables.items()},
    )


class TwilioTemplateCatalog:
    """The account's content templates with their WhatsApp approval, through the SDK's
    Content API v1 (`GET /v1/ContentAndApprovals`, every page)."""

    def __init__(
        self, settings: Settings, *, http_client: RebookTwilioHttpClient | None = None
    ) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ValueError(
                "WHATSAPP_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
        self._http = http_client or RebookTwilioHttpClient(
            settings.twilio_api_base_url,
            settings.twilio_timeout_seconds,
            settings.twilio_content_base_url,
        )
        self._client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=self._http
        )
        self._account = settings.twilio_account_sid

    @property
    def account(self) -> str:
        return self._account

    async def list_templates(self) -> list[ContentTemplate]:
        try:
            items = await self._client.content.v1.content_and_approvals.list_async(
                page_size=CONTENT_PAGE_SIZE
            )
        except Exception as exc:
            failure = classify(exc)
            logger.warning("twilio templates not listed", extra={"code": failure.code})
            raise CatalogUnavailable(
                f"Twilio's template list could not be read ({failure.code})."
            ) from exc
        return [t for t in (content_template(item) for item in items) if t is not None]

    async def aclose(self) -> None:
        await self._http.close()
