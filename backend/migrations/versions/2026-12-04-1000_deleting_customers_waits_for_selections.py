"""a customer's deletion waits for selections, instead of each selection locking its customers

Adding 100 000 recipients locked each of their customers FOR KEY SHARE, as a foreign key
does, so that a concurrent deletion of one of them waits instead of leaving a recipient of
nobody: 100 000 row locks written to the users table and its WAL, a tenth of the
statement. Deleting customers is rare (the host platform erases someone); selecting is not.
So the lock moves to the rare side:

  - deleting customers first locks campaign_recipients in SHARE mode (until that
    transaction ends), which waits for every transaction writing recipients and holds new
    ones back, then deletes their recipients, now seeing every committed one;
  - adding recipients still checks, once per statement, that their customers exist, without
    locking them (a transaction that is not READ COMMITTED, whose snapshot may predate a
    deletion, still locks them, and fails if they are gone).

The other references keep their row locks.

Revision ID: cl0a1b2c3d4e
Revises: ac0a1b2c3d4e
Create Date: 2026-12-04 10:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "cl0a1b2c3d4e"
down_revision: str | None = "ac0a1b2c3d4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# TG_ARGV: the column of the written rows, the referenced table, and optionally 'unlocked':
# the referenced table's deletions lock the referencing table (see delete_referencing_rows).
REFERENCES_EXIST = """
CREATE OR REPLACE FUNCTION references_exist() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  ids int[];
  found bigint;
BEGIN
  EXECUTE format('SELECT array_agg(DISTINCT %I) FROM new_rows', TG_ARGV[0]) INTO ids;
  IF TG_NARGS > 2 AND TG_ARGV[2] = 'unlocked'
     AND current_setting('transaction_isolation') = 'read committed' THEN
    EXECUTE format('SELECT count(*) FROM %I t WHERE t.id = ANY ($1)', TG_ARGV[1])
      INTO found USING ids;
  ELSE
    -- One index scan in id order (no sort, no hash of the written rows' full width).
    EXECUTE format(
      'SELECT count(*) FROM (SELECT 1 FROM %I t WHERE t.id = ANY ($1) '
      'ORDER BY t.id FOR KEY SHARE OF t) l',
      TG_ARGV[1]
    ) INTO found USING ids;
  END IF;
  IF found < coalesce(cardinality(ids), 0) THEN
    RAISE EXCEPTION 'insert into % violates its reference %.% → %',
      TG_TABLE_NAME, TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1]
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
  END IF;
  RETURN NULL;
END
$$
"""

# TG_ARGV: the referencing table, its column, and optionally 'lock': take the referencing
# table in SHARE mode first, for references checked 'unlocked'.
DELETE_REFERENCING_ROWS = """
CREATE OR REPLACE FUNCTION delete_referencing_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_NARGS > 2 AND TG_ARGV[2] = 'lock' THEN
    IF NOT EXISTS (SELECT 1 FROM gone) THEN
      RETURN NULL;
    END IF;
    EXECUTE format('LOCK TABLE %I IN SHARE MODE', TG_ARGV[0]);
  END IF;
  EXECUTE format(
    'DELETE FROM %I WHERE %I IN (SELECT id FROM gone)', TG_ARGV[0], TG_ARGV[1]
  );
  RETURN NULL;
END
$$
"""


def _triggers(check_args: str, delete_args: str) -> None:
    op.execute("DROP TRIGGER campaign_recipients_user_id_exists ON campaign_recipients")
    op.execute("DROP TRIGGER users_delete_campaign_recipients_user_id ON users")
    op.execute(
        "CREATE TRIGGER campaign_recipients_user_id_exists AFTER INSERT ON campaign_recipients "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION references_exist({check_args})"
    )
    op.execute(
        "CREATE TRIGGER users_delete_campaign_recipients_user_id AFTER DELETE ON users "
        "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
        f"EXECUTE FUNCTION delete_referencing_rows({delete_args})"
    )


def upgrade() -> None:
    op.execute(REFERENCES_EXIST)
    op.execute(DELETE_REFERENCING_ROWS)
    _triggers("'user_id', 'users', 'unlocked'", "'campaign_recipients', 'user_id', 'lock'")


def downgrade() -> None:
    # The functions ignore the arguments they no longer get.
    _triggers("'user_id', 'users'", "'campaign_recipients', 'user_id'")
