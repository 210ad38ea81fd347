"""campaign history that cannot be erased: archive, first send, append-only audit trail

A campaign that has sent anything is the proof of who was messaged, when and why. Here the
database keeps it, whatever the code above does:

  - campaigns.first_sent_at: set by a trigger the first time a campaign is `sending` (or
    written as sending, sent or partially failed), and never cleared. Filled in for existing
    campaigns from their status, their deliveries and their audit trail.
  - campaigns.archived_at: archived campaigns are hidden from the default list.
  - campaign_deliveries.earlier_attempts: the attempts "retry failed" sets back to 0.
  - a campaign with first_sent_at, and a delivery ever attempted, cannot be deleted (raw
    DELETE, cascade from its recipient, campaign or owner alike): statement-level triggers
    raise `restrict_violation`.
  - audit_events.campaign_id is ON DELETE RESTRICT (it was SET NULL, which unlinked a deleted
    campaign's trail); an event cannot be changed (only its user references may become NULL,
    when that user is deleted), nor deleted unless it belongs to a never-sent campaign.
  - audit_events.actor (owner, customer, worker, system) and user_agent.

An operator who must erase (a court order, say) sets `rebook.erase_history = on` for the
transaction (SET LOCAL); the application never does.

Revision ID: f6a7b8c9d0e1
Revises: b3b7dd71a812
Create Date: 2026-12-01 17:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6a7b8c9d0e1"
down_revision: str | None = "b3b7dd71a812"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ERASE = "current_setting('rebook.erase_history', true) = 'on'"


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("first_sent_at", sa.DateTime(timezone=True)))
    op.add_column("campaigns", sa.Column("archived_at", sa.DateTime(timezone=True)))
    op.add_column(
        "campaign_deliveries",
        sa.Column("earlier_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "audit_events",
        sa.Column(
            "actor",
            sa.Enum(
                "owner",
                "customer",
                "worker",
                "system",
                name="audit_actor",
                native_enum=False,
                length=20,
            ),
            nullable=False,
            server_default="system",
        ),
    )
    op.add_column("audit_events", sa.Column("user_agent", sa.String(300)))
    op.drop_constraint("fk_audit_events_campaign_id_campaigns", "audit_events", "foreignkey")
    op.create_foreign_key(
        "fk_audit_events_campaign_id_campaigns",
        "audit_events",
        "campaigns",
        ["campaign_id"],
        ["id"],
        ondelete="RESTRICT",
    )

    # What existing rows already say.
    op.execute(
        """
        UPDATE audit_events SET actor = CASE
            WHEN actor_user_id IS NULL AND action IN ('campaign.sending_started',
                                                      'campaign.finished') THEN 'worker'
            WHEN actor_user_id IS NULL THEN 'system'
            WHEN actor_user_id = owner_id THEN 'owner'
            ELSE 'customer' END
        """
    )
    op.execute(
        """
        UPDATE campaigns c SET first_sent_at = coalesce(
            (SELECT min(a.created_at) FROM audit_events a
             WHERE a.campaign_id = c.id
               AND a.action IN ('campaign.sent', 'campaign.sending_started')),
            (SELECT min(d.sent_at) FROM campaign_deliveries d WHERE d.campaign_id = c.id),
            c.updated_at)
        WHERE c.status IN ('sending', 'sent', 'partially_failed')
           OR EXISTS (SELECT 1 FROM campaign_deliveries d
                      WHERE d.campaign_id = c.id
                        AND (d.attempts > 0 OR d.status IN ('sending', 'sent', 'failed')))
           OR EXISTS (SELECT 1 FROM audit_events a
                      WHERE a.campaign_id = c.id
                        AND a.action IN ('campaign.sent', 'campaign.sending_started'))
        """
    )

    op.execute(
        """
        CREATE FUNCTION campaigns_first_sent() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND OLD.first_sent_at IS NOT NULL THEN
                NEW.first_sent_at := OLD.first_sent_at;
            ELSIF NEW.status IN ('sending', 'sent', 'partially_failed') THEN
                NEW.first_sent_at := coalesce(NEW.first_sent_at, now());
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER campaigns_first_sent BEFORE INSERT OR UPDATE ON campaigns "
        "FOR EACH ROW EXECUTE FUNCTION campaigns_first_sent()"
    )
    op.execute(
        f"""
        CREATE FUNCTION campaigns_keep_sent() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            kept integer;
        BEGIN
            IF {ERASE} THEN
                RETURN NULL;
            END IF;
            SELECT id INTO kept FROM gone WHERE first_sent_at IS NOT NULL LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'campaign % has sent messages: archive it, it cannot be deleted',
                    kept USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER campaigns_keep_sent AFTER DELETE ON campaigns "
        "REFERENCING OLD TABLE AS gone "
        "FOR EACH STATEMENT EXECUTE FUNCTION campaigns_keep_sent()"
    )
    op.execute(
        f"""
        CREATE FUNCTION campaign_deliveries_keep_attempted() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            kept integer;
        BEGIN
            IF {ERASE} THEN
                RETURN NULL;
            END IF;
            SELECT id INTO kept FROM gone
            WHERE attempts > 0 OR earlier_attempts > 0 OR status IN ('sending', 'sent', 'failed')
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'delivery % was attempted: it is part of the record and cannot '
                    'be deleted', kept USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER campaign_deliveries_keep_attempted AFTER DELETE ON campaign_deliveries "
        "REFERENCING OLD TABLE AS gone "
        "FOR EACH STATEMENT EXECUTE FUNCTION campaign_deliveries_keep_attempted()"
    )
    op.execute(
        f"""
        CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            kept integer;
        BEGIN
            IF {ERASE} THEN
                RETURN NULL;
            END IF;
            IF TG_OP = 'UPDATE' THEN
                SELECT n.id INTO kept FROM fresh n JOIN stale o ON o.id = n.id
                WHERE (n.id, n.action, n.details, n.campaign_id, n.created_at, n.ip_address,
                       n.user_agent, n.actor)
                      IS DISTINCT FROM (o.id, o.action, o.details, o.campaign_id, o.created_at,
                                        o.ip_address, o.user_agent, o.actor)
                   OR (n.owner_id IS DISTINCT FROM o.owner_id AND n.owner_id IS NOT NULL)
                   OR (n.actor_user_id IS DISTINCT FROM o.actor_user_id
                       AND n.actor_user_id IS NOT NULL)
                LIMIT 1;
                IF FOUND THEN
                    RAISE EXCEPTION 'audit event % cannot be changed', kept
                        USING ERRCODE = 'restrict_violation';
                END IF;
                RETURN NULL;
            END IF;
            -- Deleted: only the events of a campaign that never sent (deleted with it).
            SELECT o.id INTO kept FROM stale o
            LEFT JOIN campaigns c ON c.id = o.campaign_id
            WHERE o.campaign_id IS NULL OR c.id IS NULL OR c.first_sent_at IS NOT NULL
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'audit event % is part of the record and cannot be deleted', kept
                    USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_update AFTER UPDATE ON audit_events "
        "REFERENCING OLD TABLE AS stale NEW TABLE AS fresh "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_delete AFTER DELETE ON audit_events "
        "REFERENCING OLD TABLE AS stale "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_events_no_delete ON audit_events")
    op.execute("DROP TRIGGER audit_events_no_update ON audit_events")
    op.execute("DROP FUNCTION audit_events_append_only()")
    op.execute("DROP TRIGGER campaign_deliveries_keep_attempted ON campaign_deliveries")
    op.execute("DROP FUNCTION campaign_deliveries_keep_attempted()")
    op.execute("DROP TRIGGER campaigns_keep_sent ON campaigns")
    op.execute("DROP FUNCTION campaigns_keep_sent()")
    op.execute("DROP TRIGGER campaigns_first_sent ON campaigns")
    op.execute("DROP FUNCTION campaigns_first_sent()")
    op.drop_constraint("fk_audit_events_campaign_id_campaigns", "audit_events", "foreignkey")
    op.create_foreign_key(
        "fk_audit_events_campaign_id_campaigns",
        "audit_events",
        "campaigns",
        ["campaign_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.drop_column("audit_events", "user_agent")
    op.drop_column("audit_events", "actor")
    op.drop_column("campaign_deliveries", "earlier_attempts")
    op.drop_column("campaigns", "archived_at")
    op.drop_column("campaigns", "first_sent_at")
