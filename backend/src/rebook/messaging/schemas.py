from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from rebook.inputs import Id
from rebook.messaging.audiences.schemas import AudienceFilters
from rebook.pagination import Pagination

ChannelName = Literal["email", "whatsapp"]
# Limits on what is sent (the rendered text), also applied to what is typed. WhatsApp's is
# counted as Twilio does, in UTF-16 code units (an emoji outside the BMP counts as two; see
# docs/adr/005-whatsapp-length.md); the subject's in characters.
WHATSAPP_MAX_CHARS = 1600
EMAIL_SUBJECT_MAX_CHARS = 255


class MessagingConfig(BaseModel):
    """Channels, content and schedule of a messaging campaign. Drafts may be incomplete;
    sending checks that every chosen channel has its content. WhatsApp may have a free
    text, an approved template (`whatsapp_content_sid`, each of its `{{1}}`… mapped in
    `whatsapp_content_variables`), or both: free text goes to the customers inside their
    24-hour window, the template to everyone else."""

    model_config = ConfigDict(extra="forbid")

    channels: list[ChannelName] = Field(min_length=1)
    email_subject: Annotated[str, Field(max_length=EMAIL_SUBJECT_MAX_CHARS)] | None = None
    email_body: Annotated[str, Field(max_length=100_000)] | None = None
    whatsapp_message: Annotated[str, Field(max_length=WHATSAPP_MAX_CHARS)] | None = None
    whatsapp_content_sid: Annotated[str, Field(pattern=r"^HX[0-9a-fA-F]{32}$")] | None = None
    whatsapp_content_variables: dict[str, str] | None = None
    scheduled_send_time: AwareDatetime | None = None
    # The zone the owner chose the time in: the time is shown back in it, wherever it is read.
    scheduled_time_zone: Annotated[str, Field(max_length=64)] | None = None
    send_immediately: bool = False

    @field_validator("scheduled_time_zone")
    @classmethod
    def _known_zone(cls, zone: str | None) -> str | None:
        if zone is None:
            return None
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"{zone!r} is not a time zone (expected e.g. Europe/London)") from None
        return zone

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, channels: list[ChannelName]) -> list[ChannelName]:
        if len(set(channels)) != len(channels):
            raise ValueError("each channel may be chosen once")
        return sorted(set(channels))


class CustomerPlace(BaseModel):
    id: int
    name: str


class CustomerHistory(BaseModel):
    """The customer's bookings with this owner (at any of the owner's places), summed up."""

    last_visit_at: datetime | None
    completed_visits: int
    no_shows: int
    spend_amount: int = Field(description="Completed visits' prices, in minor units.")
    usual_interval_days: float | None = Field(
        description="Median days between consecutive visits; None below two visits."
    )
    last_upcoming_at: datetime | None


class CustomerForMessaging(BaseModel):
    user_id: int
    name: str
    email: str | None
    # A valid number, masked: only the last digits are shown. None when there is none.
    phone: str | None
    # A number is on file but is not a valid one: WhatsApp cannot reach it.
    phone_invalid: bool
    gdpr_marketing_consent: bool
    # The chosen places where the customer booked, in name order.
    places: list[CustomerPlace]
    last_booking_date: datetime | None
    total_bookings: int
    history: CustomerHistory | None = None
    # Under booking-history filters: why this customer matches, in the owner's words.
    reasons: list[str] = []


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel: ChannelName
    status: str
    attempts: int
    provider_message_id: str | None
    provider_status: str | None
    error_code: str | None
    error_message: str | None
    sent_at: datetime | None
    cost: Decimal | None
    possible_duplicate: bool


class CampaignRecipientResponse(BaseModel):
    id: int
    user_id: int
    name: str
    customer_email: str | None
    customer_phone: str | None
    place_id: int | None
    # Overall: the worst outcome over its channels (failed > pending > skipped > sent).
    status: str
    sent_at: datetime | None
    error_message: str | None
    deliveries: list[DeliveryRead]
    created_at: datetime


class StatusCounts(BaseModel):
    total: int
    sent: int
    failed: int
    pending: int
    skipped: int
    cancelled: int
    sent_percent: float
    failed_percent: float
    pending_percent: float
    skipped_percent: float
    delivery_rate: float = Field(
        description="Sent as a percentage of the messages that were attempted (sent + failed)."
    )
    bounced: int = Field(
        default=0,
        description="Emails the receiving server refused or sent back (counted in `failed`).",
    )
    complained: int = Field(
        default=0, description="Emails the customer marked as spam (counted in `sent`)."
    )


class ChannelStats(StatusCounts):
    channel: ChannelName


class MessagingStatsResponse(StatusCounts):
    campaign_id: int
    status: str
    total_recipients: int
    possible_duplicates: int
    cost: Decimal
    estimated_cost: Decimal
    currency: str = Field(description="The currency of the costs (ISO 4217).")
    channels: list[ChannelStats]


class SelectAll(BaseModel):
    """Everyone matching the selector's filter at the campaign's places, minus exclusions."""

    model_config = ConfigDict(extra="forbid")

    filter_by: Literal["all", "has_email", "has_phone"] = "all"
    search: Annotated[str, Field(max_length=200)] | None = None
    exclude_user_ids: Annotated[list[Id], Field(max_length=10_000)] = []


class AddRecipientsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_ids: Annotated[list[Id], Field(min_length=1, max_length=10_000)] | None = None
    select_all: SelectAll | None = None
    audience: AudienceFilters | None = Field(
        default=None,
        description="Booking-history filters the customers must match (the campaign records "
        "them and checks them again at send).",
    )
    saved_audience_id: Id | None = Field(
        default=None, description="The saved audience `audience` came from (its name is kept)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> AddRecipientsRequest:
        if (self.user_ids is None) == (self.select_all is None):
            raise ValueError("give either user_ids or select_all")
        return self


class RecipientsChanged(BaseModel):
    added: int = 0
    removed: int = 0
    total_recipients: int


class RecipientPagination(BaseModel):
    # None when counting would read every matching delivery (a status on both channels):
    # page on with `next_cursor` until it is null.
    total_count: int | None
    max_page: int | None
    page: int
    limit: int


class RecipientPage(BaseModel):
    items: list[CampaignRecipientResponse]
    pagination: RecipientPagination
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the next `page`) to get the page after this one: "
        "read from where this one ended, fast at any depth and not shifted by recipients added "
        "or removed meanwhile."
    )


class CustomerPage(BaseModel):
    items: list[CustomerForMessaging]
    pagination: Pagination
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the page after this one (fast at any depth)."
    )


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Id | None = None
