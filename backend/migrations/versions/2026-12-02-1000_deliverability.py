"""deliverability: address suppressions, bounces and complaints, send holds, the business as sender

  - email_suppressions: addresses no owner mails any more (a hard bounce, or too many soft
    ones), by lower-cased address.
  - email_bounces: each bounce or complaint about a delivered email, once per delivery and
    kind; an owner's complaint rate and an address's soft bounces are counted from it.
  - send_holds: an owner's emails held while their complaint rate is over the limit; at most
    one open hold per owner.
  - places.reply_to_email, users.sender_email: the business as the sender of its emails.
  - marketing_audience.email_ok now also requires the address not to be suppressed: the
    sync function is redefined, and a change to email_suppressions recomputes the rows of
    the customers holding the address.

Revision ID: em0a1b2c3d4e
Revises: wa0a1b2c3d4
Create Date: 2026-12-02 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "em0a1b2c3d4e"
down_revision: str | None = "wa0a1b2c3d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADDRESS_OK = """
             AND NOT EXISTS (SELECT 1 FROM email_suppressions es
                             WHERE es.address = lower(u.email))"""

# marketing_audience_sync as 2026-11-24-1330 defined it; {address_ok} adds the new rule.
_SYNC = """
CREATE OR REPLACE FUNCTION marketing_audience_sync(owner_ids integer[], user_ids integer[])
RETURNS void LANGUAGE sql AS $$
  WITH pairs AS (
    SELECT DISTINCT o AS owner_id, u AS user_id
    FROM unnest(owner_ids, user_ids) AS t(o, u)
    WHERE o IS NOT NULL AND u IS NOT NULL
  ),
  found AS (
    SELECT p.owner_id, p.user_id,
           ARRAY(SELECT DISTINCT b.place_id
                 FROM bookings b JOIN places pl ON pl.id = b.place_id
                 WHERE b.user_id = p.user_id AND pl.owner_id = p.owner_id
                 ORDER BY 1) AS place_ids
    FROM pairs p
  ),
  gone AS (
    DELETE FROM marketing_audience a USING found k
    WHERE a.owner_id = k.owner_id AND a.user_id = k.user_id
      AND cardinality(k.place_ids) = 0
  )
  INSERT INTO marketing_audience AS a
    (owner_id, user_id, marketable, email_ok, whatsapp_ok, search_text, place_ids)
  SELECT p.owner_id, p.user_id,
         u.gdpr_marketing_consent AND u.role = 'customer',
         u.email IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM marketing_suppressions s
           WHERE s.user_id = p.user_id AND s.owner_id = p.owner_id AND s.channel = 'email'){address_ok},
         u.phone IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM marketing_suppressions s
           WHERE s.user_id = p.user_id AND s.owner_id = p.owner_id AND s.channel = 'whatsapp'),
         u.search_text, p.place_ids
  FROM (SELECT * FROM found WHERE cardinality(place_ids) > 0) p JOIN users u ON u.id = p.user_id
  ORDER BY 1, 2
  ON CONFLICT (owner_id, user_id) DO UPDATE
    SET marketable = EXCLUDED.marketable, email_ok = EXCLUDED.email_ok,
        whatsapp_ok = EXCLUDED.whatsapp_ok, search_text = EXCLUDED.search_text,
        place_ids = EXCLUDED.place_ids
    WHERE (a.marketable, a.email_ok, a.whatsapp_ok, a.search_text, a.place_ids)
          IS DISTINCT FROM (EXCLUDED.marketable, EXCLUDED.email_ok, EXCLUDED.whatsapp_ok,
                            EXCLUDED.search_text, EXCLUDED.place_ids)
