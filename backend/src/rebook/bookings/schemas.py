from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from rebook.models import BookingStatus


class ServiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    category: str


class PriceRead(BaseModel):
    amount: int = Field(description="In the currency's minor units (cents).")
    currency: str = Field(description="ISO 4217.")


class BookingRead(BaseModel):
    id: int
    place_id: int
    place_name: str
    user_id: int
    starts_at: datetime
    status: BookingStatus = Field(
        description="`upcoming` until the host platform settles the visit; a past `upcoming` "
        "booking counts neither as a visit nor as upcoming."
    )
    service: ServiceRead | None
    price: PriceRead | None
