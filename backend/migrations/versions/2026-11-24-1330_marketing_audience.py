"""marketing_audience: each owner's booked customers with their eligibility, kept by triggers

The eligible-customer list shows a total count. Counting it from users, bookings and
marketing_suppressions means a semi-join over every booking at the owner's places (~0.5-0.9 s
for 1 M bookings, see docs/benchmarks.md). marketing_audience has one row per (owner, customer
who booked at one of the owner's places) with what the eligibility rules need:

  marketable   users.gdpr_marketing_consent AND users.role = 'customer'
  email_ok     users.email IS NOT NULL and no email suppression for this owner
  whatsapp_ok  users.phone IS NOT NULL and no whatsapp suppression for this owner
  search_text  users.search_text, with its own trigram index (when pg_trgm is installed), so a
               search is counted within the owner's audience without visiting every user
               whose name or email contains the fragment
  place_ids    the owner's places where the customer booked (GIN-indexed), so "booked at one
               of these places" is an array overlap instead of a join with the bookings

and marketing_audience_counts sums those rows per owner and combination of flags, so the count
for all of an owner's places reads a few rows. Both are exact, not caches: every change to
bookings, places (owner, deletion), the users columns above or marketing_suppressions
recomputes the affected (owner, customer) rows from those tables in the same transaction, and
the counts follow by statement-level triggers. The rules themselves stay in
rebook.messaging.audience; these tables only mirror them.

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
Create Date: 2026-11-24 13:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d4e5f6a7b8c9"
down_revision: str | None = "c3d4e5f6a7b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rows of the (owner_id, user_id, place_ids) in `pairs`, recomputed from the source tables.
_ROWS = """
    SELECT p.owner_id, p.user_id,
           u.gdpr_marketing_consent AND u.role = 'customer',
           u.email IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM marketing_suppressions s
             WHERE s.user_id = p.user_id AND s.owner_id = p.owner_id AND s.channel = 'email'),
           u.phone IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM marketing_suppressions s
             WHERE s.user_id = p.user_id AND s.owner_id = p.owner_id AND s.channel = 'whatsapp'),
           u.search_text, p.place_ids
    FROM pairs p JOIN users u ON u.id = p.user_id
