"""Twilio's webhooks. Both check `X-Twilio-Signature` over the public URL Twilio called and
the form it posted; a request that fails the check gets 403 and changes nothing."""

from __future__ import annotations

from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import FormData
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from rebook.config import Settings, get_settings
from rebook.db import SessionDep
from rebook.errors import Forbidden
from rebook.inputs import Id
from rebook.request_context import ClientIP, Now
from rebook.webhooks import keywords
from rebook.webhooks import service as webhooks_service
from rebook.whatsapp import windows

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])

INVALID_SIGNATURE = "This request is not signed by Twilio."


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio called: our public address, not the one a proxy forwarded to us."""
    url = settings.public_base_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def twilio_form(request: Request) -> FormData:
    settings = get_settings()
    form = await request.form()
    signature = request.headers.get(SIGNATURE_HEADER)
    token = settings.twilio_auth_token
    if not token or not signature:
        raise Forbidden(INVALID_SIGNATURE)
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    if not RequestValidator(token).validate(
        public_url(request, settings), form, signature, algorithm
    ):
        raise Forbidden(INVALID_SIGNATURE)
    return form


SignedForm = Annotated[FormData, Depends(twilio_form)]
SIGNATURE_RESPONSES: dict[int | str, dict[str, object]] = {
    403: {"description": "Missing or invalid X-Twilio-Signature"}
}


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _to_our_sender(to: str | None, settings: Settings) -> bool:
    """A message to Rebook's WhatsApp sender (any, when none is configured): another number
    of the same Twilio account has windows of its own."""
    ours = settings.twilio_whatsapp_number
    return ours is None or (to or "").removeprefix("whatsapp:") == ours


def twiml(message: str | None = None) -> Response:
    body = (
        f"<Response><Message>{escape(message)}</Message></Response>" if message else "<Response/>"
    )
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>{body}', media_type="application/xml")


@router.post("/status", status_code=204, responses=SIGNATURE_RESPONSES)
async def receive_status_callback(
    request: Request,
    form: SignedForm,
    session: SessionDep,
    delivery_id: Annotated[Id | None, Query()] = None,
) -> Response:
    """Delivery progress of a WhatsApp message: queued, sent, delivered, read, failed…"""
    message_sid = _field(form, "MessageSid") or _field(form, "SmsSid")
    message_status = _field(form, "MessageStatus") or _field(form, "SmsStatus")
    if message_sid and message_status:
        await webhooks_service.apply_status_callback(
            session,
            message_sid=message_sid,
            message_status=message_status,
            error_code=_field(form, "ErrorCode"),
            price=_field(form, "Price"),
            delivery_id=delivery_id,
            to=_field(form, "To"),
            idempotency_token=request.headers.get("I-Twilio-Idempotency-Token"),
        )
    return Response(status_code=204)


@router.post(
    "/inbound",
    responses={**SIGNATURE_RESPONSES, 200: {"content": {"application/xml": {}}}},
    response_class=Response,
)
async def receive_inbound_message(
    form: SignedForm, session: SessionDep, ip: ClientIP, now: Now
) -> Response:
    """A customer's message: it opens their 24-hour WhatsApp window (free text may reach
    them until it closes). STOP and its equivalents in the customers' languages
    unsubscribe them from WhatsApp marketing; START undoes it. The answer is in the
    keyword's language."""
    sender = _field(form, "From") or ""
    if not sender.startswith("whatsapp:+"):
        return twiml()
    phone_e164 = sender.removeprefix("whatsapp:")
    if _to_our_sender(_field(form, "To"), get_settings()):
        await windows.record_inbound(session, phone_e164, now)
    found = keywords.keyword(_field(form, "Body"))
    if found is None:
        return twiml()
    if found.intent == keywords.Intent.stop:
        await webhooks_service.record_whatsapp_stop(session, phone_e164, ip_address=ip)
    elif await webhooks_service.record_whatsapp_start(session, phone_e164, ip_address=ip) is None:
        return twiml()  # a number no owner messaged: nothing of ours to start again
    return twiml(keywords.reply(found))
