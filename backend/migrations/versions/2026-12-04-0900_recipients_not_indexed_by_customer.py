"""campaign_recipients loses its index on user_id alone

Selecting 100 000 customers writes 100 000 recipients; their user ids arrive in no order, so
each entry of this index was a descent to a random leaf: a twentieth of the statement's
time. Nothing the app runs looks recipients up by customer across campaigns (the selection
and the report read (campaign_id, user_id), which keeps its unique index); only deleting a
customer, which the host platform does rarely, now scans the recipients to remove theirs
(ADR 022).

Revision ID: sa0a1b2c3d4e
Revises: ow0a1b2c3d4e
Create Date: 2026-12-04 09:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "sa0a1b2c3d4e"
down_revision: str | None = "ow0a1b2c3d4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_campaign_recipients_user_id", table_name="campaign_recipients")


def downgrade() -> None:
    op.create_index("ix_campaign_recipients_user_id", "campaign_recipients", ["user_id"])
