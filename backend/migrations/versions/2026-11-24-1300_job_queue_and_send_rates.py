"""procrastinate job queue schema and the shared send-rate slots

The procrastinate tables and functions come from the installed procrastinate (pinned in
uv.lock), applied here so Alembic stays the one source of the schema. send_rate_slots holds,
per channel and sender, the next free sending slot: every worker reserves its slots there, so a
rate limit holds across all workers together.

Revision ID: c3d4e5f6a7b8
Revises: b7c1d2e3f4a5
Create Date: 2026-11-24 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "c3d4e5f6a7b8"
down_revision: str | None = "b7c1d2e3f4a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _statements(script: str) -> list[str]:
    """Split a SQL script on the semicolons that end statements, not those inside $$ bodies
    (the driver runs one statement at a time)."""
    statements, current, in_body = [], [], False
    for line in script.splitlines():
        if line.strip().startswith("--") and not in_body:
            continue
        current.append(line)
        if line.count("$$") % 2:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            if statement.strip(";").strip():
                statements.append(statement)
            current = []
    if "\n".join(current).strip():
        statements.append("\n".join(current).strip())
    return statements


def upgrade() -> None:
    for statement in _statements(SchemaManager.get_schema()):
        op.execute(sa.text(statement.replace(":", r"\:")))
    # Set, in its own commit, right before the provider call: a delivery left `sending`
    # without it never reached the provider and is simply queued again.
    op.add_column(
        "campaign_deliveries",
        sa.Column("provider_call_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "send_rate_slots",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column(
            "next_slot_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("clock_timestamp()"),
        ),
    )


def downgrade() -> None:
    op.drop_table("send_rate_slots")
    op.drop_column("campaign_deliveries", "provider_call_at")
    op.execute(
        "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
        "procrastinate_jobs, procrastinate_workers CASCADE"
    )
    op.execute(
        """
        DO $$
        DECLARE f record;
        BEGIN
          FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                   WHERE p.proname LIKE 'procrastinate%' LOOP
            EXECUTE 'DROP FUNCTION IF EXISTS ' || f.sig || ' CASCADE';
          END LOOP;
        END
        $$
        """
    )
    op.execute(
        "DROP TYPE IF EXISTS procrastinate_job_event_type, procrastinate_job_status, "
        "procrastinate_job_to_defer_v1 CASCADE"
    )
