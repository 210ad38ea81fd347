"""Owner content: how long the checks and the render take, in-process (no database).

    cd backend && uv run --frozen python ../bench/owner_content.py

For the largest content an owner may save (a 100 KB email body with 100 variables and
defaults, a subject and a WhatsApp text at their limits): the first check + compile + render
(what a save does), then a render from the compiled cache (what each delivery and preview
does); for each hostile payload of issue 12, how long its refusal takes. Medians of ROUNDS."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from rebook.messaging import templates

ROUNDS = 20
PARAGRAPH = '<p>Hello {{ first_name | default("there") | title }}, see you at {{ place_name }}!</p>'
FILLER = "<p>" + "Plenty of words an owner might write. " * 2500
WORST_BODY = (PARAGRAPH * 50 + FILLER)[: 100_000 - 4] + "</p>"
WORST_SUBJECT = ("{{ first_name }} " * 15).ljust(255, "!")
WORST_WHATSAPP = ("Hi {{ first_name | default('friend') }}! " * 40).ljust(1600, ".")
HOSTILE = {
    "{{ 9**(9**7) }}": "{{ 9**(9**7) }}",
    "2000x2000 for loop": "{% for i in range(2000) %}{% for j in range(2000) %}x{% endfor %}"
    "{% endfor %}",
    "|safe payload": "<p>{{ '\\x3cimg src=x onerror=alert(1)\\x3e'|safe }}</p>",
    "recursive macro": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "6,000 nested parentheses": "{{ " + "(" * 3000 + "first_name" + ")" * 3000 + " }}",
    "3,000 variables (100 KB)": "<p>{{ first_name }}</p>" * 3000,
}
VALUES = {
    "first_name": "N" * 100,
    "last_name": "L" * 100,
    "place_name": "P" * 200,
    "unsubscribe_url": "https://rebook.example/unsubscribe/" + "t" * 120,
}


def median_ms(work: Callable[[], object], *, cold: bool) -> float:
    times = []
    for _ in range(ROUNDS):
        if cold:
            templates._problem.cache_clear()
            templates._compiled.cache_clear()
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    def save() -> None:
        templates.render_html(templates.sanitize_html(WORST_BODY), VALUES)
        templates.render_text(WORST_SUBJECT, VALUES)
        templates.render_text(WORST_WHATSAPP, VALUES)

    def refuse(source: str) -> Callable[[], object]:
        return lambda: templates._problem(source)

    rows = [
        ("worst accepted content, check + compile + render (save)", median_ms(save, cold=True)),
        ("worst accepted content, render from cache (send, preview)", median_ms(save, cold=False)),
    ]
    rows += [(f"refuse {name}", median_ms(refuse(src), cold=True)) for name, src in HOSTILE.items()]
    width = max(len(name) for name, _ in rows)
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:8.2f} ms")


if __name__ == "__main__":
    main()
