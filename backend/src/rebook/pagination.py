"""Page-number pagination: `page` ≥ 1 and a capped `limit` → `{items, pagination}`."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

MAX_LIMIT = 200
# Far beyond any real list (200 M rows at the largest limit), and small enough that the
# offset always fits PostgreSQL's bigint.
MAX_PAGE = 1_000_000


class PageParams(BaseModel):
    page: int = 1
    limit: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = 50,
) -> PageParams:
    return PageParams(page=page, limit=limit)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


class Pagination(BaseModel):
    total_count: int
    max_page: int
    page: int
    limit: int


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    pagination: Pagination

    @classmethod
    def build(cls, items: list[T], total_count: int, params: PageParams) -> Page[T]:
        max_page = max(1, -(-total_count // params.limit))
        return cls(
            items=items,
            pagination=Pagination(
                total_count=total_count, max_page=max_page, page=params.page, limit=params.limit
            ),
        )


async def paginate(
    session: AsyncSession, statement: Select[Any], params: PageParams
) -> tuple[list[Any], int]:
    """Run `statement` for one page and count all its rows."""
    total = await session.scalar(
        select(func.count()).select_from(statement.order_by(None).subquery())
    )
    rows = (await session.scalars(statement.limit(params.limit).offset(params.offset))).all()
    return list(rows), int(total or 0)
