"""The `rebook` command: serve · worker · bounces · migrate · seed-demo · create-owner · sql ·
dkim-keygen · lift-hold."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from pydantic import ValidationError

from rebook.config import get_settings, listen_on, startup_errors

app = typer.Typer(
    help="Rebook: messaging campaigns for the owners of places.", no_args_is_help=True
)


@app.command()
def migrate() -> None:
    """Apply the database migrations (Alembic `upgrade head`)."""
    from rebook.migrations import upgrade_head

    applied = upgrade_head()
    if not applied:
        typer.echo("Database is up to date: no migration to apply.")
        return
    typer.echo(f"Applied {len(applied)} migration{'s' if len(applied) != 1 else ''}:")
    for step in applied:
        typer.echo(f"  {step}")
    typer.echo("Database is up to date.")


@app.command()
def sql() -> None:
    """Print the SQL of all migrations, for review by a DBA."""
    from rebook.migrations import print_sql

    print_sql()


@app.command("seed-demo")
def seed_demo(
    if_empty: bool = typer.Option(True, help="Only when the database has no users yet."),
) -> None:
    """Load the deterministic demo data (owners demo@rebook.test and other@rebook.test)."""
    from rebook.db import dispose_engine, session_scope
    from rebook.demo import DEMO_OWNER_EMAIL, DEMO_PASSWORD, seed_demo

    async def run() -> bool:
        try:
            async with session_scope() as session:
                return await seed_demo(session)
        finally:
            await dispose_engine()

    loaded = asyncio.run(run())
    if loaded:
        typer.echo(f"Demo data loaded. Log in as {DEMO_OWNER_EMAIL} / {DEMO_PASSWORD}")
    elif not if_empty:
        typer.echo("The database already has users; demo data not loaded.", err=True)
        raise typer.Exit(1)
    else:
        typer.echo("The database already has data; demo data left as it is.")


@app.command("create-owner")
def create_owner(
    email: str = typer.Option(..., prompt=True),
    first_name: str = typer.Option(..., prompt=True),
    last_name: str = typer.Option(..., prompt=True),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a business owner account with a real password."""
    from rebook.auth import service
    from rebook.db import dispose_engine, session_scope
    from rebook.errors import RebookError

    if len(password) < 10:
        typer.echo("The password must have at least 10 characters.", err=True)
        raise typer.Exit(2)

    async def run() -> None:
        try:
            async with session_scope() as session:
                await service.create_owner(
                    session,
                    email=email,
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                )
        finally:
            await dispose_engine()

    try:
        asyncio.run(run())
    except RebookError as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Owner {email} created.")


@app.command("dkim-keygen")
def dkim_keygen(
    domain: str = typer.Argument(..., help="The signing domain, e.g. rebook.example"),
    selector: str = typer.Argument(..., help="The selector, e.g. rebook2026"),
    out: Path = typer.Option(
        None, help="Where to write the private key (default: ./DOMAIN.SELECTOR.pem)."
    ),
) -> None:
    """Write a new DKIM private key and print the DNS TXT record that publishes it."""
    from rebook.channels.dkim import new_key

    key = new_key(domain.lower().strip("."), selector)
    path = out or Path(f"{domain}.{selector}.pem")
    if path.exists():
        typer.echo(f"{path} exists; not overwritten.", err=True)
        raise typer.Exit(1)
    path.touch(mode=0o600)
    path.write_bytes(key.private_pem)
    typer.echo(f"Private key written to {path} (keep it secret). Publish this TXT record:\n")
    typer.echo(f'{key.dns_name}. IN TXT "{key.dns_value}"\n')
    typer.echo(
        f"Then set DKIM_DOMAIN={domain} DKIM_SELECTOR={selector} "
        f"DKIM_PRIVATE_KEY_FILE={path.resolve()}"
    )


@app.command()
def bounces() -> None:
    """Receive bounces and complaints by SMTP for BOUNCE_DOMAIN (its MX points here)."""
    from rebook.deliverability.receiver import run_receiver

    run_receiver(get_settings())


@app.command("lift-hold")
def lift_hold(
    owner_email: str = typer.Argument(..., help="The owner whose email sends are held."),
    reason: str = typer.Option(..., prompt=True, help="Why it is lifted (kept in the audit)."),
) -> None:
    """Lift an owner's send hold (placed when their complaint rate passed the limit)."""
    from rebook.db import dispose_engine, session_scope
    from rebook.deliverability import holds

    async def run() -> int | None:
        try:
            async with session_scope() as session:
                return await holds.lift(session, owner_email, reason)
        finally:
            await dispose_engine()

    resumed = asyncio.run(run())
    if resumed is None:
        typer.echo(f"{owner_email} has no held sends.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Hold lifted; {resumed} campaign(s) resume sending.")


@app.command()
def worker() -> None:
    """Run a delivery worker (any number, on any machines, sharing the database)."""
    import uvloop

    from rebook.delivery.runtime import run_worker

    # The loop `rebook serve` and its in-process worker run on (uvicorn picks uvloop): one
    # loop wherever a worker runs.
    uvloop.run(run_worker())


@app.command()
def serve(
    host: str = typer.Option(None, envvar="HOST", help="Interface to listen on."),
    port: int = typer.Option(None, envvar="PORT", help="Port to listen on."),
    worker: bool = typer.Option(True, help="Also run a delivery worker in this process."),
    prepare: bool = typer.Option(
        False,
        help="First apply the migrations and load the demo data into an empty database "
        "(what `make run` does, in one process rather than three).",
    ),
) -> None:
    """Serve the API (and the web app when built) on HOST:PORT."""
    import uvicorn

    from rebook.db import resolve_database_url

    settings = get_settings()
    if (host or settings.host, port or settings.port) != (settings.host, settings.port):
        settings = listen_on(host or settings.host, port or settings.port)
    host, port = settings.host, settings.port
    resolve_database_url(settings)  # start the embedded database before the first request
    if prepare:
        migrate()
        seed_demo(if_empty=True)
    typer.echo(f"Rebook is running at http://{host}:{port}/  (API docs: /docs)")
    typer.echo("Demo login: demo@rebook.test / rebook-demo (when the demo data is loaded)")
    from rebook.app import create_app

    # log_config=None: uvicorn's logs go through our JSON handler and its filters (rebook.logs).
    uvicorn.run(create_app(run_worker=worker), host=host, port=port, log_config=None)


def main() -> None:
    from rebook.logs import configure

    try:
        settings = get_settings()
    except ValidationError as exc:
        # A wrong setting is the operator's to fix: say which, without a traceback.
        for line in startup_errors(exc):
            typer.echo(f"Rebook cannot start: {line}", err=True)
        raise SystemExit(2) from None
    configure(settings.log_level)
    app()
