"""The hand-written MIME writer (`channels/mime.py`) against the standard library's
`EmailMessage` building the same campaign email: what each costs per message, unsigned and
DKIM-signed, in the same run (best of three rounds: the machine is shared), and whether the
two say the same thing (every header and part read back equal, the signature verifies).

    make bench-mime   (`cd backend && uv run --frozen python ../bench/mime_bench.py`)

Prints the figures and rewrites the "MIME writer" section of docs/benchmarks-libraries.md."""

from __future__ import annotations

import email
import email.policy
import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import dkim

from rebook.channels.base import OutgoingEmail
from rebook.channels.dkim import new_key
from rebook.channels.mime import (
    SenderIdentity,
    build_message,
    list_unsubscribe,
    make_message_id,
    with_html_footer,
    with_text_footer,
)
from rebook.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks-libraries.md"
START, END = "<!-- mime-bench:start -->", "<!-- mime-bench:end -->"
MESSAGES = 2000
ROUNDS = 3
BODY = "<p>Bonjour Camille, ça fait longtemps ! Revenez chez Salon Paris ce mois-ci.</p>" * 8
COMPARED = (
    "from",
    "to",
    "subject",
    "message-id",
    "reply-to",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "feedback-id",
    "mime-version",
)


def campaign_email(i: int) -> OutgoingEmail:
    return OutgoingEmail(
        delivery_id=i + 1,
        owner_id=1,
        campaign_id=1,
        to=f"c{i}@example.com",
        subject="Camille, on ne vous a pas vue depuis l'été — une surprise vous attend",
        html=BODY,
        text=BODY.replace("<p>", "").replace("</p>", "\n"),
        unsubscribe_url=f"https://rebook.example/unsubscribe/token{i}.sig",
        from_name="Salon Paris — Élodie",
        reply_to="contact@salon-paris.example",
    )


def stdlib_message(msg: OutgoingEmail, sender: SenderIdentity) -> bytes:
    """The same email through `EmailMessage` (policy SMTP: CRLF, folded headers), signed by
    the same signer: what Rebook would write without mime.py."""
    from_address = msg.from_address or sender.address
    from_name = msg.from_name or sender.name
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = f"{from_name} <{from_address}>" if from_name else from_address
    message["To"] = msg.to
    message["Subject"] = msg.subject
    message["Date"] = formatdate(usegmt=False, localtime=False)
    message["Message-ID"] = make_message_id(msg.delivery_id, from_address)
    if msg.reply_to:
        message["Reply-To"] = msg.reply_to
    message["List-Id"] = f"{from_name} <owner-{msg.owner_id}.{sender.list_domain}>"
    message["List-Unsubscribe"] = list_unsubscribe(msg, sender.unsubscribe_mailbox)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Feedback-ID"] = f"{msg.campaign_id}:{msg.owner_id}:campaign:rebook"
    message.set_content(with_text_footer(msg.text, msg.unsubscribe_url), cte="quoted-printable")
    message.add_alternative(
        with_html_footer(msg.html, msg.unsubscribe_url), subtype="html", cte="quoted-printable"
    )
    data = message.as_bytes()
    return data if sender.signer is None else sender.signer.sign(data, from_address)


def per_message_us(build: Callable[[OutgoingEmail], object]) -> float:
    messages = [campaign_email(i) for i in range(MESSAGES)]
    best = float("inf")
    for _ in range(ROUNDS):
        began = time.perf_counter()
        for message in messages:
            build(message)
        best = min(best, (time.perf_counter() - began) / MESSAGES)
    return best * 1e6


def read_back(data: bytes) -> tuple[dict[str, str], list[tuple[str, str]]]:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    headers = {name: " ".join(str(parsed[name]).split()) for name in COMPARED if parsed[name]}
    parts = [
        (part.get_content_type(), part.get_content().replace("\r\n", "\n").rstrip())
        for part in parsed.walk()
        if not part.is_multipart()
    ]
    return headers, parts


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        key = new_key("rebook.example", "bench")
        path = Path(tmp) / "key.pem"
        path.write_bytes(key.private_pem)
        plain = Settings(email_from="Rebook <no-reply@rebook.example>")
        signing = plain.model_copy(
            update={
                "dkim_domain": "rebook.example",
                "dkim_selector": "bench",
                "dkim_private_key_file": path,
            }
        )
        unsigned, signed = (
            SenderIdentity.from_settings(plain),
            SenderIdentity.from_settings(signing),
        )
        record = key.dns_value.encode()

        # The same message both ways, read back by the standard library's parser.
        ours, theirs = (
            build_message(campaign_email(0), signed).data,
            stdlib_message(campaign_email(0), signed),
        )
        (ours_headers, ours_parts), (their_headers, their_parts) = (
            read_back(ours),
            read_back(theirs),
        )
        differing = sorted(
            name
            for name in COMPARED
            if name != "message-id" and ours_headers.get(name) != their_headers.get(name)
        )
        dns = {b"bench._domainkey.rebook.example.": record}

        def lookup(name: bytes, timeout: int = 5) -> bytes:
            del timeout
            return dns.get(name, b"")

        verified = (dkim.verify(ours, dnsfunc=lookup), dkim.verify(theirs, dnsfunc=lookup))
        seven_bit = (ours.isascii(), theirs.isascii())

        rows = [
            ("mime.py, unsigned", per_message_us(lambda m: build_message(m, unsigned))),
            ("EmailMessage, unsigned", per_message_us(lambda m: stdlib_message(m, unsigned))),
            ("mime.py, DKIM-signed", per_message_us(lambda m: build_message(m, signed))),
            ("EmailMessage, DKIM-signed", per_message_us(lambda m: stdlib_message(m, signed))),
        ]
    parts = "equal" if ours_parts == their_parts else "NOT equal"
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    table = "\n".join(f"| {name} | {us:,.0f} | {1e6 / us:,.0f} |" for name, us in rows)
    section = f"""{START}
## MIME writer (issue 17)

Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `make bench-mime`
(`cd backend && uv run --frozen python ../bench/mime_bench.py`): {MESSAGES:,} campaign emails
(accented subject and sender name, text and HTML parts with footers, {len(ours):,} bytes),
best of {ROUNDS} rounds, built by `channels/mime.py` and by the standard library's
`EmailMessage` (policy SMTP, quoted-printable parts, the same headers) in the same run.
Load average (1/5/15 min) at the end: {load}. **Machine**: {os.cpu_count()} CPUs, shared;
{platform.platform()}, Python {platform.python_version()}.

| builder | µs per message | messages/s on one core |
|---|---:|---:|
{table}

Read back by the standard library's parser, the two differ in {differing or "no header"}
(Message-ID aside: random per message) and their parts are {parts};
DKIM verifies (dkimpy): mime.py {verified[0]}, EmailMessage {verified[1]}; 7-bit on the wire:
mime.py {seven_bit[0]}, EmailMessage {seven_bit[1]}.
{END}"""
    print(section)
    text = DOCS.read_text() if DOCS.exists() else "# Libraries: measured judgements (issue 17)\n"
    if START in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOCS.write_text(text)


if __name__ == "__main__":
    main()
