"""The MIME writer, read back by the standard library's parser: what a mail client shows must be
exactly what the engine meant to send, whatever the text holds."""

from __future__ import annotations

import base64
import email
import email.policy
import random
import re
from email.message import EmailMessage

import pytest

from rebook.channels.base import OutgoingEmail
from rebook.channels.mime import SenderIdentity, build_message, delivery_id_of, email_bytes

URL = "https://rebook.example/unsubscribe/abc.def"
ENCODED_WORD = re.compile(r"=\?([^?]+)\?([bBqQ])\?([^?]*)\?=")


def write(
    *,
    subject: str = "We miss you",
    to: str = "camille@example.com",
    from_name: str = "Salon Paris",
    text: str = "Hello",
    html: str = "<p>Hello</p>",
) -> tuple[EmailMessage, bytes]:
    msg = OutgoingEmail(
        delivery_id=7, owner_id=1, to=to, subject=subject, html=html, text=text, unsubscribe_url=URL
    )
    written = email_bytes(
        msg, from_name=from_name, from_address="no-reply@rebook.test", text=text, html=html
    )
    parsed = email.message_from_bytes(written.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed, written.data


def contents(message: EmailMessage) -> tuple[str, str]:
    plain, rich = message.iter_parts()
    assert isinstance(plain, EmailMessage)
    assert isinstance(rich, EmailMessage)
    return plain.get_content(), rich.get_content()


def crlf(text: str) -> str:
    """What a body reads as after the trip: line ends are CRLF on the wire."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


TRICKY_TEXTS = [
    "Plain ASCII.",
    "Ça va, Zoé? Müller — 10 % off 🎉",
    "A line much longer than seventy-six characters, so quoted-printable must wrap it softly. " * 3,
    ".\nA line with only a dot above, and one starting with a dot:\n.hidden",
    "From here on, mbox would have mangled this line.",
    "Trailing spaces   \nand tabs\t\nstay.",
    "Windows\r\nline ends\rand old Mac ones.",
    "=?utf-8?q?not_an_encoded_word?= and = signs and =3D",
    "--=_rebook_ a fake boundary line\n--=_rebook_",
    "",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_both_parts_read_back_exactly(text: str) -> None:
    html = f"<p>{text}</p>"
    message, raw = write(text=text, html=html)

    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert contents(message) == (crlf(text), crlf(html))
    # 7-bit clean, lines within RFC 5322's limit: any relay takes it as it is.
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize(
    "subject",
    [
        "We miss you, Camille",
        "Zoé, on vous attend chez Müller ✂️",
        "A very long subject line that goes on and on well past the seventy-eight characters",
        "Ünïcödé " * 20,
        "=?utf-8?b?SGk=?= looks encoded but is not",
        # Four-byte characters from each offset: an encoded word never splits one.
        *("x" * offset + "🎉 é" * 25 for offset in range(4)),
    ],
)
def test_the_subject_reads_back_exactly(subject: str) -> None:
    message, raw = write(subject=subject)

    assert message["Subject"] == subject
    assert raw.isascii()
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in headers.split(b"\r\n")) <= 78
    # Each encoded word stands alone (RFC 2047 §5); Python's parser would forgive a
    # character split between two, other mail clients show it garbled.
    for charset, encoding, payload in ENCODED_WORD.findall(headers.decode()):
        assert (charset.lower(), encoding.lower()) == ("utf-8", "b")
        base64.b64decode(payload).decode("utf-8")  # raises on a split character


def test_the_same_delivery_in_another_database_gets_another_message_id() -> None:
    """Delivery ids start at 1 in every database: two installations (or a database rebuilt)
    write the same delivery id, and receivers must still see two messages."""
    first, _ = write()
    second, _ = write()

    assert first["Message-ID"] != second["Message-ID"]
    assert delivery_id_of(first["Message-ID"]) == delivery_id_of(second["Message-ID"]) == 7


@pytest.mark.parametrize(
    ("header", "delivery_id"),
    [
        ("<delivery-7.0123456789abcdef@rebook.test>", 7),
        ("Re: x <delivery-123.00ff00ff00ff00ff@mail.example>", 123),
        ("<delivery-7@rebook.test>", None),
        ("<CAF=abc@mail.gmail.com>", None),
    ],
)
def test_a_bounce_is_traced_to_its_delivery(header: str, delivery_id: int | None) -> None:
    assert delivery_id_of(header) == delivery_id


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Salon Paris", "Salon Paris <no-reply@rebook.test>"),
        ("Chez Zoé", "Chez Zoé <no-reply@rebook.test>"),
        ('Smith, "The" Barber', '"Smith, \\"The\\" Barber" <no-reply@rebook.test>'),
        ("", "no-reply@rebook.test"),
    ],
)
def test_the_sender_name_reads_back_exactly(name: str, shown: str) -> None:
    message, _ = write(from_name=name)

    assert message["From"] == shown
    assert message["From"].addresses[0].display_name == name
    assert message["From"].addresses[0].addr_spec == "no-reply@rebook.test"


SENDER = SenderIdentity(
    name="Rebook",
    address="no-reply@rebook.test",
    list_domain="rebook.test",
    unsubscribe_mailbox="unsubscribe@bounces.rebook.test",
    signer=None,
)


def build(**values: object) -> EmailMessage:
    fields: dict[str, object] = {
        "delivery_id": 7,
        "owner_id": 12,
        "campaign_id": 34,
        "to": "camille@example.com",
        "subject": "We miss you",
        "html": "<p>Hello</p>",
        "text": "Hello",
        "unsubscribe_url": URL,
        "from_name": "Salon Paris",
        **values,
    }
    written = build_message(OutgoingEmail(**fields), SENDER)  # type: ignore[arg-type]
    parsed = email.message_from_bytes(written.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_headers_identify_the_delivery_and_offer_one_click_unsubscribe() -> None:
    message = build()

    assert message["To"] == "camille@example.com"
    assert re.fullmatch(r"<delivery-7\.[0-9a-f]{16}@rebook\.test>", message["Message-ID"])
    one_click, mailto = (link.strip() for link in str(message["List-Unsubscribe"]).split(","))
    assert one_click == f"<{URL}>"
    assert mailto == ("<mailto:unsubscribe@bounces.rebook.test?subject=unsubscribe%20abc.def>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["MIME-Version"] == "1.0"
    assert message.defects == []
    assert all(part.defects == [] for part in message.iter_parts())


def test_date_has_a_numeric_zone() -> None:
    raw_date = str(build()["Date"])
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", raw_date), raw_date


def test_the_business_is_the_sender_and_gets_the_replies() -> None:
    message = build(from_address="hello@salon-paris.fr", reply_to="contact@salon-paris.fr")

    assert message["From"].addresses[0].display_name == "Salon Paris"
    assert message["From"].addresses[0].addr_spec == "hello@salon-paris.fr"
    assert message["Reply-To"] == "contact@salon-paris.fr"
    assert message["List-Id"] == "Salon Paris <owner-12.rebook.test>"
    assert message["Feedback-ID"] == "34:12:campaign:rebook"
    assert message["X-Rebook-Test"] is None


def test_without_an_address_of_its_own_the_platform_sends_and_no_reply_to() -> None:
    message = build()

    assert message["From"].addresses[0].addr_spec == "no-reply@rebook.test"
    assert message["Reply-To"] is None


def test_a_test_send_says_so() -> None:
    assert build(is_test=True)["X-Rebook-Test"] == "yes"


def test_a_reply_to_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="plain address"):
        build(reply_to="a@b.fr\r\nBcc: all@example.com")


def test_a_non_ascii_address_is_written_as_utf8_and_asks_for_smtputf8() -> None:
    msg = OutgoingEmail(
        delivery_id=1, owner_id=1, to="zoé@exemple.fr", subject="s", html="h", text="t",
        unsubscribe_url=URL,
    )  # fmt: skip
    written = email_bytes(
        msg, from_name="", from_address="no-reply@rebook.test", text="t", html="h"
    )

    assert written.needs_smtputf8
    parsed = email.message_from_bytes(written.data, policy=email.policy.default)
    assert parsed["To"] == "zoé@exemple.fr"


@pytest.mark.parametrize(
    "field",
    [
        {"subject": "Hello\r\nBcc: everyone@example.com"},
        {"subject": "Hello\nBcc: everyone@example.com"},
        {"to": "camille@example.com\r\nBcc: everyone@example.com"},
        {"to": "Camille <camille@example.com>"},
        {"from_name": "Salon\r\nBcc: everyone@example.com"},
    ],
)
def test_header_injection_is_refused(field: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"line break|plain address"):
        write(**field)


def test_random_texts_read_back_exactly() -> None:
    """Hundreds of texts from an alphabet of what breaks encoders: each part must read back as
    it was written."""
    alphabet = "aZ09 .=-_\t\n\r\"'<>&é€🎉ß\u00a0\u200b"
    rng = random.Random(20261124)
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        one_line = alphabet.replace("\n", "").replace("\r", "")
        # Rendered subjects are stripped (rendering.render_email); so is a parsed header.
        subject = "".join(rng.choice(one_line) for _ in range(rng.randint(1, 120))).strip()
        message, raw = write(subject=subject, text=text, html=text)
        assert contents(message) == (crlf(text), crlf(text))
        assert message["Subject"] == subject
        assert raw.isascii()
