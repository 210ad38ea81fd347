"""Campaign emails as MIME bytes, written directly.

The standard library's `EmailMessage` costs tens of times as much per message (every
header goes through its parsing registry, then a generator pass; ADR 017, `make bench-mime`).
A campaign's messages all have the same simple structure, so it is written straight out:
`multipart/alternative` with a text and an HTML part, both UTF-8 in quoted-printable (7-bit
clean, so any relay takes them), and the headers below.

Header values that come from people (subject, sender name, address) are checked for line
breaks — a header injection — and refused with `ValueError`. Non-ASCII in the subject or the
name becomes RFC 2047 encoded words; a non-ASCII address is written as UTF-8 (RFC 6532) and
the message must then go with SMTPUTF8, which `EmailBytes.needs_smtputf8` says.

`build_message` is the whole campaign email: both parts with their unsubscribe footer, from
the place's name and the owner's address (or EMAIL_FROM's), replies to the place, a List-Id
per owner, a Feedback-ID per campaign, both one-click and mailto unsubscribe, DKIM-signed."""

from __future__ import annotations

import base64
import binascii
import html
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from urllib.parse import quote

from rebook.channels import verp
from rebook.channels.base import OutgoingEmail
from rebook.channels.dkim import DkimSigner
from rebook.config import Settings

CRLF = "\r\n"
_FORBIDDEN_IN_HEADERS = ("\r", "\n", "\0")


@dataclass(frozen=True)
class EmailBytes:
    data: bytes
    message_id: str
    needs_smtputf8: bool


def is_plain_address(address: str) -> bool:
    """An address that can go between `<>` in an SMTP command or stand alone in a header:
    no display name, spaces, angle brackets, line breaks or other control characters."""
    return address.isprintable() and bool(address) and not any(c in address for c in " <>")


def _check_header_value(name: str, value: str) -> None:
    if any(c in value for c in _FORBIDDEN_IN_HEADERS):
        raise ValueError(f"line break in the {name} header")


def _encoded_text(name: str, value: str) -> str:
    """An unstructured header's value (RFC 5322), folded; encoded words (RFC 2047) when not
    ASCII, or when the text itself looks like an encoded word and would be decoded."""
    plain = value.isascii() and "=?" not in value
    if plain and len(value) + len(name) + 2 <= 78:
        return value
    if plain:
        return Header(value, "us-ascii", header_name=name).encode(linesep=CRLF)
    return _encoded_words(value)


# UTF-8 bytes per encoded word: "=?utf-8?b?" + 52 base64 characters + "?=" is 64 characters,
# so every folded line, "Subject: " included, stays within 78.
_WORD_BYTES = 39


def _encoded_words(value: str) -> str:
    """`value` as RFC 2047 encoded words (UTF-8, base64), one per folded line, each of whole
    characters (RFC 2047 §5: a word must decode on its own). Not `email.header.Header`: it
    measures each candidate line character by character, as much work as the rest of the
    message."""
    data = value.encode()
    words = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a character's later byte
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return (CRLF + " ").join(words)


@lru_cache(maxsize=1024)
def _from_header(display_name: str, address: str) -> str:
    """A campaign has one or a few senders: each From value is worked out once."""
    _check_header_value("From", display_name)
    if not display_name:
        return address
    if display_name.isascii():
        return formataddr((display_name, address))  # quotes the name when it needs it
    return f"{_encoded_text('From', display_name)} <{address}>"


@lru_cache(maxsize=2)
def _date_header(epoch_second: int) -> str:
    """The Date header with a numeric zone (RFC 5322 §3.3; "GMT" is obsolete syntax),
    worked out once per second rather than for every message."""
    return format_datetime(datetime.fromtimestamp(epoch_second, UTC))


def _quoted_printable(text: str) -> str:
    """A body part: CRLF line ends, quoted-printable (lines ≤ 76 characters, 7-bit)."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", CRLF)
    return binascii.b2a_qp(normalised.encode(), quotetabs=False, istext=True).decode("ascii")


def email_bytes(
    msg: OutgoingEmail,
    *,
    from_name: str,
    from_address: str,
    text: str,
    html: str,
    headers: Sequence[str] = (),
) -> EmailBytes:
    """The message as sent: headers (`headers` after the standard ones), then
    `multipart/alternative` (text, then HTML)."""
    _check_header_value("Subject", msg.subject)
    if not is_plain_address(msg.to):
        raise ValueError("the recipient address is not a plain address")
    message_id = make_message_id(msg.delivery_id, from_address)
    # "=_" never occurs in quoted-printable output, so the boundary cannot occur in a part:
    # it needs no randomness.
    boundary = f"=_rebook_{msg.delivery_id}"
    part_headers = 'charset="utf-8"' + CRLF + "Content-Transfer-Encoding: quoted-printable"
    lines = [
        f"From: {_from_header(from_name, from_address)}",
        f"To: {msg.to}",
        f"Subject: {_encoded_text('Subject', msg.subject)}",
        f"Date: {_date_header(int(time.time()))}",
        f"Message-ID: {message_id}",
        *headers,
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        f"--{boundary}",
        f"Content-Type: text/plain; {part_headers}",
        "",
        _quoted_printable(text),
        f"--{boundary}",
        f"Content-Type: text/html; {part_headers}",
        "",
        _quoted_printable(html),
        f"--{boundary}--",
        "",
    ]
    needs_smtputf8 = not msg.to.isascii()
    return EmailBytes(
        data=CRLF.join(lines).encode("utf-8" if needs_smtputf8 else "ascii"),
        message_id=message_id,
        needs_smtputf8=needs_smtputf8,
    )


_MESSAGE_ID = re.compile(r"<?delivery-(\d+)\.[0-9a-f]+@")


def make_message_id(delivery_id: int, from_address: str) -> str:
    """A Message-ID unique in the world (RFC 5322 §3.6.4): delivery ids start at 1 in every
    database, so 64 random bits stand beside the id, which traces a bounce to its delivery
    (`delivery_id_of`); the whole value is stored as the delivery's provider message id."""
    domain = from_address.rpartition("@")[2] or "rebook.invalid"
    return f"<delivery-{delivery_id}.{secrets.token_hex(8)}@{domain}>"


