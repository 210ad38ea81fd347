"""Our Content API requests, checked by Prism against Twilio's own OpenAPI description of
it, and what we read from the answers the spec gives as examples (Prism answers with an
example; `Prefer: example=…` picks which)."""

from __future__ import annotations

from typing import Any

import httpx
from twilio.http.response import Response

from rebook.channels.base import ContentTemplate
from rebook.channels.twilio import RebookTwilioHttpClient, TwilioTemplateCatalog
from rebook.models import WhatsAppTemplate
from rebook.whatsapp import service
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.fixtures_channels import channel_settings


class PreferExample(RebookTwilioHttpClient):
    """Asks Prism for one of the spec's named examples."""

    def __init__(self, example: str | None, **kw: Any) -> None:
        super().__init__(**kw)
        self.example = example
        self.urls: list[str] = []

    async def request(self, method: str, url: str, *args: Any, **kw: Any) -> Response:
        self.urls.append(url)
        if self.example:
            kw["headers"] = {**(kw.get("headers") or {}), "Prefer": f"example={self.example}"}
        return await super().request(method, url, *args, **kw)


async def listed(prism: str, example: str | None, **settings: Any) -> list[ContentTemplate]:
    http = PreferExample(example, api_base_url=None, timeout=30, content_base_url=prism)
    catalog = TwilioTemplateCatalog(channel_settings(**settings), http_client=http)
    try:
        return await catalog.list_templates()
    finally:
        await catalog.aclose()


def row(t: ContentTemplate) -> WhatsAppTemplate:
    return WhatsAppTemplate(
        account_sid=ACCOUNT_SID,
        content_sid=t.content_sid,
        friendly_name=t.friendly_name,
        language=t.language,
        category=t.category,
        status=t.status,
        rejection_reason=t.rejection_reason,
        types=t.types,
        sample_variables=t.sample_variables,
    )


class TestAgainstTheContentSpec:
    async def test_prism_refuses_a_request_the_spec_does_not_allow(
        self, prism_content_url: str
    ) -> None:
        # Proof that Prism validates: PageSize above the spec's maximum is refused.
        async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN)) as client:
            response = await client.get(
                f"{prism_content_url}/v1/ContentAndApprovals", params={"PageSize": 5000}
            )
        assert response.status_code == 422

    async def test_the_sdk_lists_an_account_without_templates(self, prism_content_url: str) -> None:
        assert await listed(prism_content_url, "readEmpty") == []

    async def test_the_list_reads_names_approval_category_and_text(
        self, prism_content_url: str
    ) -> None:
        templates = {t.friendly_name: t for t in await listed(prism_content_url, "readResults")}

        assert set(templates) == {"Some content", "Media Test", "Video Highlights"}
        media = templates["Media Test"]
        assert (media.status, media.category) == ("approved", "TRANSACTIONAL")
        assert media.sample_variables == {"1": "name", "2": "typedocument"}
        content = service.content_of(media.content_sid, media.friendly_name, media.types)
        assert content.body.startswith("{{1}}, Congratulations {{2}}!")
        assert content.placeholders == ("1", "2")
        assert service.category(row(media)) == "utility"
        assert service.problem(row(media)) is None

    async def test_a_rejected_template_gives_its_reason_and_cannot_be_sent(
        self, prism_content_url: str
    ) -> None:
        templates = {t.friendly_name: t for t in await listed(prism_content_url, "readResults")}

        video = templates["Video Highlights"]
        problem = service.problem(row(video))
        assert problem is not None
        assert problem.startswith("The template “Video Highlights” was rejected by WhatsApp: ")
        assert "INVALID_FORMAT" in problem
        # A placeholder in the media URL counts too: three values to map.
        content = service.content_of(video.content_sid, video.friendly_name, video.types)
        assert content.placeholders == ("1", "2", "3")
        unsubmitted = service.problem(row(templates["Some content"]))
        assert unsubmitted is not None
        assert "has not been submitted to WhatsApp" in unsubmitted

    async def test_the_sdk_asks_twilios_content_origin_which_we_route_to_prism(
        self, prism_content_url: str
    ) -> None:
        http = PreferExample(
            None, api_base_url=None, timeout=30, content_base_url=prism_content_url
        )
        catalog = TwilioTemplateCatalog(channel_settings(), http_client=http)
        try:
            await catalog.list_templates()
        finally:
            await catalog.aclose()
        assert http.urls == ["https://content.twilio.com/v1/ContentAndApprovals"]
