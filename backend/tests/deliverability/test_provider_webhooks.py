"""The relays' webhooks: Amazon SES through SNS (its signature checked against the signing
certificate, here a locally made one served over HTTP and trusted through
SNS_TEST_CERT_URL_PREFIX) and Mailgun (HMAC). A valid report suppresses; a bad signature
answers 403 and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.config import get_settings
from rebook.models import CampaignDelivery, User
from tests.factories import auth_headers, create_customer, create_owner, create_place
from tests.fakes.net import free_port
from tests.fixtures_channels import create_delivery

BASE = "/api/v1"
MAILGUN_KEY = "key-test-mailgun-signing"
CERT_PATH = "/SimpleNotificationService-test.pem"
# What the fake SNS was asked for (certificates, subscription confirmations).
SNS_REQUESTS: list[str] = []


@pytest.fixture(scope="module")
def sns_signer() -> Iterator[tuple[rsa.RSAPrivateKey, str]]:
    """A signing key and the URL of its certificate, served like SNS serves its own."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)

    class Serve(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            SNS_REQUESTS.append(self.path)
            known = self.path == CERT_PATH or self.path.startswith("/?Action=ConfirmSubscription")
            self.send_response(200 if known else 404)
            self.end_headers()
            if self.path == CERT_PATH:
                self.wfile.write(pem)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield key, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def provider_settings(
    monkeypatch: pytest.MonkeyPatch, sns_signer: tuple[rsa.RSAPrivateKey, str]
) -> Iterator[None]:
    monkeypatch.setenv("SNS_TEST_CERT_URL_PREFIX", sns_signer[1] + "/")
    monkeypatch.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", MAILGUN_KEY)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


class Sent:
    """An email of `owner` delivered to `customer`, who booked at the owner's place."""

    def __init__(self, owner: User, customer: User, delivery: CampaignDelivery, place_id: int):
        self.owner, self.customer, self.delivery, self.place_id = (
            owner,
            customer,
            delivery,
            place_id,
        )
        self.headers = auth_headers(owner)
        self.message_id = f"<delivery-{delivery.id}.{uuid.uuid4().hex[:16]}@rebook.test>"


@pytest.fixture
async def sent(session: AsyncSession, provider_settings: None) -> Sent:
    owner = await create_owner(session)
    place = await create_place(session, owner)
    customer = await create_customer(session, booked_at=[place])
    delivery = await create_delivery(session, owner, customer, channel="email", status="sent")
    result = Sent(owner, customer, delivery, place.id)
    delivery.provider_message_id = result.message_id
    delivery.sent_at = datetime.now(UTC)
    await session.commit()
    return result


async def reachable_by_email(client: AsyncClient, sent: Sent) -> bool:
    response = await client.get(
        f"{BASE}/owner/campaigns/messaging/customers",
        params={"place_ids": sent.place_id, "filter_by": "has_email"},
        headers=sent.headers,
    )
    assert response.status_code == 200, response.text
    return sent.customer.id in {c["user_id"] for c in response.json()["items"]}


async def delivery_state(client: AsyncClient, sent: Sent) -> tuple[str, str | None]:
    response = await client.get(
        f"{BASE}/owner/campaigns/{sent.delivery.campaign_id}/recipients", headers=sent.headers
    )
    (delivery,) = response.json()["items"][0]["deliveries"]
    return delivery["status"], delivery["provider_status"]


# -- Amazon SES through SNS ------------------------------------------------------------


def ses_bounce(sent: Sent, bounce_type: str = "Permanent") -> str:
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": bounce_type,
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": sent.customer.email,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
            },
            "mail": {
                "messageId": "0100018c-ses-own-id",
                "headers": [{"name": "Message-ID", "value": sent.message_id}],
                "commonHeaders": {"messageId": sent.message_id},
            },
        }
    )


def ses_complaint(sent: Sent) -> str:
    return json.dumps(
        {
            "notificationType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": sent.customer.email}],
                "complaintFeedbackType": "abuse",
            },
            "mail": {"messageId": "0100018c-ses", "commonHeaders": {"messageId": sent.message_id}},
        }
    )


def sns_envelope(
    message: str, key: rsa.RSAPrivateKey, cert_url: str, **extra: str
) -> dict[str, str]:
    fields = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:rebook-ses",
        "Message": message,
        "Timestamp": "2026-12-01T10:00:00.000Z",
        "SignatureVersion": "1",
        "SigningCertURL": cert_url,
        **extra,
    }
    # The fields SNS signs for each type, in this order (absent ones skipped).
    names = ("Message", "MessageId", "SubscribeURL", "Subject", "Timestamp", "Token")
    signed = "".join(
        f"{name}\n{fields[name]}\n" for name in (*names, "TopicArn", "Type") if name in fields
    )
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA1())
    return {**fields, "Signature": base64.b64encode(signature).decode()}


async def post_sns(client: AsyncClient, envelope: dict[str, str]) -> int:
    response = await client.post(
        f"{BASE}/webhooks/ses",
        content=json.dumps(envelope),
        headers={
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": "Notification",
        },
    )
    return response.status_code


