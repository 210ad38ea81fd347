"""Phone numbers: read as typed, stored in E.164 (what Twilio needs), shown masked."""

from __future__ import annotations

import phonenumbers


def to_e164(phone: str | None, country_code: str | None) -> str | None:
    """E.164 form of `phone`, reading local numbers with the place's country; None if the
    number is not a possible, valid number there."""
    if not phone:
        return None
    try:
        parsed = phonenumbers.parse(phone, (country_code or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask(phone: str | None, visible: int = 4) -> str | None:
    """`+33 6 12 34 56 78` → `•••••••••5678`: enough to recognise, not to dial."""
    if not phone:
        return None
    digits = [c for c in phone if c.isdigit()]
    if len(digits) <= visible:
        return "•" * len(digits)
    return "•" * (len(digits) - visible) + "".join(digits[-visible:])
