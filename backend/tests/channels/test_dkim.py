"""DKIM: what the relay receives verifies against the published key, with dkimpy's own
verifier; a signed header changed on the way breaks it. And the envelope of each email: its
own signed return path (VERP), the configured EHLO name."""

from __future__ import annotations

import email
import email.policy
import subprocess
from pathlib import Path

import dkim
import pytest

from rebook.channels import verp
from rebook.channels.base import OutgoingEmail
from rebook.channels.dkim import new_key
from rebook.channels.mime import SenderIdentity, build_message
from rebook.channels.smtp import SmtpEmailSender
from rebook.config import REPO_ROOT, Settings
from tests.channels.test_mime import TRICKY_TEXTS
from tests.fakes.smtp import SmtpSink
from tests.fixtures_channels import channel_settings

DOMAIN = "rebook.example"
SELECTOR = "rb2026"
REBOOK = REPO_ROOT / "backend" / ".venv" / "bin" / "rebook"


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A DKIM key and the TXT record that publishes it (what DNS would answer)."""
    key = new_key(DOMAIN, SELECTOR)
    path = tmp_path_factory.mktemp("dkim") / "key.pem"
    path.write_bytes(key.private_pem)
    return path, key.dns_value


def signing_settings(key: Path, **overrides: object) -> Settings:
    return channel_settings(
        dkim_domain=DOMAIN,
        dkim_selector=SELECTOR,
        dkim_private_key_file=str(key),
        email_sender_domains="salon-paris.fr",
        bounce_domain="bounces.rebook.example",
        **overrides,
    )


def dns(records: dict[str, str]):  # type: ignore[no-untyped-def]
    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name.decode().rstrip("."), "").encode()

    return lookup


def campaign_email(**values: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "delivery_id": 41,
        "owner_id": 7,
        "campaign_id": 3,
        "to": "camille@example.com",
        "subject": "We miss you, Camille",
        "html": "<p>Hello <b>Camille</b>, come back soon.</p>",
        "text": "Hello Camille, come back soon.",
        "unsubscribe_url": "https://rebook.example/unsubscribe/abc.def",
        "from_name": "Salon Paris",
        **values,
    }
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


def signed_headers(data: bytes) -> list[str]:
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    signature = " ".join(str(message["DKIM-Signature"]).split())
    tags = dict(tag.strip().split("=", 1) for tag in signature.split(";") if "=" in tag)
    return [h.strip().lower() for h in tags["h"].replace(" ", "").split(":")]


class TestSignature:
    def test_a_signed_email_verifies_against_the_published_key(
        self, key_file: tuple[Path, str]
    ) -> None:
        path, record = key_file
        sender = SenderIdentity.from_settings(signing_settings(path))
        data = build_message(campaign_email(), sender).data

        assert dkim.verify(data, dnsfunc=dns({f"{SELECTOR}._domainkey.{DOMAIN}": record}))
        assert {
            "from",
            "to",
            "subject",
            "date",
            "message-id",
            "list-unsubscribe",
            "list-unsubscribe-post",
        } <= set(signed_headers(data))

    @pytest.mark.parametrize(
        ("header", "forged"),
        [
            ("Subject", "Subject: You won a prize"),
            ("List-Unsubscribe", "List-Unsubscribe: <https://evil.example/u>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe-Post: nothing"),
            ("From", "From: Bank <ceo@bank.example>"),
        ],
    )
    def test_changing_a_signed_header_breaks_the_signature(
        self, key_file: tuple[Path, str], header: str, forged: str
    ) -> None:
        path, record = key_file
        data = build_message(campaign_email(), SenderIdentity.from_settings(signing_settings(path)))
        lines = data.data.split(b"\r\n")
        at = next(i for i, line in enumerate(lines) if line.startswith(header.encode() + b": "))
        while lines[at + 1].startswith((b" ", b"\t")):  # a folded header's later lines
            del lines[at + 1]
        lines[at] = forged.encode()

        records = {f"{SELECTOR}._domainkey.{DOMAIN}": record}
        assert not dkim.verify(b"\r\n".join(lines), dnsfunc=dns(records))

    @pytest.mark.parametrize("text", TRICKY_TEXTS)
    def test_every_kind_of_content_verifies(self, key_file: tuple[Path, str], text: str) -> None:
        path, record = key_file
        sender = SenderIdentity.from_settings(signing_settings(path))
        # Long and accented subjects and names fold over several lines; bodies hold dots,
        # trailing spaces, tabs, bare CRs and lines longer than quoted-printable allows.
        message = campaign_email(
            subject=("Zoé, ça fait longtemps — " * 4)
            + text[:40].replace("\n", " ").replace("\r", " ").strip(),
            from_name="Salon Zoé & Müller, Paris",
            text=text,
            html=f"<p>{text}</p>",
        )
        data = build_message(message, sender).data

        assert dkim.verify(data, dnsfunc=dns({f"{SELECTOR}._domainkey.{DOMAIN}": record}))

    def test_an_owner_address_on_a_verified_domain_is_signed_for_that_domain(
        self, key_file: tuple[Path, str]
    ) -> None:
        path, record = key_file
        sender = SenderIdentity.from_settings(signing_settings(path))
        data = build_message(campaign_email(from_address="hello@salon-paris.fr"), sender).data

        # The owner's domain publishes the key (a CNAME to Rebook's record): d= aligns.
        assert b"d=salon-paris.fr" in data.split(b"\r\n\r\n")[0].replace(b"\r\n ", b" ")
        assert dkim.verify(data, dnsfunc=dns({f"{SELECTOR}._domainkey.salon-paris.fr": record}))


class TestEnvelope:
    async def test_what_the_relay_receives_is_signed_and_bounces_to_its_delivery(
        self, key_file: tuple[Path, str], smtp_sink: SmtpSink
    ) -> None:
        path, record = key_file
        settings = signing_settings(
            path,
            smtp_host="127.0.0.1",
            smtp_port=smtp_sink.port,
            smtp_ehlo_name="mx.rebook.example",
        )
        sender = SmtpEmailSender(settings)
        try:
            await sender.send(campaign_email(delivery_id=41))
        finally:
            await sender.aclose()

        (received,) = smtp_sink.received
        records = {f"{SELECTOR}._domainkey.{DOMAIN}": record}
        assert dkim.verify(received.content, dnsfunc=dns(records))
        assert received.mail_from.startswith("b-41-")
        assert received.mail_from.endswith("@bounces.rebook.example")
        assert verp.delivery_of(received.mail_from, settings) == 41
        assert smtp_sink.handler.ehlo_names == ["mx.rebook.example"]

    def test_a_forged_return_path_names_no_delivery(self, key_file: tuple[Path, str]) -> None:
        settings = signing_settings(key_file[0])
        genuine = verp.return_path(41, settings)
        assert genuine is not None
        assert verp.delivery_of(genuine.upper(), settings) == 41  # case folded on the way
        assert verp.delivery_of(genuine.replace("b-41-", "b-42-"), settings) is None
        assert verp.delivery_of(genuine.replace("bounces.", "other."), settings) is None


def test_dkim_keygen_writes_a_key_and_prints_its_record(tmp_path: Path) -> None:
    out = tmp_path / "rebook.pem"
    result = subprocess.run(
        [str(REBOOK), "dkim-keygen", DOMAIN, SELECTOR, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert f'{SELECTOR}._domainkey.{DOMAIN}. IN TXT "v=DKIM1; k=rsa; p=' in result.stdout
    assert out.stat().st_mode & 0o077 == 0  # readable by its owner only
    # The printed record verifies what the written key signs.
    record = result.stdout.split('IN TXT "', 1)[1].split('"', 1)[0]
    settings = channel_settings(
        dkim_domain=DOMAIN, dkim_selector=SELECTOR, dkim_private_key_file=str(out)
    )
    data = build_message(campaign_email(), SenderIdentity.from_settings(settings)).data
    assert dkim.verify(data, dnsfunc=dns({f"{SELECTOR}._domainkey.{DOMAIN}": record}))
