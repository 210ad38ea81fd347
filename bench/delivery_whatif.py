"""What-if for the email benchmark (`delivery_bench.py email --what-if`): imported by the worker
subprocess before Rebook starts, it caches compiled Jinja templates by source — the change the
profile points to outside the delivery engine (messaging/templates.py compiles the campaign's
template again for every message). Rendering is otherwise unchanged: same sandboxed
environments, same variables, same output. Benchmark-only; nothing in the app imports it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rebook.messaging import templates


def _cached(env: Any) -> None:
    compile_once = lru_cache(maxsize=64)(env.from_string)
    env.from_string = compile_once


_cached(templates._text_env)
_cached(templates._html_env)
