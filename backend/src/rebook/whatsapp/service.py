"""The Twilio account's WhatsApp templates: listed from the Content API, cached in the
database (every replica and worker reads the same list), and what each one needs to be sent.

A template is sendable when WhatsApp approved it and its category is one a campaign may use
(marketing or utility); its text and placeholders come from the Content API's `types`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from rebook.channels.backends import template_catalog as provider_catalog
from rebook.channels.base import CatalogUnavailable, ContentTemplate, TemplateCatalog
from rebook.config import Settings
from rebook.errors import InvalidInput, ProviderUnavailable
from rebook.models import WhatsAppTemplate

PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
# The content types whose text an owner's customer reads, in the order they are looked for.
TEXT_TYPES = (
    "twilio/text",
    "twilio/media",
    "twilio/quick-reply",
    "twilio/call-to-action",
    "whatsapp/card",
    "twilio/card",
    "twilio/list-picker",
)
TemplateCategory = Literal["marketing", "utility", "authentication", "other"]
CATEGORIES: dict[str, TemplateCategory] = {
    "MARKETING": "marketing",
    "UTILITY": "utility",
    # Meta's older names for what is now utility.
    "TRANSACTIONAL": "utility",
    "ACCOUNT_UPDATE": "utility",
    "AUTHENTICATION": "authentication",
}
CAMPAIGN_CATEGORIES = ("marketing", "utility")
STATUS_PROBLEMS = {
    "pending": "is still being reviewed by WhatsApp",
    "received": "is still being reviewed by WhatsApp",
    "unsubmitted": "has not been submitted to WhatsApp for approval (submit it in Twilio's "
    "Content Template Builder)",
    "paused": "was paused by Meta because customers blocked or reported it; Meta lifts the "
    "pause after a few hours, or disables a template paused again",
    "disabled": "was disabled by Meta after repeated low quality; it can no longer be sent",
}


def catalog_account(settings: Settings) -> str:
    """Whose templates the cache holds for these settings."""
    if settings.whatsapp_backend == "twilio":
        return settings.twilio_account_sid or ""
    return "outbox"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class TemplateContent:
    """What a customer reads of a template, and the placeholders it needs filled."""

    content_sid: str
    name: str
    body: str
    buttons: tuple[str, ...]
    placeholders: tuple[str, ...]

    def text(self, values: dict[str, str]) -> str:
        """The body with each `{{n}}` replaced by its value (left as is without one)."""
        return PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), self.body)


def content_of(content_sid: str, name: str, types: dict[str, Any]) -> TemplateContent:
    chosen: dict[str, Any] = {}
    for kind in TEXT_TYPES:
        if isinstance(types.get(kind), dict):
            chosen = types[kind]
            break
    body = chosen.get("body")
    if not isinstance(body, str):
        # A card has a title and a subtitle instead of a body.
        body = "\n".join(str(chosen[k]) for k in ("title", "subtitle") if chosen.get(k))
    actions = chosen.get("actions")
    buttons = tuple(
        str(a["title"]) for a in actions or [] if isinstance(a, dict) and a.get("title")
    )
    numbers = {m for s in _strings(types) for m in PLACEHOLDER.findall(s)}
    return TemplateContent(
        content_sid=content_sid,
        name=name,
        body=body,
        buttons=buttons,
        placeholders=tuple(sorted(numbers, key=int)),
    )


def category(row: WhatsAppTemplate) -> TemplateCategory:
    return CATEGORIES.get((row.category or "").upper(), "other")


def problem(row: WhatsAppTemplate) -> str | None:
    """Why this template cannot be sent in a campaign, in an owner's words; None if it can."""
    name = f"The template “{row.friendly_name}”"
    if row.status == "rejected":
        reason = f": {row.rejection_reason}" if row.rejection_reason else ""
        return f"{name} was rejected by WhatsApp{reason}"
    if row.status != "approved":
        return f"{name} {STATUS_PROBLEMS.get(row.status, f'is {row.status} at WhatsApp')}."
    if category(row) not in CAMPAIGN_CATEGORIES:
        return (
            f"{name} is an {category(row)} template; campaigns use marketing or utility templates."
        )
    if not content_of(row.content_sid, row.friendly_name, row.types).body:
        return f"{name} has no text a campaign can send."
    return None


@dataclass(frozen=True)
class Catalog:
    templates: list[WhatsAppTemplate]
    refreshed_at: datetime | None
    # Set when the list shown is the last one read because Twilio could not be reached.
    stale_reason: str | None = None


