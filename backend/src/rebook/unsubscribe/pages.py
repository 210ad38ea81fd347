"""The small HTML pages a customer sees after clicking an unsubscribe link."""

from __future__ import annotations

from html import escape

CHANNEL_WORDS = {"email": "emails", "whatsapp": "WhatsApp messages"}


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;
color:#1a1a1a;line-height:1.5}}
button{{font:inherit;padding:.6rem 1.2rem;border-radius:.4rem;border:0;background:#1f4fd1;
color:#fff;cursor:pointer}}
button:focus-visible{{outline:3px solid #111;outline-offset:2px}}
</style>
</head>
<body>
<main>
<h1>{escape(title)}</h1>
{body}
</main>
</body>
</html>
"""


def _from(business: str | None) -> str:
    return f" from {escape(business)}" if business else ""


def confirm_page(action_path: str, channel: str, business: str | None) -> str:
    what = CHANNEL_WORDS.get(channel, "messages")
    return _page(
        "Unsubscribe",
        f"<p>Do you want to stop receiving marketing {what}{_from(business)}?</p>\n"
        f'<form method="post" action="{escape(action_path)}">\n'
        '<button type="submit">Unsubscribe</button>\n'
        "</form>",
    )


def done_page(channel: str, business: str | None) -> str:
    what = CHANNEL_WORDS.get(channel, "messages")
    return _page(
        "You're unsubscribed",
        f"<p>You will no longer receive marketing {what}{_from(business)}.</p>",
    )


def already_page(channel: str, business: str | None) -> str:
    what = CHANNEL_WORDS.get(channel, "messages")
    return _page(
        "You're already unsubscribed",
        f"<p>You unsubscribed earlier: you no longer receive marketing {what}"
        f"{_from(business)}. There is nothing more to do.</p>",
    )


def invalid_page() -> str:
    return _page(
        "This link is not valid",
        "<p>This unsubscribe link is incomplete or has been changed. Please use the link from "
        "the message you received.</p>",
    )
