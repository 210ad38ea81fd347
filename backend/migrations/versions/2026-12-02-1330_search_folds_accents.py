"""the customer search ignores accents: users.search_text folded by search_fold()

search_fold(text) lower-cases and takes the accents off Latin letters: Unicode NFKD splits
é into e and a combining accent, which is dropped (é → e, ü → u, ç → c, ﬁ → fi); the letters
with no decomposition are mapped by a fixed table (ø → o, ł → l, đ → d, æ → ae, œ → oe,
ß → ss, þ → th). normalize(), regexp_replace() and translate() are IMMUTABLE, so the generated
column users.search_text can use it; the search term goes through the same function
(rebook.messaging.audience.search_condition): "muller" finds Müller and "müller" finds Muller.
Pure ASCII text takes the short way (lower() only).

Not `unaccent`: the embedded pgserver build ships no contrib extension but plpgsql and vector,
and unaccent() is only STABLE (its rules file can change), so a generated column cannot call it.
normalize() needs a UTF8 database, which both servers have (initdb's default with C.UTF-8).

PostgreSQL 15 cannot change a generated column's expression in place: the column is dropped
and added again (a rewrite of users), its trigram index and the users trigger that reads it
are made again, and marketing_audience's copy is refreshed (see docs/benchmarks.md for what
that costs on 200 000 customers).

Revision ID: rc1a1b2c3d4e
Revises: rc0a1b2c3d4e
Create Date: 2026-12-02 12:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "rc1a1b2c3d4e"
down_revision: str | None = "rc0a1b2c3d4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The table: letters NFKD leaves whole, both cases (lower() may not know them under LC_CTYPE
# C, so it runs last).
_FOLD = """
CREATE FUNCTION search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN octet_length(value) = char_length(value) THEN lower(value)
       ELSE lower(
         replace(replace(replace(replace(replace(replace(replace(replace(
           translate(
             regexp_replace(normalize(value, NFKD), '[\\u0300-\\u036f]', '', 'g'),
             'ØøŁłĐđÐðĦħŦŧıſ', 'OoLlDdDdHhTtis'),
           'Æ', 'AE'), 'æ', 'ae'), 'Œ', 'OE'), 'œ', 'oe'),
           'ẞ', 'SS'), 'ß', 'ss'), 'Þ', 'TH'), 'þ', 'th'))
       END
"""

_TEXT = (
    "first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' || "
    "regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')"
)

# The users trigger as 2026-12-02-1200 defined it (it reads search_text).
_USERS_TRIGGER = """
CREATE TRIGGER users_audience_update
AFTER UPDATE OF gdpr_marketing_consent, role, email, phone, phone_e164, first_name, last_name
ON users
FOR EACH ROW
WHEN (OLD.gdpr_marketing_consent IS DISTINCT FROM NEW.gdpr_marketing_consent
      OR OLD.role IS DISTINCT FROM NEW.role
      OR (OLD.email IS NULL) <> (NEW.email IS NULL)
      OR (OLD.phone_e164 IS NULL) <> (NEW.phone_e164 IS NULL)
      OR OLD.search_text IS DISTINCT FROM NEW.search_text)
EXECUTE FUNCTION marketing_audience_user()
"""

# As 2026-11-24-1230 made it, when pg_trgm is there.
_USERS_TRGM = """
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    CREATE INDEX ix_users_search_text_trgm ON users
      USING gin (search_text gin_trgm_ops) WHERE gdpr_marketing_consent;
  END IF;
END
$$
"""


def _rebuild(expression: str) -> None:
    op.execute("DROP TRIGGER users_audience_update ON users")
    op.execute("DROP INDEX IF EXISTS ix_users_search_text_trgm")
    op.execute("ALTER TABLE users DROP COLUMN search_text")
    op.execute(
        f"ALTER TABLE users ADD COLUMN search_text text NOT NULL "
        f"GENERATED ALWAYS AS ({expression}) STORED"
    )
    op.execute(_USERS_TRGM)
    op.execute(_USERS_TRIGGER)
    op.execute(
        "UPDATE marketing_audience a SET search_text = u.search_text FROM users u "
        "WHERE u.id = a.user_id AND a.search_text IS DISTINCT FROM u.search_text"
    )


def upgrade() -> None:
    op.execute(_FOLD)
    _rebuild(f"search_fold({_TEXT})")


def downgrade() -> None:
    _rebuild(f"lower({_TEXT})")
    op.execute("DROP FUNCTION search_fold(text)")