def delivery_id_of(message_id: str) -> int | None:
    """The delivery a Message-ID of ours (or a bounce's In-Reply-To / References) names."""
    found = _MESSAGE_ID.search(message_id)
    return int(found.group(1)) if found else None


def with_text_footer(text: str, unsubscribe_url: str) -> str:
    """The text part, with an unsubscribe line unless the link is already in it."""
    if unsubscribe_url in text:
        return text
    return (
        f"{text.rstrip()}\n\n--\nTo stop receiving these emails, unsubscribe: {unsubscribe_url}\n"
    )


def with_html_footer(body: str, unsubscribe_url: str) -> str:
    """The HTML part, with an unsubscribe link unless the link is already in it."""
    if unsubscribe_url in body or html.escape(unsubscribe_url) in body:
        return body
    footer = (
        '<p style="margin-top:32px;font-size:12px;color:#666">'
        "Don't want these emails? "
        f'<a href="{html.escape(unsubscribe_url)}">Unsubscribe</a></p>'
    )
    closing = body.lower().rfind("</body>")
    if closing == -1:
        return f"{body}\n{footer}"
    return f"{body[:closing]}{footer}\n{body[closing:]}"


@lru_cache(maxsize=8)
def sender_of(email_from: str) -> tuple[str, str]:
    """EMAIL_FROM's (name, address), parsed once rather than for every message."""
    return parseaddr(email_from)


@dataclass(frozen=True)
class SenderIdentity:
    """What every email of this platform shares: the default sender, the domain of List-Id,
    the mailbox of mailto unsubscribes, and the DKIM key."""

    name: str
    address: str
    list_domain: str
    unsubscribe_mailbox: str | None
    signer: DkimSigner | None

    @classmethod
    def from_settings(cls, settings: Settings) -> SenderIdentity:
        name, address = sender_of(settings.email_from)
        return cls(
            name=name,
            address=address,
            list_domain=settings.dkim_domain or address.rpartition("@")[2] or "rebook.invalid",
            unsubscribe_mailbox=verp.unsubscribe_address(settings),
            signer=DkimSigner.from_settings(settings),
        )


def _list_id(name: str, owner_id: int, domain: str) -> str:
    """RFC 2919: the owner's customers are the list; the name says whose it is."""
    _check_header_value("List-Id", name)
    list_id = f"owner-{owner_id}.{domain}"
    if not name:
        return f"<{list_id}>"
    if name.isascii():
        return formataddr((name, list_id))
    return f"{_encoded_words(name)} <{list_id}>"


def list_unsubscribe(msg: OutgoingEmail, mailbox: str | None) -> str:
    """The https one-click link (RFC 8058) and, when there is a mailbox for it, a mailto
    whose subject carries the same signed token (RFC 2369)."""
    links = [f"<{msg.unsubscribe_url}>"]
    if mailbox:
        token = msg.unsubscribe_url.rstrip("/").rpartition("/")[2]
        links.append(f"<mailto:{mailbox}?subject={quote('unsubscribe ' + token)}>")
    return ", ".join(links)


def build_message(msg: OutgoingEmail, sender: SenderIdentity) -> EmailBytes:
    """The MIME message: `multipart/alternative` (text, then HTML, each with the unsubscribe
    footer), a Message-ID of its own that names the delivery, the list headers, RFC 8058
    one-click unsubscribe, and a DKIM signature over them."""
    from_address = msg.from_address or sender.address
    from_name = msg.from_name or sender.name
    if msg.reply_to is not None and not is_plain_address(msg.reply_to):
        raise ValueError("the Reply-To address is not a plain address")
    headers = [
        *([f"Reply-To: {msg.reply_to}"] if msg.reply_to else []),
        f"List-Id: {_list_id(from_name, msg.owner_id, sender.list_domain)}",
        f"List-Unsubscribe: {list_unsubscribe(msg, sender.unsubscribe_mailbox)}",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        f"Feedback-ID: {msg.campaign_id}:{msg.owner_id}:campaign:rebook",
        *(["X-Rebook-Test: yes"] if msg.is_test else []),
    ]
    message = email_bytes(
        msg,
        from_name=from_name,
        from_address=from_address,
        text=with_text_footer(msg.text, msg.unsubscribe_url),
        html=with_html_footer(msg.html, msg.unsubscribe_url),
        headers=headers,
    )
    if sender.signer is None:
        return message
    return EmailBytes(
        data=sender.signer.sign(message.data, from_address),
        message_id=message.message_id,
        needs_smtputf8=message.needs_smtputf8,
    )
