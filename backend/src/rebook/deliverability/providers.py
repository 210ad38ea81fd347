"""Bounces and complaints from the relays owners send through, each signature-checked before
anything is read: Amazon SES (notifications through Amazon SNS, signed with Amazon's
certificate) and Mailgun (HMAC with the webhook signing key). Each is turned into the same
`Report` as a mailed DSN or ARF report."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from rebook.config import Settings
from rebook.deliverability.reports import Kind, Report

# SNS signs with a certificate served from its own regional host, over https.
_SNS_CERT_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_SNS_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SNS_FIELDS["UnsubscribeConfirmation"] = _SNS_FIELDS["SubscriptionConfirmation"]
# Mailgun's signature is over a timestamp: older than this, a request is a replay.
MAILGUN_MAX_AGE_SECONDS = 15 * 60

_certificates: dict[str, rsa.RSAPublicKey] = {}


class BadSignature(Exception):
    """The request is not signed by the provider it claims to come from."""


def is_sns_url(url: str, settings: Settings) -> bool:
    """An https URL of Amazon SNS itself (or, in tests, under SNS_TEST_CERT_URL_PREFIX)."""
    if settings.sns_test_cert_url_prefix and url.startswith(settings.sns_test_cert_url_prefix):
        return True
    parts = urlsplit(url)
    return parts.scheme == "https" and _SNS_CERT_HOST.match(parts.hostname or "") is not None


def trusted_cert_url(url: str, settings: Settings) -> bool:
    return is_sns_url(url, settings) and urlsplit(url).path.endswith(".pem")


async def _sns_key(url: str) -> rsa.RSAPublicKey:
    if url not in _certificates:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(url)
        response.raise_for_status()
        key = x509.load_pem_x509_certificate(response.content).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise BadSignature("not an RSA certificate")
        _certificates[url] = key
    return _certificates[url]


@dataclass(frozen=True)
class SnsMessage:
    type: str
    topic_arn: str
    message: str
    subscribe_url: str | None


async def verify_sns(body: bytes, settings: Settings) -> SnsMessage:
    """The SNS message in `body`, once its signature checks out; else BadSignature."""
    try:
        fields = json.loads(body)
        if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
            raise TypeError("an SNS message is an object of strings")
        names = _SNS_FIELDS[fields["Type"]]
        kind = fields["Type"]
        signature = base64.b64decode(fields["Signature"], validate=True)
        cert_url = fields["SigningCertURL"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadSignature("not a signed SNS message") from exc
    if not trusted_cert_url(cert_url, settings):
        raise BadSignature("certificate not served by Amazon SNS")
    allowed = {arn.strip() for arn in settings.sns_topic_arns.split(",") if arn.strip()}
    if allowed and fields.get("TopicArn") not in allowed:
        raise BadSignature("topic not allowed")
    signed = "".join(
        f"{name}\n{fields[name]}\n" for name in names if isinstance(fields.get(name), str)
    ).encode()
    algorithm = hashes.SHA256() if fields.get("SignatureVersion") == "2" else hashes.SHA1()
    try:
        key = await _sns_key(cert_url)
        key.verify(signature, signed, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, httpx.HTTPError, ValueError) as exc:
        raise BadSignature("signature does not verify") from exc
    return SnsMessage(
        kind, fields.get("TopicArn", ""), fields["Message"], fields.get("SubscribeURL")
    )


async def confirm_subscription(url: str, settings: Settings) -> None:
    """Accept SNS's subscription of our endpoint to the topic (the URL is SNS's own)."""
    if not is_sns_url(url, settings):
        raise BadSignature("subscription URL not served by Amazon SNS")
    async with httpx.AsyncClient(timeout=10) as client:
        (await client.get(url)).raise_for_status()


def _message_id(mail: dict[str, Any]) -> str | None:
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id":
            return str(header.get("value", ""))
    common = mail.get("commonHeaders") or {}
    value = common.get("messageId") if isinstance(common, dict) else None
    return str(value) if value else None


def ses_reports(message: str) -> list[Report]:
    """The reports in an SES notification (or event publishing record)."""
    try:
        event = json.loads(message)
    except ValueError:
        return []
    if not isinstance(event, dict):
        return []
    kind = event.get("notificationType") or event.get("eventType")
    mail = event.get("mail") or {}
    message_id = _message_id(mail) if isinstance(mail, dict) else None
    reports = []
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        permanent = bounce.get("bounceType") == "Permanent"
        for recipient in bounce.get("bouncedRecipients") or []:
            detail = " ".join(
                str(recipient.get(key, ""))
                for key in ("status", "diagnosticCode")
                if recipient.get(key)
            )
            reports.append(
                Report(
                    kind="hard" if permanent else "soft",
                    detail=detail or str(bounce.get("bounceSubType", "")),
                    recipient=str(recipient.get("emailAddress", "")).lower() or None,
                    message_id=message_id,
                    return_path=None,
                )
            )
    elif kind == "Complaint":
        complaint = event.get("complaint") or {}
        for recipient in complaint.get("complainedRecipients") or []:
            reports.append(
                Report(
                    kind="complaint",
                    detail=str(complaint.get("complaintFeedbackType") or "abuse"),
                    recipient=str(recipient.get("emailAddress", "")).lower() or None,
                    message_id=message_id,
                    return_path=None,
                )
            )
    return reports


def verify_mailgun(payload: dict[str, Any], settings: Settings, now: float | None = None) -> None:
    """Raises BadSignature unless Mailgun signed this webhook with our signing key."""
    key = settings.mailgun_webhook_signing_key
    signature = payload.get("signature") if isinstance(payload, dict) else None
    if not key or not isinstance(signature, dict):
        raise BadSignature("no signature")
    timestamp, token, given = (
        str(signature.get(k, "")) for k in ("timestamp", "token", "signature")
    )
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not (timestamp and token and hmac.compare_digest(expected, given)):
        raise BadSignature("signature does not verify")
    try:
        age = abs((now or time.time()) - float(timestamp))
    except ValueError as exc:
        raise BadSignature("bad timestamp") from exc
    if age > MAILGUN_MAX_AGE_SECONDS:
        raise BadSignature("signature too old")


def mailgun_reports(payload: dict[str, Any]) -> list[Report]:
    event = payload.get("event-data") or {}
    if not isinstance(event, dict):
        return []
    headers = (event.get("message") or {}).get("headers") or {}
    message_id = headers.get("message-id") if isinstance(headers, dict) else None
    recipient = str(event.get("recipient", "")).lower() or None
    name = event.get("event")
    kind: Kind
    if name == "failed":
        kind = "hard" if event.get("severity") == "permanent" else "soft"
        status = event.get("delivery-status") or {}
        detail = " ".join(
            str(status.get(key)) for key in ("code", "message", "description") if status.get(key)
        ) or str(event.get("reason", ""))
    elif name == "complained":
        kind, detail = "complaint", "abuse"
    else:
        return []
    return [Report(kind, detail, recipient, str(message_id) if message_id else None, None)]
