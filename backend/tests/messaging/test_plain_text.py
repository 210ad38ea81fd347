"""The text/plain part, as a customer whose client shows plain text reads it: every link's
address is there beside its words, and lists keep their bullets or numbers."""

from __future__ import annotations

import pytest

from rebook.messaging.templates import html_to_text, sanitize_html


def plain(html: str) -> str:
    return html_to_text(sanitize_html(html))


def test_a_link_keeps_its_address() -> None:
    html = '<p>Ready? <a href="https://salon.example/book?day=fri&amp;slot=2">Book now</a></p>'
    assert plain(html) == "Ready? Book now (https://salon.example/book?day=fri&slot=2)"


def test_a_link_whose_words_are_its_address_is_not_repeated() -> None:
    html = '<p>Visit <a href="https://salon.example">https://salon.example</a></p>'
    assert plain(html) == "Visit https://salon.example"


def test_a_mail_link_shows_the_address() -> None:
    assert plain('<p><a href="mailto:hello@salon.example">Write to us</a></p>') == (
        "Write to us (hello@salon.example)"
    )


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<ul><li>Cut</li><li>Colour</li></ul>", "- Cut\n- Colour"),
        # The rich-text editor wraps each item in a paragraph.
        ("<ul><li><p>Cut</p></li><li><p>Colour</p></li></ul>", "- Cut\n- Colour"),
        ("<ol><li><p>Book</p></li><li><p>Come</p></li></ol>", "1. Book\n2. Come"),
    ],
)
def test_lists_keep_their_bullets(html: str, text: str) -> None:
    assert plain(html) == text


def test_paragraphs_and_line_breaks_stay_apart() -> None:
    html = "<p>Hello Zoé,</p><p>We miss you.<br>See you soon &amp; take care</p>"
    assert plain(html) == "Hello Zoé,\n\nWe miss you.\nSee you soon & take care"
