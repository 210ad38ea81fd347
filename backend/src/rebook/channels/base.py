"""The interface the delivery engine calls: one sender per channel, chosen by settings.

A sender turns one message into one provider call and answers with a `SendResult`, or raises
`SendFailure` saying whether the engine should retry, fail the delivery, or also record a
suppression. Senders never touch campaign state: that is the engine's job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class OutgoingEmail:
    delivery_id: int
    owner_id: int
    to: str
    subject: str
    html: str
    text: str
    unsubscribe_url: str  # https URL; used for List-Unsubscribe and the footer link
    from_name: str | None = None  # e.g. the place's name; falls back to EMAIL_FROM's name
    # The owner's own sender address on a verified domain; else EMAIL_FROM's address.
    from_address: str | None = None
    reply_to: str | None = None  # the place's address, so replies reach the business
    campaign_id: int = 0  # names the campaign in Feedback-ID
    # A test send to the owner: marked as such, no delivery of its own (`delivery_id` 0).
    is_test: bool = False


@dataclass(frozen=True)
class OutgoingWhatsApp:
    delivery_id: int
    owner_id: int
    to_e164: str
    body: str | None
    content_sid: str | None
    content_variables: dict[str, str] | None
    # A template's text as the customer reads it (the outbox keeps it; Twilio renders its own).
    template_text: str | None = None


@dataclass(frozen=True)
class ContentTemplate:
    """One content template of the provider account and its WhatsApp approval: what the
    Content API's ContentAndApprovals lists."""

    content_sid: str
    friendly_name: str
    language: str | None
    category: str | None  # as Meta names it: MARKETING, UTILITY, AUTHENTICATION…
    status: str  # approved, pending, received, rejected, paused, disabled, unsubmitted
    rejection_reason: str | None
    types: dict[str, Any]  # the Content API's `types`: twilio/text, twilio/media…
    sample_variables: dict[str, str]


class CatalogUnavailable(Exception):
    """The provider's template list could not be read; `message` says why, for an owner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str | None
    provider_status: str | None
    cost: Decimal | None = None


class SendFailure(Exception):
    """A message the provider did not take.

    `code`: the provider's code ("21211", "63016", "smtp-550", "network", "timeout", "http-429"…);
    `message`: one sentence an owner understands; `transient`: retry with backoff, else fail at
    once; `suppress`: the customer opted out at the provider (record a suppression);
    `retry_after`: seconds, when the provider said how long to wait; `maybe_delivered`: the
    message went out and no answer came, so the provider may have it (a retry is flagged as a
    possible duplicate); `stops_sending`: every other message of the campaign on this
    channel would fail the same way (a paused template), so they are not sent."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        transient: bool,
        suppress: bool = False,
        retry_after: float | None = None,
        maybe_delivered: bool = False,
        stops_sending: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.transient = transient
        self.suppress = suppress
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered
        self.stops_sending = stops_sending
        # The relay's words when it refused the address for good (a hard bounce): the
        # address is then suppressed for every owner.
        self.hard_bounce: str | None = None

    def __repr__(self) -> str:
        return (
            f"SendFailure(code={self.code!r}, transient={self.transient}, "
            f"suppress={self.suppress}, retry_after={self.retry_after}, "
            f"maybe_delivered={self.maybe_delivered})"
        )


class TooLate(Exception):
    """A message not sent because it could not leave by the time it was given (its send
    slot had passed): the caller may give it another."""


class EmailSender(Protocol):
    async def connect(self) -> None:
        """Open the provider connections now, before the first message."""
        ...

    async def send(self, msg: OutgoingEmail, *, not_after: datetime | None = None) -> SendResult:
        """Raises `TooLate`, having sent nothing, if the message would reach the wire after
        `not_after` (it waited for a busy connection)."""
        ...

    async def aclose(self) -> None: ...


class WhatsAppSender(Protocol):
    async def connect(self) -> None:
        """Open a connection to the provider now, before the first message."""
        ...

    async def send(self, msg: OutgoingWhatsApp) -> SendResult: ...

    async def find_sent(self, msg: OutgoingWhatsApp, since: datetime) -> SendResult | None:
        """Crash recovery: the provider's record of this delivery's message if it was already
        sent at or after `since`, else None (then sending again is safe)."""
        ...

    async def aclose(self) -> None: ...


class TemplateCatalog(Protocol):
    @property
    def account(self) -> str:
        """Whose templates these are (the Twilio account SID, or "outbox")."""
        ...

    async def list_templates(self) -> list[ContentTemplate]:
        """Every template of the account; raises CatalogUnavailable."""
        ...

    async def aclose(self) -> None: ...


def mask(value: str) -> str:
    """What logs may show of an address or phone number: its last three characters."""
    return f"***{value[-3:]}" if value else ""
