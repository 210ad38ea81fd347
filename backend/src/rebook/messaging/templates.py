"""Personalisation: Jinja2 in a sandbox with only our variables. Content is checked when saved
(unknown variables, syntax errors) so sending never meets a broken template."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import nh3
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from rebook.errors import InvalidInput

VARIABLES = ("first_name", "last_name", "place_name", "unsubscribe_url")

_text_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
# HTML bodies: values are escaped, so a customer named "<b>" cannot inject markup.
_html_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
# No globals (range, cycler, lipsum…): content sees our variables and nothing else.
_text_env.globals.clear()
_html_env.globals.clear()

# Tags and attributes an email body may keep; everything else (scripts, event handlers,
# javascript: URLs, styles that can hide content) is removed on save.
_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "a",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "blockquote",
    "hr",
    "span",
    "div",
    "img",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}


def sanitize_html(body: str) -> str:
    return nh3.clean(
        body,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def check_template(source: str, field: str) -> None:
    """Raise InvalidInput naming the field and the problem if `source` would not render."""
    try:
        parsed = _text_env.parse(source)
    except TemplateSyntaxError as exc:
        raise InvalidInput(
            f"{field}: the personalisation markup has an error on line {exc.lineno}: "
            f"{exc.message}.",
            extra={"errors": [{"field": field, "message": str(exc.message)}]},
        ) from exc
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(VARIABLES))
    if unknown:
        names = ", ".join("{{ " + n + " }}" for n in unknown)
        allowed = ", ".join("{{ " + n + " }}" for n in VARIABLES)
        raise InvalidInput(
            f"{field}: unknown variable {names}. You can use {allowed}.",
            extra={"errors": [{"field": field, "message": f"unknown variable {names}"}]},
        )


# A campaign renders the same few sources for every recipient: compile each once.
@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Template:
    return (_html_env if html else _text_env).from_string(source)


def render_text(source: str, variables: dict[str, str]) -> str:
    return _compiled(source, False).render(**variables)


def render_html(source: str, variables: dict[str, str]) -> str:
    return _compiled(source, True).render(**variables)


_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|blockquote)>|<br\s*/?>|<hr\s*/?>", re.I)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(body: str) -> str:
    """A plain-text rendering of sanitised HTML, for the text/plain part and previews."""
    text = _BLOCK_END.sub("\n", body)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
