"""The audience filters read from a query string (the customer list's GET)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from pydantic import AwareDatetime

from rebook.inputs import Id
from rebook.messaging.audiences.schemas import DEFAULT_OVERDUE_FACTOR, AudienceFilters, NoShows

DaysQuery = Annotated[int | None, Query(ge=1, le=3650)]
VisitsQuery = Annotated[int | None, Query(ge=0, le=100_000)]


def audience_filters(
    last_visit_before: AwareDatetime | None = None,
    last_visit_after: AwareDatetime | None = None,
    last_visit_within_days: DaysQuery = None,
    no_visit_within_days: DaysQuery = None,
    min_visits: VisitsQuery = None,
    max_visits: VisitsQuery = None,
    has_upcoming: bool | None = None,
    service_ids: Annotated[list[Id] | None, Query(max_length=100)] = None,
    categories: Annotated[list[str] | None, Query(max_length=50)] = None,
    visited_place_ids: Annotated[list[Id] | None, Query(max_length=500)] = None,
    min_spend: Annotated[int | None, Query(ge=0, le=10**12)] = None,
    first_time: bool | None = None,
    overdue: bool | None = None,
    overdue_factor: Annotated[float, Query(ge=1.0, le=10.0)] = DEFAULT_OVERDUE_FACTOR,
    no_shows: NoShows | None = None,
) -> AudienceFilters:
    return AudienceFilters(
        last_visit_before=last_visit_before,
        last_visit_after=last_visit_after,
        last_visit_within_days=last_visit_within_days,
        no_visit_within_days=no_visit_within_days,
        min_visits=min_visits,
        max_visits=max_visits,
        has_upcoming=has_upcoming,
        service_ids=service_ids,
        categories=categories,
        visited_place_ids=visited_place_ids,
        min_spend=min_spend,
        first_time=first_time,
        overdue=overdue,
        overdue_factor=overdue_factor,
        no_shows=no_shows,
    )


AudienceFiltersQuery = Annotated[AudienceFilters, Depends(audience_filters)]
