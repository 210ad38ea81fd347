"""marketing_audience.whatsapp_ok requires a valid number (users.phone_e164), not any phone

A number that cannot be read as a valid number is skipped at send ("invalid_phone"), so it
must not count as a way to reach the customer: "with phone" counts, select-all and the list
agree with the send (rebook.messaging.audience.reachable_by_whatsapp).

  - marketing_audience_sync is redefined with `u.phone_e164 IS NOT NULL`;
  - the users trigger also fires when phone_e164 appears or goes;
  - the rows whose flag changes are recomputed (marketing_audience_counts follows through
    its statement triggers).

Revision ID: rc0a1b2c3d4e
Revises: ld1b2c3d4e5
Create Date: 2026-12-02 12:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "rc0a1b2c3d4e"
down_revision: str | None = "ld1b2c3d4e5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# marketing_audience_sync as 2026-12-02-1000 defined it; {phone} is the column that must be set.
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
           WHERE s.user_id = p.user_id AND s.owner_id = p.owner_id AND s.channel = 'email')
             AND NOT EXISTS (SELECT 1 FROM email_suppressions es
                             WHERE es.address = lower(u.email)),
         u.{phone} IS NOT NULL AND NOT EXISTS (
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

# The users trigger of 2026-11-24-1330; {columns} and {phone_changed} name the phone column(s).
_USERS_TRIGGER = """
CREATE TRIGGER users_audience_update
AFTER UPDATE OF gdpr_marketing_consent, role, email, {columns}, first_name, last_name
ON users
FOR EACH ROW
WHEN (OLD.gdpr_marketing_consent IS DISTINCT FROM NEW.gdpr_marketing_consent
      OR OLD.role IS DISTINCT FROM NEW.role
      OR (OLD.email IS NULL) <> (NEW.email IS NULL)
      OR {phone_changed}
      OR OLD.search_text IS DISTINCT FROM NEW.search_text)
EXECUTE FUNCTION marketing_audience_user()
"""

# Recompute the rows whose whatsapp_ok differs from what {phone} says (a no-op elsewhere).
_RECOMPUTE = """
SELECT marketing_audience_sync(array_agg(a.owner_id), array_agg(a.user_id))
FROM marketing_audience a JOIN users u ON u.id = a.user_id
WHERE a.whatsapp_ok AND u.{phone} IS NULL
   OR NOT a.whatsapp_ok AND u.{phone} IS NOT NULL
"""


def upgrade() -> None:
    op.execute(_SYNC.format(phone="phone_e164"))
    op.execute("DROP TRIGGER users_audience_update ON users")
    op.execute(
        _USERS_TRIGGER.format(
            columns="phone, phone_e164",
            phone_changed="(OLD.phone_e164 IS NULL) <> (NEW.phone_e164 IS NULL)",
        )
    )
    op.execute(_RECOMPUTE.format(phone="phone_e164"))


def downgrade() -> None:
    op.execute(_SYNC.format(phone="phone"))
    op.execute("DROP TRIGGER users_audience_update ON users")
    op.execute(
        _USERS_TRIGGER.format(
            columns="phone", phone_changed="(OLD.phone IS NULL) <> (NEW.phone IS NULL)"
        )
    )
    op.execute(_RECOMPUTE.format(phone="phone"))