"""


def upgrade() -> None:
    op.create_table(
        "marketing_audience",
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey(
                "users.id", ondelete="CASCADE", name="fk_marketing_audience_owner_id_users"
            ),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey(
                "users.id", ondelete="CASCADE", name="fk_marketing_audience_user_id_users"
            ),
            nullable=False,
        ),
        sa.Column("marketable", sa.Boolean(), nullable=False),
        sa.Column("email_ok", sa.Boolean(), nullable=False),
        sa.Column("whatsapp_ok", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("place_ids", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "user_id", name="pk_marketing_audience"),
    )
    op.create_index("ix_marketing_audience_user_id", "marketing_audience", ["user_id"])

    # Per owner and combination of flags, how many rows: the total of the list for all of an
    # owner's places is a sum over at most 8 rows. Statement-level triggers with transition
    # tables keep it exact; deltas are applied in key order, like campaign_delivery_counts.
    op.create_table(
        "marketing_audience_counts",
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey(
                "users.id", ondelete="CASCADE", name="fk_marketing_audience_counts_owner_id_users"
            ),
            nullable=False,
        ),
        sa.Column("marketable", sa.Boolean(), nullable=False),
        sa.Column("email_ok", sa.Boolean(), nullable=False),
        sa.Column("whatsapp_ok", sa.Boolean(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint(
            "owner_id",
            "marketable",
            "email_ok",
            "whatsapp_ok",
            name="pk_marketing_audience_counts",
        ),
    )
    op.execute(
        """
        CREATE FUNCTION marketing_audience_counts_apply() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO marketing_audience_counts AS c
              (owner_id, marketable, email_ok, whatsapp_ok, count)
            SELECT owner_id, marketable, email_ok, whatsapp_ok, count(*) FROM new_rows
            GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
            ON CONFLICT (owner_id, marketable, email_ok, whatsapp_ok)
            DO UPDATE SET count = c.count + EXCLUDED.count;
          ELSIF TG_OP = 'UPDATE' THEN
            INSERT INTO marketing_audience_counts AS c
              (owner_id, marketable, email_ok, whatsapp_ok, count)
            SELECT owner_id, marketable, email_ok, whatsapp_ok, sum(n) FROM (
              SELECT owner_id, marketable, email_ok, whatsapp_ok, -1 AS n FROM old_rows
              UNION ALL
              SELECT owner_id, marketable, email_ok, whatsapp_ok, 1 FROM new_rows
            ) d
            GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
            ON CONFLICT (owner_id, marketable, email_ok, whatsapp_ok)
            DO UPDATE SET count = c.count + EXCLUDED.count;
          ELSE
            -- A deleted owner's counters may already be gone (cascade).
            UPDATE marketing_audience_counts c SET count = c.count - d.n
            FROM (SELECT owner_id, marketable, email_ok, whatsapp_ok, count(*) AS n
                  FROM old_rows GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4) d
            WHERE c.owner_id = d.owner_id AND c.marketable = d.marketable
              AND c.email_ok = d.email_ok AND c.whatsapp_ok = d.whatsapp_ok;
          END IF;
          RETURN NULL;
        END
        $$
        """
    )
    for event, refs in (
        ("insert", "NEW TABLE AS new_rows"),
        ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("delete", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER marketing_audience_count_{event} AFTER {event.upper()} "
            f"ON marketing_audience REFERENCING {refs} "
            "FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_counts_apply()"
        )

    # Recompute the given (owner, customer) pairs: a row while the customer has a booking at
    # one of the owner's places, with the current flags; no row otherwise. Pairs are handled in
    # key order, so concurrent transactions lock rows in the same order.
    op.execute(
        f"""
        CREATE FUNCTION marketing_audience_sync(owner_ids integer[], user_ids integer[])
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
          {_ROWS.replace("FROM pairs p", "FROM (SELECT * FROM found WHERE cardinality(place_ids) > 0) p")}
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
    )
    # bookings: the pairs of the inserted, deleted or moved bookings.
    op.execute(
        """
        CREATE FUNCTION marketing_audience_bookings() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE o integer[]; u integer[];
        BEGIN
          IF TG_OP = 'INSERT' THEN
            SELECT array_agg(pl.owner_id), array_agg(n.user_id) INTO o, u
            FROM (SELECT DISTINCT place_id, user_id FROM new_rows) n
            JOIN places pl ON pl.id = n.place_id;
          ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(pl.owner_id), array_agg(d.user_id) INTO o, u
            FROM (SELECT DISTINCT place_id, user_id FROM old_rows) d
            JOIN places pl ON pl.id = d.place_id;
          ELSE
            SELECT array_agg(pl.owner_id), array_agg(c.user_id) INTO o, u
            FROM (SELECT place_id, user_id FROM old_rows
                  UNION SELECT place_id, user_id FROM new_rows) c
            JOIN places pl ON pl.id = c.place_id;
          END IF;
          IF o IS NOT NULL THEN
            PERFORM marketing_audience_sync(o, u);
          END IF;
          RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER bookings_audience_insert AFTER INSERT ON bookings "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_bookings()"
    )
    op.execute(
        "CREATE TRIGGER bookings_audience_update AFTER UPDATE ON bookings "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_bookings()"
    )
    op.execute(
        "CREATE TRIGGER bookings_audience_delete AFTER DELETE ON bookings "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_bookings()"
    )
    # marketing_suppressions: the pairs whose suppressions changed.
    op.execute(
        """
        CREATE FUNCTION marketing_audience_suppressions() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE o integer[]; u integer[];
        BEGIN
          IF TG_OP = 'INSERT' THEN
            SELECT array_agg(owner_id), array_agg(user_id) INTO o, u FROM new_rows;
          ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(owner_id), array_agg(user_id) INTO o, u FROM old_rows;
          ELSE
            SELECT array_agg(owner_id), array_agg(user_id) INTO o, u
            FROM (SELECT owner_id, user_id FROM old_rows
                  UNION SELECT owner_id, user_id FROM new_rows) c;
          END IF;
          IF o IS NOT NULL THEN
            PERFORM marketing_audience_sync(o, u);
          END IF;
          RETURN NULL;
        END
        $$
        """
    )
    for event, refs in (
        ("insert", "NEW TABLE AS new_rows"),
        ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("delete", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER marketing_suppressions_audience_{event} AFTER {event.upper()} "
            f"ON marketing_suppressions REFERENCING {refs} "
            "FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_suppressions()"
        )
    # users: a change of consent, role, whether there is an email or a phone, or of what the
    # search matches (search_text is generated from the names, email and phone).
    op.execute(
        """
        CREATE FUNCTION marketing_audience_user() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM marketing_audience_sync(array_agg(a.owner_id), array_agg(a.user_id))
          FROM marketing_audience a WHERE a.user_id = NEW.id;
          RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER users_audience_update
        AFTER UPDATE OF gdpr_marketing_consent, role, email, phone, first_name, last_name
        ON users
        FOR EACH ROW
        WHEN (OLD.gdpr_marketing_consent IS DISTINCT FROM NEW.gdpr_marketing_consent
              OR OLD.role IS DISTINCT FROM NEW.role
              OR (OLD.email IS NULL) <> (NEW.email IS NULL)
              OR (OLD.phone IS NULL) <> (NEW.phone IS NULL)
              OR OLD.search_text IS DISTINCT FROM NEW.search_text)
        EXECUTE FUNCTION marketing_audience_user()
        """
    )
    # places: a place handed to another owner moves its customers' rows.
    op.execute(
        """
        CREATE FUNCTION marketing_audience_place() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM marketing_audience_sync(
            array_agg(o.owner_id), array_agg(b.user_id))
          FROM (SELECT DISTINCT user_id FROM bookings WHERE place_id = NEW.id) b
          CROSS JOIN (VALUES (OLD.owner_id), (NEW.owner_id)) o(owner_id);
          RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER places_audience_update AFTER UPDATE OF owner_id ON places
        FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id)
        EXECUTE FUNCTION marketing_audience_place()
        """
    )
    # A deleted place: its bookings go by cascade, when the place is already gone, so the
    # bookings trigger cannot tell whose they were; recompute the rows that list the place.
    op.execute(
        """
        CREATE FUNCTION marketing_audience_places_deleted() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM marketing_audience_sync(array_agg(a.owner_id), array_agg(a.user_id))
          FROM marketing_audience a
          WHERE a.place_ids && (SELECT array_agg(id) FROM old_rows);
          RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER places_audience_delete AFTER DELETE ON places "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION marketing_audience_places_deleted()"
    )

    # Fill it from the existing data.
    op.execute(
        f"""
        WITH pairs AS (
          SELECT pl.owner_id, b.user_id, array_agg(DISTINCT b.place_id ORDER BY b.place_id)
                 AS place_ids
          FROM bookings b JOIN places pl ON pl.id = b.place_id
          GROUP BY 1, 2
        )
        INSERT INTO marketing_audience
          (owner_id, user_id, marketable, email_ok, whatsapp_ok, search_text, place_ids)
        {_ROWS}
        """
    )
    # Counting with some of an owner's places: "booked at one of them" is an overlap with
    # place_ids, through this index (for a few places) or a scan of the owner's rows.
    op.create_index(
        "ix_marketing_audience_place_ids",
        "marketing_audience",
        ["place_ids"],
        postgresql_using="gin",
        postgresql_where=sa.text("marketable"),
    )
    # The owner's marketable rows, for counts that cannot use marketing_audience_counts.
    op.create_index(
        "ix_marketing_audience_marketable",
        "marketing_audience",
        ["owner_id", "email_ok", "whatsapp_ok"],
        postgresql_where=sa.text("marketable"),
    )
    # A search within the audience: trigram index, when pg_trgm is installed (see b7c1d2e3f4a5).
    op.execute(
        """
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
            CREATE INDEX ix_marketing_audience_search_text_trgm ON marketing_audience
              USING gin (search_text gin_trgm_ops) WHERE marketable;
          END IF;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER places_audience_delete ON places")
    op.execute("DROP FUNCTION marketing_audience_places_deleted()")
    op.execute("DROP TRIGGER places_audience_update ON places")
    op.execute("DROP FUNCTION marketing_audience_place()")
    op.execute("DROP TRIGGER users_audience_update ON users")
    op.execute("DROP FUNCTION marketing_audience_user()")
    for event in ("insert", "update", "delete"):
        op.execute(
            f"DROP TRIGGER marketing_suppressions_audience_{event} ON marketing_suppressions"
        )
    op.execute("DROP FUNCTION marketing_audience_suppressions()")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER bookings_audience_{event} ON bookings")
    op.execute("DROP FUNCTION marketing_audience_bookings()")
    op.execute("DROP FUNCTION marketing_audience_sync(integer[], integer[])")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER marketing_audience_count_{event} ON marketing_audience")
    op.execute("DROP FUNCTION marketing_audience_counts_apply()")
    op.drop_table("marketing_audience_counts")
    op.drop_table("marketing_audience")
