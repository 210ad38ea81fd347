"""customer search index and exact per-campaign delivery counters

Search: a trigram GIN index on users.search_text when the server has pg_trgm (the embedded
pgserver build does not; it then falls back to a scan, fine at demo sizes).

Counters: campaign_delivery_counts holds, per campaign, channel and status, the exact number of
deliveries. Statement-level triggers with transition tables keep it in step with
campaign_deliveries, so stats read a handful of rows instead of counting a million.

Revision ID: b7c1d2e3f4a5
Revises: 4f28fb658ac3
Create Date: 2026-11-24 12:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7c1d2e3f4a5"
down_revision: str | None = "4f28fb658ac3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A DO block rather than a Python check, so `make sql` (offline mode) prints it too.
    op.execute(
        """
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE INDEX ix_users_search_text_trgm ON users
              USING gin (search_text gin_trgm_ops) WHERE gdpr_marketing_consent;
          END IF;
        END
        $$
        """
    )

    op.create_table(
        "campaign_delivery_counts",
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False, server_default="0"),
        # Sum of the reported prices of these deliveries.
        sa.Column("cost", sa.Numeric(14, 5), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint(
            "campaign_id", "channel", "status", name="pk_campaign_delivery_counts"
        ),
    )
    # One function for the three events. Deltas are summed per key and applied in key order in
    # one INSERT … ON CONFLICT, so concurrent workers lock counter rows in the same order.
    op.execute(
        """
        CREATE FUNCTION campaign_delivery_counts_apply() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO campaign_delivery_counts AS c (campaign_id, channel, status, count, cost)
            SELECT campaign_id, channel, status, count(*), coalesce(sum(cost), 0) FROM new_rows
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (campaign_id, channel, status)
            DO UPDATE SET count = c.count + EXCLUDED.count, cost = c.cost + EXCLUDED.cost;
          ELSIF TG_OP = 'UPDATE' THEN
            INSERT INTO campaign_delivery_counts AS c (campaign_id, channel, status, count, cost)
            SELECT campaign_id, channel, status, sum(n), sum(price) FROM (
              SELECT campaign_id, channel, status, -1 AS n, -coalesce(cost, 0) AS price
              FROM old_rows
              UNION ALL
              SELECT campaign_id, channel, status, 1, coalesce(cost, 0) FROM new_rows
            ) d
            GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(price) <> 0 ORDER BY 1, 2, 3
            ON CONFLICT (campaign_id, channel, status)
            DO UPDATE SET count = c.count + EXCLUDED.count, cost = c.cost + EXCLUDED.cost;
          ELSE
            -- A cascade from a deleted campaign may already have removed the counters.
            UPDATE campaign_delivery_counts c
            SET count = c.count - d.n, cost = c.cost - d.price
            FROM (SELECT campaign_id, channel, status, count(*) AS n,
                         coalesce(sum(cost), 0) AS price
                  FROM old_rows GROUP BY 1, 2, 3) d
            WHERE c.campaign_id = d.campaign_id AND c.channel = d.channel
              AND c.status = d.status;
          END IF;
          RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER campaign_deliveries_count_insert AFTER INSERT ON campaign_deliveries "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION campaign_delivery_counts_apply()"
    )
    op.execute(
        "CREATE TRIGGER campaign_deliveries_count_update AFTER UPDATE ON campaign_deliveries "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION campaign_delivery_counts_apply()"
    )
    op.execute(
        "CREATE TRIGGER campaign_deliveries_count_delete AFTER DELETE ON campaign_deliveries "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION campaign_delivery_counts_apply()"
    )
    # Possible duplicates are rare: a partial index makes counting them free.
    op.create_index(
        "ix_campaign_deliveries_possible_duplicate",
        "campaign_deliveries",
        ["campaign_id"],
        postgresql_where=sa.text("possible_duplicate"),
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_deliveries_possible_duplicate", table_name="campaign_deliveries")
    op.execute("DROP TRIGGER campaign_deliveries_count_delete ON campaign_deliveries")
    op.execute("DROP TRIGGER campaign_deliveries_count_update ON campaign_deliveries")
    op.execute("DROP TRIGGER campaign_deliveries_count_insert ON campaign_deliveries")
    op.execute("DROP FUNCTION campaign_delivery_counts_apply()")
    op.drop_table("campaign_delivery_counts")
    op.execute("DROP INDEX IF EXISTS ix_users_search_text_trgm")
