from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from rebook.inputs import Id

DEFAULT_OVERDUE_FACTOR = 1.5
Days = Annotated[int, Field(ge=1, le=3650)]
Visits = Annotated[int, Field(ge=0, le=100_000)]


class NoShows(enum.StrEnum):
    exclude = "exclude"  # customers who never missed a booking
    only = "only"  # customers who missed at least one


class AudienceFilters(BaseModel):
    """Booking-history conditions, all of which a customer must meet (unset ones are not
    checked). They only narrow the customers the owner may message: consent and
    unsubscribes decide first. A visit is a completed booking at one of the owner's places."""

    model_config = ConfigDict(extra="forbid")

    last_visit_before: AwareDatetime | None = None
    last_visit_after: AwareDatetime | None = None
    last_visit_within_days: Days | None = Field(
        default=None, description="Last visit in the last N days."
    )
    no_visit_within_days: Days | None = Field(
        default=None,
        description='Visited, but not in the last N days ("haven\'t visited in 90 days").',
    )
    min_visits: Visits | None = None
    max_visits: Visits | None = None
    has_upcoming: bool | None = Field(
        default=None,
        description="Has (true) or has no (false) booking with status upcoming in the future.",
    )
    service_ids: Annotated[list[Id], Field(max_length=100)] | None = Field(
        default=None, description="Ever booked one of these services (completed or upcoming)."
    )
    categories: (
        Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=50)] | None
    ) = Field(default=None, description="Ever booked a service in one of these categories.")
    visited_place_ids: Annotated[list[Id], Field(max_length=500)] | None = Field(
        default=None, description="Visited one of these places."
    )
    min_spend: Annotated[int, Field(ge=0, le=10**12)] | None = Field(
        default=None, description="Completed visits' prices add up to at least this (minor units)."
    )
    first_time: bool | None = Field(
        default=None, description="Exactly one visit (true) or more than one (false)."
    )
    overdue: bool | None = Field(
        default=None,
        description="At least 3 visits and the time since the last one is over overdue_factor "
        "times their usual interval (the median gap between their visits).",
    )
    overdue_factor: Annotated[float, Field(ge=1.0, le=10.0)] = DEFAULT_OVERDUE_FACTOR
    no_shows: NoShows | None = None

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_defaults=True)


class AudienceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    filters: AudienceFilters


class AudienceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    filters: AudienceFilters | None = None


class AudienceRead(BaseModel):
    id: int | None = Field(description="None for a preset.")
    key: str = Field(description="`preset:<slug>` or `saved:<id>`.")
    name: str
    description: str
    filters: AudienceFilters
    count: int = Field(description="Customers it selects right now at the given places.")
    updated_at: datetime | None = None


class AudienceList(BaseModel):
    presets: list[AudienceRead]
    saved: list[AudienceRead]
