"""lighter writes for a large selection: two redundant foreign keys, a partial index

Selecting 100 000 customers writes 100 000 recipients and 200 000 deliveries in one statement;
every foreign key costs a lookup per row, and every index an entry. Dropped here:

  - campaign_deliveries.campaign_id → campaigns: a delivery belongs to its recipient, whose
    own key (ON DELETE CASCADE) already ties it to the campaign and removes it with it.
  - campaign_recipients.place_id → places: the place only names the message and reads phone
    numbers; every reader joins it with the campaign owner's places (a place gone, or not the
    owner's, is no place), as the delivery engine always did.
  - ix_campaign_deliveries_provider_message_id holds only the deliveries that have a
    provider id (the status callbacks look them up by it), not one entry per pending one.

Revision ID: ld1b2c3d4e5
Revises: ld0a1b2c3d4
Create Date: 2026-12-02 09:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ld1b2c3d4e5"
down_revision: str | None = "ld0a1b2c3d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(
        "fk_campaign_deliveries_campaign_id_campaigns", "campaign_deliveries", type_="foreignkey"
    )
    op.drop_constraint(
        "fk_campaign_recipients_place_id_places", "campaign_recipients", type_="foreignkey"
    )
    op.drop_index("ix_campaign_deliveries_provider_message_id", "campaign_deliveries")
    op.create_index(
        "ix_campaign_deliveries_provider_message_id",
        "campaign_deliveries",
        ["provider_message_id"],
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_deliveries_provider_message_id", "campaign_deliveries")
    op.create_index(
        "ix_campaign_deliveries_provider_message_id", "campaign_deliveries", ["provider_message_id"]
    )
    op.execute(
        "UPDATE campaign_recipients r SET place_id = NULL WHERE place_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM places p WHERE p.id = r.place_id)"
    )
    op.create_foreign_key(
        "fk_campaign_recipients_place_id_places",
        "campaign_recipients",
        "places",
        ["place_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        "fk_campaign_deliveries_campaign_id_campaigns",
        "campaign_deliveries",
        "campaigns",
        ["campaign_id"],
        ["id"],
        ondelete="CASCADE",
    )
