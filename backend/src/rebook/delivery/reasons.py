"""Why a delivery was not sent: the one table of skip reasons (and of the failures Rebook
itself decides; a provider's come with its answer, rebook.channels.errors), each a code
(stored in `campaign_deliveries.error_code`) and the sentence the owner reads beside the
recipient.

A reason found when a recipient is added describes the customer ("No phone number on
file."); one found just before the send says the message was not sent. The checks that
find them are elsewhere (`rebook.messaging.audience` decides who may be messaged); their
words are here only."""

from __future__ import annotations

from typing import NamedTuple


class Reason(NamedTuple):
    code: str
    message: str


# Found when the recipient is added.
NO_EMAIL = Reason("no_email", "No email address on file.")
NO_PHONE = Reason("no_phone", "No phone number on file.")
INVALID_PHONE = Reason(
    "invalid_phone",
    "This phone number is not a valid number (one written without a country code is read with "
    "the place's country), so WhatsApp was skipped.",
)
UNSUBSCRIBED_WHEN_ADDED = {
    "email": Reason("unsubscribed", "Unsubscribed from your emails."),
    "whatsapp": Reason("unsubscribed", "Unsubscribed from your WhatsApp messages."),
}

# Found again just before the send, from the live rows.
NO_CONSENT = Reason(
    "no_consent", "Not sent: the customer no longer consents to marketing messages."
)
NOT_A_CUSTOMER = Reason(
    "not_a_customer", "Not sent: this person is not a customer of the campaign's places."
)
UNSUBSCRIBED = {
    "email": Reason("unsubscribed", "Not sent: the customer unsubscribed from your emails."),
    "whatsapp": Reason("unsubscribed", "Not sent: the customer unsubscribed from your WhatsApp."),
}
ADDRESS_SUPPRESSED = Reason(
    "bounced_address", "Not sent: email to this address bounced; it is no longer mailed."
)
NO_ADDRESS = {
    "email": NO_EMAIL,
    "whatsapp": Reason("invalid_phone", "No valid phone number for WhatsApp."),
}
NO_LONGER_MATCHES = Reason(
    "no_longer_matches", "Not sent: the customer no longer matches the campaign's audience."
)
OUTSIDE_WINDOW = Reason(
    "outside_window",
    "Not sent: outside WhatsApp's 24-hour window — choose an approved template.",
)


def too_long(detail: str) -> Reason:
    """Over a channel's limit with this customer's values (`detail` says by how much)."""
    return Reason("too_long", f"Not sent: {detail}")


def empty_value(field: str, detail: str) -> Reason:
    """A variable without a default is empty for this customer in `field`."""
    return Reason("empty_value", f"Not sent: {field} {detail}")


def cannot_personalise(field: str, detail: str) -> Reason:
    """A failure: content saved before today's checks that no retry can render."""
    return Reason("content", f"Not sent: {field} cannot be personalised: {detail}")


# The campaign stopped sending before the message went.
CANCELLED = Reason("cancelled", "Not sent: the campaign was cancelled.")
