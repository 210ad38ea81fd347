"""Personalisation: what owners type is text with variables from a fixed list, each with an
optional default value (`{{ first_name | default("there") }}`) and a few case filters. Nothing
else of Jinja is accepted: no expressions, attributes, calls, loops, includes or macros, so a
template renders in time linear in its length and its output is bounded by construction.

Every source is checked token by token before Jinja's parser or compiler sees it (compiling
folds constants: `{{ 9**(9**7) }}` would run at compile time), at save and again before each
render, so content saved before these rules cannot run either. Rendered HTML is sanitised
(nh3) after rendering: what a customer receives is clean whatever the template held."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from typing import TypeVar

import nh3
from jinja2 import StrictUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

VARIABLES = ("first_name", "last_name", "place_name", "unsubscribe_url")
# Filters an owner may add after a variable: a default value for an empty one, and case.
DEFAULT_FILTER = "default"
TEXT_FILTERS = ("upper", "lower", "title", "capitalize", "trim")
# Longest source accepted (the email body's own limit), and longest rendered output: a
# variable's value is at most a few hundred characters, so this is only ever a backstop.
MAX_SOURCE_CHARS = 100_000
# Variables in one field: a message needs a handful. Compiling is the one step that holds the
# GIL for long (Python's compile() of Jinja's generated code, ~50 µs per variable), so the
# API's event loop never waits more than a few milliseconds for a render thread.
MAX_VARIABLES = 100
MAX_RENDERED_CHARS = 300_000
# Rendering in the API runs on this thread, never on the event loop, and is given up after
# this long (it takes milliseconds: the bound is a promise, not a tuning knob). One thread:
# under the GIL a second one adds no throughput, only more waits for the event loop.
RENDER_TIMEOUT_SECONDS = 3.0
_render_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rebook-render")

EXAMPLE = "{{ first_name }}"
EXAMPLE_DEFAULT = '{{ first_name | default("there") }}'
ALLOWED = ", ".join("{{ " + n + " }}" for n in VARIABLES)
HELP = (
    f"A message can hold text and the variables {ALLOWED}, with a default value for an empty "
    f"one like {EXAMPLE_DEFAULT}."
)


class ContentError(Exception):
    """Content that cannot be rendered, said in an owner's words. `field` names the
    messaging_config field when the caller knows it."""

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.line = line


class TooLong(ContentError):
    """Rendered content over a channel's limit."""


class EmptyValue(ContentError):
    """A value that renders empty for a customer where the channel needs one (a WhatsApp
    template's placeholder)."""


def _empty_as_missing(value: object, default_value: str = "") -> object:
    # Every variable is always defined (possibly empty): a default stands in for a blank one.
    return value if str(value).strip() else default_value


def _environment(autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=autoescape)
    # No globals (range, cycler, lipsum…) and only the filters the checker accepts.
    env.globals.clear()
    kept = {name: env.filters[name] for name in TEXT_FILTERS}
    env.filters.clear()
    env.filters.update(kept)
    env.filters[DEFAULT_FILTER] = _empty_as_missing
    return env


_text_env = _environment(autoescape=False)
# HTML bodies: values are escaped, so a customer named "<b>" cannot inject markup.
_html_env = _environment(autoescape=True)


# Tags and attributes an email body may keep; everything else (scripts, event handlers,
# javascript: URLs, styles that can hide content) is removed, at save and after rendering.
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


@dataclass(frozen=True)
class _Tag:
    """One `{{ … }}` or `{% … %}` of a source: its kind, line, text and significant tokens."""

    kind: str  # "variable" | "block"
    line: int
    text: str
    tokens: tuple[tuple[str, str], ...]