async def _cached(session: AsyncSession, account: str) -> list[WhatsAppTemplate]:
    rows = await session.scalars(
        select(WhatsAppTemplate)
        .where(WhatsAppTemplate.account_sid == account)
        .order_by(func.lower(WhatsAppTemplate.friendly_name), WhatsAppTemplate.content_sid)
        # The upsert wrote past the ORM: rows already loaded are read again.
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def _store(
    session: AsyncSession, account: str, templates: list[ContentTemplate], now: datetime
) -> None:
    """Replace the account's cached list: upserts (two refreshes at once both succeed),
    then the templates no longer listed are removed."""
    if templates:
        values = [
            {
                "account_sid": account,
                "content_sid": t.content_sid,
                "friendly_name": t.friendly_name,
                "language": t.language,
                "category": t.category,
                "status": t.status,
                "rejection_reason": t.rejection_reason,
                "types": t.types,
                "sample_variables": t.sample_variables,
                "fetched_at": now,
            }
            for t in templates
        ]
        stmt = insert(WhatsAppTemplate).values(values)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[WhatsAppTemplate.account_sid, WhatsAppTemplate.content_sid],
                set_={
                    c: stmt.excluded[c]
                    for c in values[0]
                    if c not in ("account_sid", "content_sid")
                },
            )
        )
    await session.execute(
        delete(WhatsAppTemplate).where(
            WhatsAppTemplate.account_sid == account,
            WhatsAppTemplate.content_sid.not_in([t.content_sid for t in templates]),
        )
    )
    await session.flush()


async def catalog(
    session: AsyncSession,
    settings: Settings,
    *,
    refresh: bool = False,
    now: datetime | None = None,
    provider: TemplateCatalog | None = None,
) -> Catalog:
    """The account's templates: the cached list while it is younger than
    WHATSAPP_TEMPLATES_CACHE_SECONDS, else (or on `refresh`) read again from the provider.
    When the provider cannot be reached the last list is shown, saying so; with no list
    at all, ProviderUnavailable."""
    now = now or datetime.now(UTC)
    account = catalog_account(settings)
    rows = await _cached(session, account)
    refreshed_at = min((r.fetched_at for r in rows), default=None)
    max_age = timedelta(seconds=settings.whatsapp_templates_cache_seconds)
    if not refresh and refreshed_at is not None and now - refreshed_at < max_age:
        return Catalog(rows, refreshed_at)
    try:
        source = provider or provider_catalog(settings)
    except ValueError as exc:  # WHATSAPP_BACKEND=twilio without its account settings
        raise ProviderUnavailable(f"Rebook cannot list your WhatsApp templates: {exc}.") from None
    try:
        templates = await source.list_templates()
    except CatalogUnavailable as exc:
        if not rows:
            raise ProviderUnavailable(
                f"{exc.message} Rebook cannot list your WhatsApp templates yet; try again in "
                "a moment."
            ) from None
        return Catalog(rows, refreshed_at, stale_reason=exc.message)
    finally:
        if provider is None:
            await source.aclose()
    await _store(session, account, templates, now)
    return Catalog(await _cached(session, account), now)


async def cached_template(
    session: AsyncSession, settings: Settings, content_sid: str
) -> WhatsAppTemplate | None:
    return await session.get(
        WhatsAppTemplate, (catalog_account(settings), content_sid), populate_existing=True
    )


FIELD = "messaging_config.whatsapp_content_sid"


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(
        f"WhatsApp template: {message}", extra={"errors": [{"field": FIELD, "message": message}]}
    )


async def sendable_template(
    session: AsyncSession, settings: Settings, content_sid: str
) -> TemplateContent:
    """The template an owner picked, if it may be sent; else InvalidInput saying why (a
    template not in the cache is looked for in a fresh list first)."""
    row = await cached_template(session, settings, content_sid)
    if row is None:
        await catalog(session, settings, refresh=True)
        row = await cached_template(session, settings, content_sid)
    if row is None:
        raise _refuse(
            f"{content_sid} is not one of your account's templates; pick one from the list."
        )
    reason = problem(row)
    if reason is not None:
        raise _refuse(f"{reason} Pick an approved template.")
    return content_of(row.content_sid, row.friendly_name, row.types)


def check_mapping(template: TemplateContent, mapping: dict[str, str] | None) -> None:
    """Every placeholder of the template has a value, and only those: else InvalidInput."""
    given = {k for k, v in (mapping or {}).items() if v.strip()}
    missing = [p for p in template.placeholders if p not in given]
    extra = sorted(set(mapping or {}) - set(template.placeholders))
    if missing:
        names = ", ".join("{{" + p + "}}" for p in missing)
        raise _refuse(
            f"choose what {names} of “{template.name}” is: a customer's detail or a text."
        )
    if extra:
        names = ", ".join("{{" + p + "}}" for p in extra)
        raise _refuse(f"“{template.name}” has no placeholder {names}.")