class TestSes:
    async def test_a_signed_permanent_bounce_suppresses_the_address(
        self, client: AsyncClient, sent: Sent, sns_signer: tuple[rsa.RSAPrivateKey, str]
    ) -> None:
        key, base_url = sns_signer
        envelope = sns_envelope(ses_bounce(sent), key, base_url + CERT_PATH)

        assert await post_sns(client, envelope) == 204
        assert await delivery_state(client, sent) == ("failed", "bounced")
        assert not await reachable_by_email(client, sent)

    async def test_a_signed_complaint_suppresses_the_customer_for_the_owner(
        self, client: AsyncClient, sent: Sent, sns_signer: tuple[rsa.RSAPrivateKey, str]
    ) -> None:
        key, base_url = sns_signer
        assert (
            await post_sns(client, sns_envelope(ses_complaint(sent), key, base_url + CERT_PATH))
            == 204
        )

        assert await delivery_state(client, sent) == ("sent", "complained")
        assert not await reachable_by_email(client, sent)

    async def test_a_message_changed_after_signing_is_403_and_changes_nothing(
        self, client: AsyncClient, sent: Sent, sns_signer: tuple[rsa.RSAPrivateKey, str]
    ) -> None:
        key, base_url = sns_signer
        envelope = sns_envelope(ses_bounce(sent, "Transient"), key, base_url + CERT_PATH)
        envelope["Message"] = ses_bounce(sent, "Permanent")

        assert await post_sns(client, envelope) == 403
        assert await delivery_state(client, sent) == ("sent", None)
        assert await reachable_by_email(client, sent)

    async def test_a_certificate_not_served_by_sns_is_403(
        self, client: AsyncClient, sent: Sent, sns_signer: tuple[rsa.RSAPrivateKey, str]
    ) -> None:
        key, _ = sns_signer
        for url in (
            "https://attacker.example/SimpleNotificationService.pem",
            "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService.pem",
            "https://sns.eu-west-1.amazonaws.com.attacker.example/cert.pem",
        ):
            assert await post_sns(client, sns_envelope(ses_bounce(sent), key, url)) == 403
        assert await reachable_by_email(client, sent)

    async def test_a_signed_subscription_is_confirmed(
        self, client: AsyncClient, sent: Sent, sns_signer: tuple[rsa.RSAPrivateKey, str]
    ) -> None:
        key, base_url = sns_signer
        confirm = f"{base_url}/?Action=ConfirmSubscription&Token=tok-{uuid.uuid4().hex}"
        envelope = sns_envelope(
            "You have chosen to subscribe to the topic.",
            key,
            base_url + CERT_PATH,
            Type="SubscriptionConfirmation",
            SubscribeURL=confirm,
            Token="tok",
        )

        assert await post_sns(client, envelope) == 204
        assert confirm.removeprefix(base_url) in SNS_REQUESTS

    async def test_a_subscription_url_elsewhere_than_sns_is_not_followed(
        self, client: AsyncClient, sent: Sent, sns_signer: tuple[rsa.RSAPrivateKey, str]
    ) -> None:
        key, base_url = sns_signer
        envelope = sns_envelope(
            "Subscribe",
            key,
            base_url + CERT_PATH,
            Type="SubscriptionConfirmation",
            SubscribeURL="http://169.254.169.254/latest/meta-data/",
            Token="tok",
        )

        assert await post_sns(client, envelope) == 403

    async def test_an_unsigned_body_is_403(self, client: AsyncClient, sent: Sent) -> None:
        response = await client.post(f"{BASE}/webhooks/ses", content=ses_bounce(sent))
        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"
        assert await reachable_by_email(client, sent)


# -- Mailgun ---------------------------------------------------------------------------


def mailgun_event(sent: Sent, event: dict[str, Any], key: str = MAILGUN_KEY) -> dict[str, Any]:
    timestamp, token = str(int(time.time())), uuid.uuid4().hex
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "recipient": sent.customer.email,
            "message": {"headers": {"message-id": sent.message_id.strip("<>")}},
            **event,
        },
    }


PERMANENT_FAILURE = {
    "event": "failed",
    "severity": "permanent",
    "reason": "bounce",
    "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"},
}


class TestMailgun:
    async def test_a_signed_permanent_failure_suppresses_the_address(
        self, client: AsyncClient, sent: Sent
    ) -> None:
        response = await client.post(
            f"{BASE}/webhooks/mailgun", json=mailgun_event(sent, PERMANENT_FAILURE)
        )

        assert response.status_code == 204
        assert await delivery_state(client, sent) == ("failed", "bounced")
        assert not await reachable_by_email(client, sent)

    async def test_a_signed_complaint_suppresses_the_customer(
        self, client: AsyncClient, sent: Sent
    ) -> None:
        response = await client.post(
            f"{BASE}/webhooks/mailgun", json=mailgun_event(sent, {"event": "complained"})
        )

        assert response.status_code == 204
        assert not await reachable_by_email(client, sent)

    async def test_another_key_is_403_and_changes_nothing(
        self, client: AsyncClient, sent: Sent
    ) -> None:
        forged = mailgun_event(sent, PERMANENT_FAILURE, key="key-guessed")
        response = await client.post(f"{BASE}/webhooks/mailgun", json=forged)

        assert response.status_code == 403
        assert await delivery_state(client, sent) == ("sent", None)
        assert await reachable_by_email(client, sent)

    async def test_soft_bounces_suppress_the_address_at_the_third(
        self, client: AsyncClient, session: AsyncSession, sent: Sent
    ) -> None:
        temporary = {**PERMANENT_FAILURE, "severity": "temporary"}
        others = [sent]
        for _ in range(2):
            delivery = await create_delivery(
                session, sent.owner, sent.customer, channel="email", status="sent"
            )
            other = Sent(sent.owner, sent.customer, delivery, sent.place_id)
            delivery.provider_message_id = other.message_id
            await session.commit()
            others.append(other)

        for n, email in enumerate(others, start=1):
            response = await client.post(
                f"{BASE}/webhooks/mailgun", json=mailgun_event(email, temporary)
            )
            assert response.status_code == 204
            assert await delivery_state(client, email) == ("failed", "soft_bounced")
            assert await reachable_by_email(client, sent) == (n < 3)
