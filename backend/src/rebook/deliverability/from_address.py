"""The owner's own From address for their emails, on a domain the operator verified. Checked
when set and again at send: a domain taken off EMAIL_SENDER_DOMAINS stops being used at once.
(Each place's Reply-To is the place's: rebook.places.)"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from rebook.channels.mime import is_plain_address
from rebook.config import Settings
from rebook.errors import InvalidInput
from rebook.models import User


def sender_address(address: str | None, settings: Settings) -> str | None:
    """The owner's From address if its domain may still be signed for, else None."""
    if not address:
        return None
    domain = address.rpartition("@")[2].lower()
    return address if domain in settings.sender_domains() else None


def _checked(address: str | None, field: str) -> str | None:
    value = (address or "").strip()
    if not value:
        return None
    local, at, domain = value.rpartition("@")
    if not (at and local and "." in domain and value.isascii() and is_plain_address(value)):
        raise InvalidInput(f"{field}: {value!r} is not an email address.")
    return value


async def set_sender_email(
    session: AsyncSession, owner: User, address: str | None, settings: Settings
) -> None:
    value = _checked(address, "sender_email")
    if value is not None and sender_address(value, settings) is None:
        domains = ", ".join(sorted(settings.sender_domains())) or "none yet"
        raise InvalidInput(
            f"sender_email: {value.rpartition('@')[2]} is not a verified sending domain "
            f"(verified: {domains}); ask the operator to verify it first."
        )
    owner.sender_email = value
    await session.flush()