def _tags(source: str) -> list[_Tag]:
    """The source's tags, from Jinja's lexer (raw tokens: nothing is parsed or converted)."""
    tags: list[_Tag] = []
    current: list[tuple[int, str, str]] | None = None
    for line, kind, value in _text_env.lex(source):
        if kind in ("variable_begin", "block_begin"):
            current = [(line, kind, value)]
        elif current is not None:
            current.append((line, kind, value))
            if kind in ("variable_end", "block_end"):
                tokens = tuple((k, v) for _, k, v in current[1:-1] if k != "whitespace")
                tags.append(
                    _Tag(
                        kind="variable" if current[0][1] == "variable_begin" else "block",
                        line=current[0][0],
                        text="".join(v for _, _, v in current),
                        tokens=tokens,
                    )
                )
                current = None
    if current is not None:
        begin = current[0][2]
        raise ContentError(
            f"line {current[0][0]}: a {begin} is not closed with "
            f"{'}}' if begin.startswith('{{') else '%}'}. {HELP}",
            line=current[0][0],
        )
    return tags


def _shape_problem(tag: _Tag) -> str | None:
    """Why this `{{ … }}` is not a variable with optional filters, or None when it is.

    The grammar: NAME ( "|" FILTER | "|" "default" "(" STRING ")" )*."""
    tokens = list(tag.tokens)
    shown = _shorten(tag.text)
    if not tokens or tokens[0][0] != "name":
        return f"`{shown}` is not a variable. {HELP}"
    rest = tokens[1:]
    while rest:
        if rest[0] != ("operator", "|") or len(rest) < 2 or rest[1][0] != "name":
            return f"`{shown}` is not a variable. {HELP}"
        filter_name = rest[1][1]
        rest = rest[2:]
        if filter_name == DEFAULT_FILTER:
            if (
                len(rest) < 3
                or rest[0] != ("operator", "(")
                or rest[1][0] != "string"
                or rest[2] != ("operator", ")")
            ):
                return f"`{shown}`: a default value is written in quotes, like {EXAMPLE_DEFAULT}."
            rest = rest[3:]
        elif filter_name in TEXT_FILTERS:
            if rest and rest[0] == ("operator", "("):
                example = "{{ first_name | " + filter_name + " }}"
                return f"`{shown}`: | {filter_name} takes no value, as in {example}."
        else:
            filters = ", ".join(f"| {f}" for f in (DEFAULT_FILTER, *TEXT_FILTERS))
            return (
                f"`{shown}`: | {filter_name} is not available. After a variable you can add "
                f"{filters}, as in {EXAMPLE_DEFAULT}."
            )
    return None  # an unknown `name` is reported with the others by the caller


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@lru_cache(maxsize=1024)
def _problem(source: str) -> ContentError | None:
    if len(source) > MAX_SOURCE_CHARS:
        return ContentError(
            f"it is {len(source):,} characters long; the limit is {MAX_SOURCE_CHARS:,}."
        )
    # Counted before lexing (C speed), so a source full of tags costs nothing to refuse.
    if source.count("{{") + source.count("{%") > MAX_VARIABLES:
        return ContentError(f"a message can use at most {MAX_VARIABLES} variables like {EXAMPLE}.")
    try:
        tags = _tags(source)
    except ContentError as exc:
        return exc
    except TemplateSyntaxError as exc:
        return ContentError(
            f"line {exc.lineno}: the personalisation markup cannot be read. {HELP}",
            line=exc.lineno,
        )
    unknown: set[str] = set()
    for tag in tags:
        if tag.kind == "block":
            word = tag.tokens[0][1] if tag.tokens and tag.tokens[0][0] == "name" else ""
            shown = "{% " + word + " %}" if word else _shorten(tag.text)
            return ContentError(
                f"line {tag.line}: `{shown}` is not available here; only variables like "
                f"{EXAMPLE} can be used. {HELP}",
                line=tag.line,
            )
        problem = _shape_problem(tag)
        if problem is not None:
            return ContentError(f"line {tag.line}: {problem}", line=tag.line)
        if tag.tokens[0][1] not in VARIABLES:
            unknown.add(tag.tokens[0][1])
    if unknown:
        names = ", ".join("{{ " + n + " }}" for n in sorted(unknown))
        return ContentError(f"unknown variable {names}. You can use {ALLOWED}.")
    try:
        # What passed the checks above is plain Jinja; its parser must agree.
        _text_env.parse(source)
    except Exception as exc:  # any parser error: the owner sees our words, never Jinja's
        line = getattr(exc, "lineno", None)
        where = f"line {line}: " if line else ""
        return ContentError(f"{where}the personalisation markup cannot be read. {HELP}")
    return None


