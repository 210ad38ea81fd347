"""Group commit: what many concurrent sends want written goes to the database together.

Each caller submits one item and waits until it is committed. Items submitted while a flush
is running are written by the next flush, in one statement and one transaction; nothing is
held back waiting for company, so a lone item is written at once. With N sends in flight,
N round trips and N commits become one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    def __init__(
        self, flush: Callable[[list[T]], Awaitable[Sequence[R]]], *, linger: float = 0.0
    ) -> None:
        """`flush(items)` writes and commits the items and returns one result per item.
        `linger`: seconds a flush waits for company before it goes."""
        self._flush = flush
        self._linger = linger
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            if self._linger:
                await asyncio.sleep(self._linger)
            batch, self._waiting = self._waiting, []
            try:
                results = await self._flush([item for item, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
