from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator


class PlaceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    timezone: str
    country_code: str
    # Where customers' replies to the place's emails go; None: replies are not expected.
    reply_to_email: str | None = None


class PlaceUpdate(BaseModel):
    reply_to_email: EmailStr | None = Field(default=None, max_length=254)

    @field_validator("reply_to_email")
    @classmethod
    def _ascii(cls, value: str | None) -> str | None:
        # It goes in a header as written: an accented address would need SMTPUTF8 of every
        # reader of the email.
        if value is not None and not value.isascii():
            raise ValueError("use an address without accents or non-Latin characters")
        return value