$$
"""


def upgrade() -> None:
    op.create_table(
        "email_suppressions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column(
            "delivery_id",
            sa.Integer(),
            sa.ForeignKey(
                "campaign_deliveries.id",
                ondelete="SET NULL",
                name="fk_email_suppressions_delivery_id_campaign_deliveries",
            ),
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("address", name="uq_email_suppressions_address"),
        sa.CheckConstraint("address = lower(address)", name="ck_email_suppressions_lower"),
    )
    op.create_table(
        "email_bounces",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "delivery_id",
            sa.Integer(),
            sa.ForeignKey(
                "campaign_deliveries.id",
                ondelete="CASCADE",
                name="fk_email_bounces_delivery_id_campaign_deliveries",
            ),
            nullable=False,
        ),
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey(
                "campaigns.id", ondelete="CASCADE", name="fk_email_bounces_campaign_id_campaigns"
            ),
            nullable=False,
        ),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_email_bounces_owner_id_users"),
            nullable=False,
        ),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("delivery_id", "kind", name="uq_email_bounces_delivery_id_kind"),
    )
    op.create_index(
        "ix_email_bounces_owner_kind_created", "email_bounces", ["owner_id", "kind", "created_at"]
    )
    op.create_index("ix_email_bounces_campaign_kind", "email_bounces", ["campaign_id", "kind"])
    op.create_index(
        "ix_email_bounces_address_kind_created",
        "email_bounces",
        ["address", "kind", "created_at"],
    )
    op.create_table(
        "send_holds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_send_holds_owner_id_users"),
            nullable=False,
        ),
        sa.Column("complaint_rate", sa.Numeric(8, 6), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.Column("emails", sa.Integer(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True)),
        sa.Column("lift_reason", sa.Text()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index(
        "uq_send_holds_open_owner",
        "send_holds",
        ["owner_id"],
        unique=True,
        postgresql_where=sa.text("lifted_at IS NULL"),
    )
    op.add_column("places", sa.Column("reply_to_email", sa.String(254)))
    op.add_column("users", sa.Column("sender_email", sa.String(254)))

    op.execute(_SYNC.format(address_ok=_ADDRESS_OK))
    op.execute(
        """
        CREATE FUNCTION marketing_audience_email_suppressions() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE o integer[]; u integer[];
        BEGIN
          SELECT array_agg(a.owner_id), array_agg(a.user_id) INTO o, u
          FROM marketing_audience a JOIN users us ON us.id = a.user_id
          WHERE lower(us.email) IN (SELECT address FROM changed_rows);
          IF o IS NOT NULL THEN
            PERFORM marketing_audience_sync(o, u);
          END IF;
          RETURN NULL;
        END
        $$
        """
    )
    for event, refs in (
        ("insert", "NEW TABLE AS changed_rows"),
        ("delete", "OLD TABLE AS changed_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER email_suppressions_audience_{event} AFTER {event.upper()} "
            f"ON email_suppressions REFERENCING {refs} "
            "FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_email_suppressions()"
        )


def downgrade() -> None:
    for event in ("insert", "delete"):
        op.execute(f"DROP TRIGGER email_suppressions_audience_{event} ON email_suppressions")
    op.execute("DROP FUNCTION marketing_audience_email_suppressions()")
    op.execute(_SYNC.format(address_ok=""))
    # The rows of suppressed addresses become reachable again.
    op.execute(
        """
        SELECT marketing_audience_sync(array_agg(a.owner_id), array_agg(a.user_id))
        FROM marketing_audience a JOIN users u ON u.id = a.user_id
        WHERE lower(u.email) IN (SELECT address FROM email_suppressions)
        """
    )
    op.drop_column("users", "sender_email")
    op.drop_column("places", "reply_to_email")
    op.drop_index("uq_send_holds_open_owner", table_name="send_holds")
    op.drop_table("send_holds")
    op.drop_index("ix_email_bounces_address_kind_created", table_name="email_bounces")
    op.drop_index("ix_email_bounces_campaign_kind", table_name="email_bounces")
    op.drop_index("ix_email_bounces_owner_kind_created", table_name="email_bounces")
    op.drop_table("email_bounces")
    op.drop_table("email_suppressions")
