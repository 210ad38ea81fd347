"""VERP (variable envelope return path): each email's envelope sender names its delivery, so
a bounce, sent back to that address, says which message failed. The address is signed with
SECRET_KEY: a forged bounce cannot name a delivery it was not sent for.

    b-<delivery id>-<signature>@BOUNCE_DOMAIN

Lower case only: some relays fold the case of an address's local part."""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

from rebook.config import Settings

_RETURN_PATH = re.compile(r"^b-(\d{1,18})-([0-9a-f]{16})@(.+)$")
# Where the `mailto:` List-Unsubscribe goes (its subject carries the unsubscribe token).
UNSUBSCRIBE_LOCAL_PART = "unsubscribe"


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"rebook-verp:" + secret.encode()).digest()


def _signature(delivery_id: int, secret: str) -> str:
    return hmac.new(_key(secret), str(delivery_id).encode(), "sha256").hexdigest()[:16]


def return_path(delivery_id: int, settings: Settings) -> str | None:
    """The envelope sender of this delivery's email; None without a BOUNCE_DOMAIN."""
    if not settings.bounce_domain:
        return None
    signature = _signature(delivery_id, settings.secret_key)
    return f"b-{delivery_id}-{signature}@{settings.bounce_domain.lower()}"


def delivery_of(address: str, settings: Settings) -> int | None:
    """The delivery a genuine return path names; None for any other address."""
    found = _RETURN_PATH.match(address.strip().strip("<>").lower())
    if found is None or found.group(3) != settings.bounce_domain.lower():
        return None
    delivery_id = int(found.group(1))
    expected = _signature(delivery_id, settings.secret_key)
    return delivery_id if hmac.compare_digest(found.group(2), expected) else None


def unsubscribe_address(settings: Settings) -> str | None:
    if not settings.bounce_domain:
        return None
    return f"{UNSUBSCRIBE_LOCAL_PART}@{settings.bounce_domain.lower()}"
