"""procrastinate job queue schema and the shared send-rate slots

The procrastinate tables and functions are those of procrastinate 3.10.0, from the schema file
kept beside the migrations (never the installed package's, which moves with upgrades): a
database built today equals one built when this ran. Later procrastinate releases come in as
migrations of their own that apply its migration scripts (rebook.migrations, ADR 018).

send_rate_slots holds, per channel and sender, the next free sending slot: every worker
reserves its slots there, so a rate limit holds across all workers together.

Revision ID: c3d4e5f6a7b8
Revises: b7c1d2e3f4a5
Create Date: 2026-11-24 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rebook.migrations import procrastinate_schema, run_sql_script

revision: str = "c3d4e5f6a7b8"
down_revision: str | None = "b7c1d2e3f4a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    run_sql_script(procrastinate_schema("3.10.0"))
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
