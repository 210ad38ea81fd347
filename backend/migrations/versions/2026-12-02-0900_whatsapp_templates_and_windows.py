"""whatsapp_templates (the Content API's list, cached) and whatsapp_service_windows (when
each number last wrote, for WhatsApp's 24-hour rule on free text)

Revision ID: wa0a1b2c3d4
Revises: f6a7b8c9d0e1
Create Date: 2026-12-02 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "wa0a1b2c3d4"
down_revision: str | None = "f6a7b8c9d0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_templates",
        sa.Column("account_sid", sa.String(length=34), nullable=False),
        sa.Column("content_sid", sa.String(length=34), nullable=False),
        sa.Column("friendly_name", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("types", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sample_variables", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_sid", "content_sid", name=op.f("pk_whatsapp_templates")),
    )
    op.create_table(
        "whatsapp_service_windows",
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone_e164", name=op.f("pk_whatsapp_service_windows")),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_service_windows")
    op.drop_table("whatsapp_templates")
