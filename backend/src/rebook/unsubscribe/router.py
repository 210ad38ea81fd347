"""`/unsubscribe/{token}`, mounted at the root: the link in every email.

A GET only shows a confirmation page, because mail scanners open links; the POST — the page's
button or an RFC 8058 one-click request (`List-Unsubscribe=One-Click`) — records the opt-out.
No login and no cookies: the signed token is the only credential."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from rebook.config import Settings, get_settings
from rebook.db import SessionDep
from rebook.models import Channel
from rebook.request_context import ClientIP
from rebook.unsubscribe import pages
from rebook.unsubscribe import service as unsubscribe_service
from rebook.unsubscribe.tokens import UnsubscribeTarget, read_token

router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"])

SettingsDep = Annotated[Settings, Depends(get_settings)]
HTML_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/html": {}}},
    400: {"description": "The token is not genuine", "content": {"text/html": {}}},
}
# Never cache these pages: the answer depends on a per-customer secret in the URL.
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _target(token: str, settings: Settings) -> UnsubscribeTarget | None:
    target = read_token(token, settings)
    if target is None or target.channel not in {c.value for c in Channel}:
        return None
    return target


def _invalid() -> HTMLResponse:
    return HTMLResponse(pages.invalid_page(), status_code=400, headers=NO_STORE)


@router.get("/{token}", response_class=HTMLResponse, responses=HTML_RESPONSES)
async def show_unsubscribe_page(
    token: str, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """A confirmation page with an Unsubscribe button, or the news that it is already done;
    changes nothing."""
    target = _target(token, settings)
    if target is None:
        return _invalid()
    business = await unsubscribe_service.business_name(session, target)
    if await unsubscribe_service.is_suppressed(session, target):
        return HTMLResponse(pages.already_page(target.channel, business), headers=NO_STORE)
    return HTMLResponse(
        pages.confirm_page(f"/unsubscribe/{token}", target.channel, business), headers=NO_STORE
    )


@router.post("/{token}", response_class=HTMLResponse, responses=HTML_RESPONSES)
async def unsubscribe(
    token: str, request: Request, session: SessionDep, settings: SettingsDep, ip: ClientIP
) -> HTMLResponse:
    """Record the opt-out (idempotent) and answer 200 directly, never with a redirect."""
    target = _target(token, settings)
    if target is None:
        return _invalid()
    form = await request.form()
    one_click = form.get("List-Unsubscribe") == "One-Click"
    if await unsubscribe_service.target_exists(session, target):
        await unsubscribe_service.suppress(
            session,
            owner_id=target.owner_id,
            user_id=target.user_id,
            channel=target.channel,
            source="one_click" if one_click else "unsubscribe_page",
            ip_address=ip,
        )
    business = await unsubscribe_service.business_name(session, target)
    return HTMLResponse(pages.done_page(target.channel, business), headers=NO_STORE)
