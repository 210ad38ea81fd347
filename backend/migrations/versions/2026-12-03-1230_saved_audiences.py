"""saved_audiences: an owner's named booking-history filters; campaigns.audience records the
definition a campaign's customers were selected with (and are checked against at send)

Revision ID: au1a1b2c3d4e
Revises: au0a1b2c3d4e
Create Date: 2026-12-03 12:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "au1a1b2c3d4e"
down_revision: str | None = "au0a1b2c3d4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_audiences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_saved_audiences_owner_id_users"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("filters", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_saved_audiences"),
        sa.UniqueConstraint("owner_id", "name", name="uq_saved_audiences_owner_id_name"),
    )
    op.add_column("campaigns", sa.Column("audience", postgresql.JSONB()))


def downgrade() -> None:
    op.drop_column("campaigns", "audience")
    op.drop_table("saved_audiences")
