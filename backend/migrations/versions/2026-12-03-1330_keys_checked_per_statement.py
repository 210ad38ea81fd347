"""recipients' and deliveries' keys checked once per statement instead of once per row

Selecting 100 000 customers writes 100 000 recipients and 200 000 deliveries in one
statement. Each foreign key ran a lookup (and a row lock) per written row, 300 000 in all: a
third of the statement's time. These three keys become statement-level triggers over the
statement's transition tables, with the same guarantees:

  - campaign_recipients.campaign_id → campaigns, campaign_recipients.user_id → users and
    campaign_deliveries.recipient_id → campaign_recipients: the written rows must reference
    existing rows, which are locked FOR KEY SHARE as a foreign key locks them (a concurrent
    delete waits, or this statement fails); the error is a foreign_key_violation (23503).
  - ON DELETE CASCADE: deleting campaigns or users deletes their recipients, deleting
    recipients deletes their deliveries (where the history guard still refuses attempted
    ones).
  - an UPDATE that changes a recipient's references checks them (a row trigger that fires
    only then); a delivery's recipient cannot change (nothing changes it, and deliveries
    are updated all through a send).

Revision ID: ld2a1b2c3d4e
Revises: au2a1b2c3d4e
Create Date: 2026-12-03 09:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ld2a1b2c3d4e"
down_revision: str | None = "au2a1b2c3d4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (constraint, table, column, referenced table)
KEYS = [
    (
        "fk_campaign_recipients_campaign_id_campaigns",
        "campaign_recipients",
        "campaign_id",
        "campaigns",
    ),
    ("fk_campaign_recipients_user_id_users", "campaign_recipients", "user_id", "users"),
    (
        "fk_campaign_deliveries_recipient_id_campaign_recipients",
        "campaign_deliveries",
        "recipient_id",
        "campaign_recipients",
    ),
]


def upgrade() -> None:
    for name, table, _, _ in KEYS:
        op.drop_constraint(name, table, type_="foreignkey")
    # TG_ARGV: the column of the written rows, the referenced table. The referenced rows are
    # locked in id order, as every other writer of them locks several.
    op.execute(
        """
        CREATE FUNCTION references_exist() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
          ids int[];
          locked bigint;
        BEGIN
          EXECUTE format('SELECT array_agg(DISTINCT %I) FROM new_rows', TG_ARGV[0]) INTO ids;
          -- One index scan in id order (no sort, no hash of the written rows' full width).
          EXECUTE format(
            'SELECT count(*) FROM (SELECT 1 FROM %I t WHERE t.id = ANY ($1) '
            'ORDER BY t.id FOR KEY SHARE OF t) l',
            TG_ARGV[1]
          ) INTO locked USING ids;
          IF locked < coalesce(cardinality(ids), 0) THEN
            RAISE EXCEPTION 'insert into % violates its reference %.% → %',
              TG_TABLE_NAME, TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1]
              USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
          END IF;
          RETURN NULL;
        END
        $$
        """
    )
    # TG_ARGV: the referencing table, its column.
    op.execute(
        """
        CREATE FUNCTION delete_referencing_rows() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          EXECUTE format(
            'DELETE FROM %I WHERE %I IN (SELECT id FROM gone)', TG_ARGV[0], TG_ARGV[1]
          );
          RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION refuse_reference_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the references of % rows cannot change', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
        END
        $$
        """
    )
    for _, table, column, referenced in KEYS:
        op.execute(
            f"CREATE TRIGGER {table}_{column}_exists AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION references_exist('{column}', '{referenced}')"
        )
        op.execute(
            f"CREATE TRIGGER {referenced}_delete_{table}_{column} AFTER DELETE ON {referenced} "
            "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
            f"EXECUTE FUNCTION delete_referencing_rows('{table}', '{column}')"
        )
    # A recipient's references are checked when an UPDATE changes them, as a key checks
    # them (a row trigger that fires only then: a phone number read again costs nothing).
    op.execute(
        """
        CREATE FUNCTION campaign_recipient_references_exist() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM 1 FROM campaigns WHERE id = NEW.campaign_id FOR KEY SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'update of campaign_recipients violates its reference '
              'campaign_recipients.campaign_id → campaigns'
              USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
          END IF;
          PERFORM 1 FROM users WHERE id = NEW.user_id FOR KEY SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'update of campaign_recipients violates its reference '
              'campaign_recipients.user_id → users'
              USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
          END IF;
          RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER campaign_recipients_references_exist_after_update "
        "AFTER UPDATE OF campaign_id, user_id ON campaign_recipients FOR EACH ROW "
        "WHEN (OLD.campaign_id IS DISTINCT FROM NEW.campaign_id "
        "OR OLD.user_id IS DISTINCT FROM NEW.user_id) "
        "EXECUTE FUNCTION campaign_recipient_references_exist()"
    )
    op.execute(
        "CREATE TRIGGER campaign_deliveries_references_fixed "
        "BEFORE UPDATE OF recipient_id ON campaign_deliveries FOR EACH ROW "
        "WHEN (OLD.recipient_id IS DISTINCT FROM NEW.recipient_id) "
        "EXECUTE FUNCTION refuse_reference_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER campaign_deliveries_references_fixed ON campaign_deliveries")
    op.execute(
        "DROP TRIGGER campaign_recipients_references_exist_after_update ON campaign_recipients"
    )
    op.execute("DROP FUNCTION campaign_recipient_references_exist()")
    for _, table, column, referenced in KEYS:
        op.execute(f"DROP TRIGGER {referenced}_delete_{table}_{column} ON {referenced}")
        op.execute(f"DROP TRIGGER {table}_{column}_exists ON {table}")
    op.execute("DROP FUNCTION refuse_reference_change()")
    op.execute("DROP FUNCTION delete_referencing_rows()")
    op.execute("DROP FUNCTION references_exist()")
    for name, table, column, referenced in reversed(KEYS):
        op.create_foreign_key(name, table, referenced, [column], ["id"], ondelete="CASCADE")
