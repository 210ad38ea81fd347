"""the Outbox keeps an email as it arrives: its HTML part and its sender

outbox_messages.html_body: the HTML part with its unsubscribe footer (the text part stays in
body); outbox_messages.sender: the From the customer sees. Both empty for WhatsApp messages
and for emails kept before.

Revision ID: fl0a1b2c3d4e
Revises: em0a1b2c3d4e
Create Date: 2026-12-02 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fl0a1b2c3d4e"
down_revision: str | None = "em0a1b2c3d4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_messages", sa.Column("html_body", sa.Text(), nullable=True))
    op.add_column("outbox_messages", sa.Column("sender", sa.String(length=320), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox_messages", "sender")
    op.drop_column("outbox_messages", "html_body")
