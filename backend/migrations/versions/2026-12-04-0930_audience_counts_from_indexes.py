"""audience counts read indexes of booking_history instead of the whole table

A filtered live count scanned every booking_history row of the owner (about 200 bytes
each, 7 000 pages at 200 000 customers). Counts only ever ask about marketable customers:

  - one narrow index of their scalar columns, keyed by owner and last visit, answers every
    filter but the three sets without reading the table (last-visit ranges by the key, the
    others by the included columns): it replaces the (owner_id, last_visit_at) index;
  - the sets (services and categories booked, places visited) each get a GIN index, so a
    count reads only the rows that booked them.

Revision ID: ac0a1b2c3d4e
Revises: sa0a1b2c3d4e
Create Date: 2026-12-04 09:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ac0a1b2c3d4e"
down_revision: str | None = "sa0a1b2c3d4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETS = ("service_ids", "categories", "place_ids")


def upgrade() -> None:
    op.drop_index("ix_booking_history_owner_last_visit", table_name="booking_history")
    op.execute(
        "CREATE INDEX ix_booking_history_marketable ON booking_history "
        "(owner_id, last_visit_at) INCLUDE (email_ok, whatsapp_ok, completed_visits, no_shows, "
        "spend_amount, usual_interval, last_upcoming_at) WHERE marketable"
    )
    for column in SETS:
        op.execute(
            f"CREATE INDEX ix_booking_history_marketable_{column} ON booking_history "
            f"USING gin ({column}) WHERE marketable"
        )


def downgrade() -> None:
    for column in SETS:
        op.drop_index(f"ix_booking_history_marketable_{column}", table_name="booking_history")
    op.drop_index("ix_booking_history_marketable", table_name="booking_history")
    op.create_index(
        "ix_booking_history_owner_last_visit", "booking_history", ["owner_id", "last_visit_at"]
    )
