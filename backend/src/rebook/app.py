"""create_app(): routers, error handlers, and the built web app when present."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy.exc
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import make_asgi_app

from rebook.auth.router import router as auth_router
from rebook.bookings.router import router as bookings_router
from rebook.campaigns.history_router import router as audit_router
from rebook.campaigns.messaging_router import router as messaging_router
from rebook.campaigns.router import router as campaigns_router
from rebook.db import DATABASE_ERRORS, dispose_engine, is_unreachable
from rebook.deliverability.router import owner_router as deliverability_router
from rebook.deliverability.router import webhooks as provider_webhooks_router
from rebook.errors import NotFound, install_error_handlers
from rebook.health import DatabaseHealth
from rebook.inputs import StorableTextGuard
from rebook.messaging.audiences.router import router as audiences_router
from rebook.openapi import install_openapi
from rebook.outbox.router import router as outbox_router
from rebook.places.router import router as places_router
from rebook.unsubscribe.router import router as unsubscribe_router
from rebook.webhooks.router import router as webhooks_router
from rebook.whatsapp.router import router as whatsapp_router

# `make run` builds the web app here; the API works without it.
FRONTEND_DIST = Path(__file__).resolve().parents[3] / "frontend" / "dist"

log = logging.getLogger("rebook.api")

# While the database is away (a restart takes seconds), clients are told to come back then.
DATABASE_RETRY_AFTER_SECONDS = 5
DATABASE_DOWN = (
    "The database is unavailable for a moment (restarting or out of reach); nothing was "
    "changed. Try again in a few seconds."
)

DATABASE_BUSY = (
    "The service is too busy to answer just now; nothing was changed. Try again in a few seconds."
)


def _database_down(detail: str = DATABASE_DOWN, **body: str) -> JSONResponse:
    return JSONResponse(
        {"error": "DatabaseUnavailable", "detail": detail, **body},
        status_code=503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def _install_database_down_handler(app: FastAPI) -> None:
    """503 with Retry-After, not 500, for a request the database could not serve because it
    is out of reach; any other database error stays a 500 (a bug)."""

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if not is_unreachable(exc):
            raise exc
        log.warning(
            "database unreachable: answered 503",
            extra={"path": request.url.path, "error": type(exc).__name__},
        )
        return _database_down()

    async def every_connection_busy(request: Request, exc: Exception) -> JSONResponse:
        # The pool had no connection free for pool_timeout: the server is overloaded, not
        # broken; the client may retry, as for a database out of reach.
        log.warning(
            "database connections all busy: answered 503",
            extra={"path": request.url.path, "error": type(exc).__name__},
        )
        return _database_down(DATABASE_BUSY)

    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, database_error)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, every_connection_busy)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    worker: asyncio.Task[None] | None = None
    if app.state.run_worker:
        from rebook.delivery.runtime import run_worker

        worker = asyncio.create_task(run_worker(install_signal_handlers=False))
        worker.add_done_callback(_worker_ended)
    try:
        yield
    finally:
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # logged as it ended
                await worker
        await dispose_engine()


def _worker_ended(task: asyncio.Task[None]) -> None:
    """The in-process worker ends only when the app stops, or on an error that is not the
    database being away: the API then serves on without sending, so say it loudly."""
    if not task.cancelled() and task.exception() is not None:
        log.critical("the delivery worker of rebook serve failed", exc_info=task.exception())


def create_app(*, frontend_dist: Path | None = FRONTEND_DIST, run_worker: bool = False) -> FastAPI:
    """The ASGI app; `run_worker` also runs a delivery worker inside it (`rebook serve`)."""
    app = FastAPI(
        title="Rebook",
        description="Bring customers back: messaging campaigns for the owners of places.",
        version="0.1.0",
        lifespan=_lifespan,
    )
    app.state.run_worker = run_worker
    install_error_handlers(app)
    app.add_middleware(StorableTextGuard)
    _install_database_down_handler(app)

    api = APIRouter(prefix="/api/v1")
    api.include_router(auth_router)
    api.include_router(places_router)
    api.include_router(messaging_router)
    api.include_router(audiences_router)
    api.include_router(bookings_router)
    api.include_router(campaigns_router)
    api.include_router(audit_router)
    api.include_router(outbox_router)
    api.include_router(webhooks_router)
    api.include_router(deliverability_router)
    api.include_router(provider_webhooks_router)
    api.include_router(whatsapp_router)
    app.include_router(api)
    app.include_router(unsubscribe_router)

    app.mount("/metrics", make_asgi_app())
    install_openapi(app)

    database_health = DatabaseHealth()

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        """200 when the API can serve: its event loop answers and the database did at the
        last check (at most a second ago)."""
        if not await database_health.is_up():
            return _database_down(
                "The database is unavailable (restarting or out of reach).",
                status="unavailable",
                database="down",
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    if frontend_dist is not None and (frontend_dist / "index.html").is_file():
        _mount_spa(app, frontend_dist)
    return app


def _mount_spa(app: FastAPI, dist: Path) -> None:
    app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")
    index = dist / "index.html"

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str) -> FileResponse:
        if path.startswith("api/"):
            raise NotFound(f"No API endpoint at /{path}.")
        # Client-side routes fall back to index.html; real files are served as they are.
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and dist.resolve() in candidate.parents:
            return FileResponse(candidate)
        return FileResponse(index)
