"""Password hashing with argon2 (pwdlib). The async functions run it in a few threads of its
own: a hash takes a quarter of a second of CPU, which on the event loop would stall every
other request, and a burst of logins must not take every core either."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from pwdlib import PasswordHash

from rebook.config import get_settings

_hasher = PasswordHash.recommended()
# Verified when the email is unknown, so a missing account takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, password_hash)


def _give_way() -> None:
    # Hashing yields the CPU to request handling: this thread, and the lane threads argon2
    # starts from it (which inherit it), run at the lowest priority (Linux: per thread).
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=get_settings().password_hash_threads,
        thread_name_prefix="argon2",
        initializer=_give_way,
    )


async def hash_password_off_loop(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_executor(), hash_password, password)


async def verify_password_off_loop(password: str, password_hash: str | None) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        _executor(), verify_password, password, password_hash
    )
