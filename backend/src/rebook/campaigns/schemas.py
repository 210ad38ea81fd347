from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rebook.inputs import Id
from rebook.messaging.schemas import MessagingConfig
from rebook.models import CampaignStatus, CampaignType

# Statuses an owner may set by hand; messaging campaigns move by send / cancel instead.
EDITABLE_STATUSES = (
    CampaignStatus.draft,
    CampaignStatus.active,
    CampaignStatus.paused,
    CampaignStatus.ended,
)


class PriceReductionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    discount_percent: int = Field(ge=1, le=90)
    valid_from: date | None = None
    valid_until: date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> PriceReductionConfig:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until must not be before valid_from")
        return self


class RewardsIncreaseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points_multiplier: float = Field(gt=1, le=10)


class FreeServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_name: str = Field(min_length=1, max_length=200)
    after_bookings: int = Field(ge=1, le=100)


CONFIG_MODELS: dict[CampaignType, type[BaseModel]] = {
    CampaignType.price_reduction: PriceReductionConfig,
    CampaignType.rewards_increase: RewardsIncreaseConfig,
    CampaignType.free_service: FreeServiceConfig,
}

Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=2000)]
PlaceIds = Annotated[list[Id], Field(min_length=1, max_length=500)]


def _unique(ids: list[int] | None) -> list[int] | None:
    if ids is not None and len(set(ids)) != len(ids):
        raise ValueError("each place may be listed once")
    return ids


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description | None = None
    campaign_type: CampaignType
    place_ids: PlaceIds
    # Settings of price_reduction / rewards_increase / free_service campaigns.
    config: dict[str, Any] | None = Field(default=None, validate_default=True)
    messaging_config: MessagingConfig | None = None

    _unique_places = field_validator("place_ids")(_unique)

    @field_validator("config")
    @classmethod
    def _config_fits_type(
        cls, config: dict[str, Any] | None, info: ValidationInfo
    ) -> dict[str, Any] | None:
        campaign_type = info.data.get("campaign_type")
        if campaign_type is None or campaign_type == CampaignType.messaging:
            return config
        return validate_config(campaign_type, config)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("the name must not be blank")
        return name.strip()

    @model_validator(mode="after")
    def _config_matches_type(self) -> CampaignCreate:
        if self.campaign_type == CampaignType.messaging:
            if self.messaging_config is None:
                raise ValueError("a messaging campaign needs messaging_config")
            if self.config:
                raise ValueError("a messaging campaign takes messaging_config, not config")
        elif self.messaging_config is not None:
            raise ValueError("messaging_config is only for messaging campaigns")
        return self


def validate_config(campaign_type: CampaignType, config: dict[str, Any] | None) -> dict[str, Any]:
    """The config of a non-messaging campaign, checked against its type's model; a ValueError
    names the offending key in a sentence."""
    model = CONFIG_MODELS[campaign_type]
    if config is None:
        raise ValueError(f"a {campaign_type.value} campaign needs config")
    try:
        return model.model_validate(config).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(problems) from None


class CampaignUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    place_ids: PlaceIds | None = None
    status: CampaignStatus | None = None
    config: dict[str, Any] | None = None
    messaging_config: MessagingConfig | None = None

    _unique_places = field_validator("place_ids")(_unique)

    @field_validator("status")
    @classmethod
    def _status_settable(cls, status: CampaignStatus | None) -> CampaignStatus | None:
        if status is not None and status not in EDITABLE_STATUSES:
            allowed = ", ".join(s.value for s in EDITABLE_STATUSES)
            raise ValueError(f"status can be set to {allowed}; send or cancel a messaging campaign")
        return status


class CampaignRead(BaseModel):
    id: int
    name: str
    description: str | None
    campaign_type: CampaignType
    status: CampaignStatus
    place_ids: list[int]
    config: dict[str, Any] | None
    messaging_config: MessagingConfig | None
    created_at: datetime
    updated_at: datetime
    first_sent_at: datetime | None = Field(
        description="When it first started sending; from then on it can be archived, not deleted."
    )
    archived_at: datetime | None = Field(description="When it was archived, if it is.")
    can_delete: bool = Field(
        description="False once it has sent anything: it is kept as a record; archive it instead."
    )
    can_edit: bool = Field(description="Changes are accepted: not archived, not sent.")
    can_send: bool = Field(
        description="A messaging campaign whose state allows sending or scheduling it (a draft, "
        "or cancelled); its send summary says whether the checks hold."
    )
    can_cancel: bool = Field(description="Scheduled or sending: it can be cancelled.")
