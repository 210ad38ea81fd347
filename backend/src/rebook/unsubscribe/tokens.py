"""Unsubscribe tokens: a signed (owner, customer, channel, place) that never expires, so the
link in an old email still works; any change to it breaks the signature. The place is the one
the message came from, which the page names; tokens written before it was added (three
parts) still read, with no place."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from rebook.config import Settings
from rebook.inputs import parse_id


@dataclass(frozen=True)
class UnsubscribeTarget:
    owner_id: int
    user_id: int
    channel: str
    place_id: int | None = None


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    """Derived once per secret: every email of a campaign signs a token with it."""
    return hashlib.sha256(b"rebook-unsubscribe:" + secret.encode()).digest()


def _sign(payload: bytes, secret: str) -> bytes:
    return hmac.digest(_key(secret), payload, "sha256")[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(target: UnsubscribeTarget, settings: Settings) -> str:
    parts = [target.owner_id, target.user_id, target.channel]
    if target.place_id is not None:
        parts.append(target.place_id)
    payload = ".".join(str(part) for part in parts).encode()
    return f"{_b64(payload)}.{_b64(_sign(payload, settings.secret_key))}"


def read_token(token: str, settings: Settings) -> UnsubscribeTarget | None:
    """The target of a genuine token, else None."""
    try:
        payload_part, signature_part = token.split(".", 1)
        payload, signature = _unb64(payload_part), _unb64(signature_part)
        if not hmac.compare_digest(signature, _sign(payload, settings.secret_key)):
            return None
        owner_id, user_id, channel, *place = payload.decode().split(".")
        if len(place) > 1:
            return None
        place_id = parse_id(place[0]) if place else None
        return UnsubscribeTarget(parse_id(owner_id), parse_id(user_id), channel, place_id)
    except (ValueError, UnicodeDecodeError):
        return None


def unsubscribe_url(target: UnsubscribeTarget, settings: Settings) -> str:
    return f"{settings.public_base_url.rstrip('/')}/unsubscribe/{make_token(target, settings)}"