def check(source: str) -> None:
    """Raise ContentError if `source` is not text with allowed variables and filters."""
    problem = _problem(source)
    if problem is not None:
        raise ContentError(problem.message, line=problem.line)


# A campaign renders the same few sources for every recipient: compile each once, and only
# after the check (compiling is where Jinja would evaluate constant expressions).
@lru_cache(maxsize=512)
def _compiled(source: str, as_html: bool) -> Template:
    check(source)
    return (_html_env if as_html else _text_env).from_string(source)


def _bounded(rendered: str) -> str:
    if len(rendered) > MAX_RENDERED_CHARS:
        raise TooLong(
            f"the personalised text would be {len(rendered):,} characters long; the limit is "
            f"{MAX_RENDERED_CHARS:,}."
        )
    return rendered


def render_text(source: str, variables: dict[str, str]) -> str:
    return _bounded(_compiled(source, False).render(**variables))


def render_html(source: str, variables: dict[str, str]) -> str:
    """The body rendered for one customer, then sanitised: the rendered HTML is what goes
    out, so it is what is cleaned."""
    return sanitize_html(_bounded(_compiled(source, True).render(**variables)))


T = TypeVar("T")


async def off_loop(work: Callable[[], T]) -> T:
    """Run rendering work on the render threads, bounded in time; raises ContentError when
    it takes too long."""
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(
            loop.run_in_executor(_render_pool, work), RENDER_TIMEOUT_SECONDS
        )
    except TimeoutError:
        raise ContentError(
            "it took too long to personalise; shorten the message and try again."
        ) from None


class _PlainText(HTMLParser):
    """Sanitised HTML as the text/plain part reads: paragraphs and line breaks kept, each
    link's address after its words ("Book now (https://…)"), list items as "- item" (or
    "1. item" in a numbered list)."""

    BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [numbered (0/1), items so far]
        self.links: list[tuple[str, int]] = []  # per open link: its href, where its text starts
        self.after_marker = False  # a list item's marker written, none of its text yet

    def _at_line_start(self) -> bool:
        last = next((chunk for chunk in reversed(self.out) if chunk.strip(" ")), "\n")
        return last.endswith("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # A paragraph that opens a list item (as the editor writes them) stays on its line.
        if (tag in self.BLOCKS and not self.after_marker) or tag in ("ul", "ol"):
            self.out.append("\n")
        if tag in ("ul", "ol"):
            self.lists.append([int(tag == "ol"), 0])
        elif tag == "li":
            marker = "- "
            if self.lists:
                self.lists[-1][1] += 1
                if self.lists[-1][0]:
                    marker = f"{self.lists[-1][1]}. "
            self.out.append(marker if self._at_line_start() else "\n" + marker)
            self.after_marker = True
        elif tag == "br":
            self.out.append("\n")
        elif tag == "hr":
            self.out.append("\n----\n")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.out)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS and self.lists:
            self.out.append("" if self._at_line_start() else "\n")  # within a list item
        elif tag in self.BLOCKS or tag in ("ul", "ol"):
            self.out.append("\n")
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            words = "".join(self.out[start:]).strip()
            address = href.removeprefix("mailto:")
            if href and not href.startswith("#") and address not in words:
                self.out.append(f" ({address})")

    def handle_data(self, data: str) -> None:
        # HTML's own whitespace rule: any run of it shows as one space.
        text = re.sub(r"\s+", " ", data)
        self.out.append(text)
        self.after_marker = self.after_marker and not text.strip()


def html_to_text(body: str) -> str:
    """A plain-text rendering of sanitised HTML, for the text/plain part and previews."""
    parser = _PlainText()
    parser.feed(body)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
