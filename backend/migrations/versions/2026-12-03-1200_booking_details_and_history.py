"""Bookings say more (service, price, status, place) and booking_history aggregates them

- `services`: an owner's services (name, category), booked at any of the owner's places.
- `bookings` gains `service_id`, `price_amount` (minor units) and `currency`; `status` is one
  of completed, cancelled, no_show, upcoming (the host platform's word until the visit is
  settled; the old 'confirmed' is 'upcoming').
- `booking_history`: one row per (owner, customer who booked at one of the owner's places)
  with what the audience filters read — last and first completed visit, completed visits,
  no-shows, spend, the usual interval (median gap between consecutive completed visits, ADR
  021), the latest upcoming booking, the services, categories and places visited. Exact, not
  a cache: a statement-level trigger on bookings (and on places changing owner) recomputes
  the affected rows in the same transaction. The filters' rules live in rebook.audiences.

Revision ID: au0a1b2c3d4e
Revises: rc1a1b2c3d4e
Create Date: 2026-12-03 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "au0a1b2c3d4e"
down_revision: str | None = "rc1a1b2c3d4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOOKING_STATUSES = ("completed", "cancelled", "no_show", "upcoming")

# Recompute the booking_history rows of these (owner, customer) pairs from bookings.
_SYNC = """
CREATE FUNCTION booking_history_sync(owner_ids integer[], user_ids integer[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM booking_history h USING unnest(owner_ids, user_ids) AS k(owner_id, user_id)
  WHERE h.owner_id = k.owner_id AND h.user_id = k.user_id;
  WITH pairs AS (
    SELECT DISTINCT o AS owner_id, u AS user_id FROM unnest(owner_ids, user_ids) AS k(o, u)
  ), visits AS (
    SELECT p.owner_id, b.user_id, b.starts_at, b.status, b.price_amount, b.service_id,
           b.place_id,
           b.starts_at - lag(b.starts_at) OVER (
             PARTITION BY p.owner_id, b.user_id, b.status = 'completed' ORDER BY b.starts_at
           ) AS gap
    FROM pairs k
    JOIN places p ON p.owner_id = k.owner_id
    JOIN bookings b ON b.place_id = p.id AND b.user_id = k.user_id
  )
  INSERT INTO booking_history AS h (
    owner_id, user_id, first_visit_at, last_visit_at, completed_visits, no_shows,
    spend_amount, usual_interval, last_upcoming_at, service_ids, categories, place_ids)
  SELECT v.owner_id, v.user_id,
         min(v.starts_at) FILTER (WHERE v.status = 'completed'),
         max(v.starts_at) FILTER (WHERE v.status = 'completed'),
         count(*) FILTER (WHERE v.status = 'completed'),
         count(*) FILTER (WHERE v.status = 'no_show'),
         coalesce(sum(v.price_amount) FILTER (WHERE v.status = 'completed'), 0),
         make_interval(secs => percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM v.gap)) FILTER (
             WHERE v.status = 'completed' AND v.gap IS NOT NULL)),
         max(v.starts_at) FILTER (WHERE v.status = 'upcoming'),
         coalesce(array_agg(DISTINCT v.service_id) FILTER (
           WHERE v.service_id IS NOT NULL AND v.status IN ('completed', 'upcoming')), '{}'),
         coalesce(array_agg(DISTINCT s.category) FILTER (
           WHERE s.category IS NOT NULL AND v.status IN ('completed', 'upcoming')), '{}'),
         coalesce(array_agg(DISTINCT v.place_id) FILTER (WHERE v.status = 'completed'), '{}')
  FROM visits v LEFT JOIN services s ON s.id = v.service_id
  GROUP BY v.owner_id, v.user_id
  ORDER BY v.owner_id, v.user_id;
END
$$
"""

_BOOKINGS_TRIGGER = """
CREATE FUNCTION booking_history_bookings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM booking_history_sync(array_agg(p.owner_id), array_agg(c.user_id))
    FROM (SELECT DISTINCT place_id, user_id FROM new_rows) c JOIN places p ON p.id = c.place_id;
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM booking_history_sync(array_agg(p.owner_id), array_agg(c.user_id))
    FROM (SELECT place_id, user_id FROM new_rows UNION SELECT place_id, user_id FROM old_rows) c
    JOIN places p ON p.id = c.place_id;
  ELSE
    -- A place being deleted is gone already: its bookings' rows go with the owner's others.
    PERFORM booking_history_sync(array_agg(k.owner_id), array_agg(k.user_id))
    FROM (SELECT DISTINCT h.owner_id, h.user_id FROM booking_history h
          JOIN (SELECT DISTINCT user_id FROM old_rows) o ON o.user_id = h.user_id) k;
  END IF;
  RETURN NULL;
END
$$
"""

_PLACES_TRIGGER = """
CREATE FUNCTION booking_history_places() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Only a place that changed owner moves its bookings from one owner's history to another's.
  PERFORM booking_history_sync(array_agg(k.owner_id), array_agg(k.user_id))
  FROM (SELECT DISTINCT o.owner_id, b.user_id
        FROM (SELECT n.id, n.owner_id FROM new_rows n JOIN old_rows d ON d.id = n.id
              WHERE d.owner_id <> n.owner_id
              UNION SELECT d.id, d.owner_id FROM new_rows n JOIN old_rows d ON d.id = n.id
              WHERE d.owner_id <> n.owner_id) o
        JOIN bookings b ON b.place_id = o.id) k;
  RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_services_owner_id_users"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
    )
    op.create_index("ix_services_owner_id", "services", ["owner_id"])

    op.execute("UPDATE bookings SET status = 'upcoming' WHERE status = 'confirmed'")
    op.execute(
        "UPDATE bookings SET status = 'completed' "
        f"WHERE status NOT IN ({', '.join(repr(s) for s in BOOKING_STATUSES)})"
    )
    op.add_column(
        "bookings",
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey(
                "services.id", ondelete="SET NULL", name="fk_bookings_service_id_services"
            ),
        ),
    )
    op.add_column("bookings", sa.Column("price_amount", sa.Integer()))
    op.add_column("bookings", sa.Column("currency", sa.String(3)))
    op.create_check_constraint(
        "ck_bookings_status_known",
        "bookings",
        f"status IN ({', '.join(repr(s) for s in BOOKING_STATUSES)})",
    )
    op.create_check_constraint(
        "ck_bookings_price_with_currency",
        "bookings",
        "(price_amount IS NULL) = (currency IS NULL) AND coalesce(price_amount, 0) >= 0",
    )

    op.create_table(
        "booking_history",
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_booking_history_owner_id_users"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_booking_history_user_id_users"),
            nullable=False,
        ),
        sa.Column("first_visit_at", sa.DateTime(timezone=True)),
        sa.Column("last_visit_at", sa.DateTime(timezone=True)),
        sa.Column("completed_visits", sa.Integer(), nullable=False),
        sa.Column("no_shows", sa.Integer(), nullable=False),
        sa.Column("spend_amount", sa.BigInteger(), nullable=False),
        sa.Column("usual_interval", sa.Interval()),
        sa.Column("last_upcoming_at", sa.DateTime(timezone=True)),
        sa.Column("service_ids", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.String()), nullable=False),
        sa.Column("place_ids", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "user_id", name="pk_booking_history"),
    )
    op.create_index("ix_booking_history_user_id", "booking_history", ["user_id"])
    op.create_index(
        "ix_booking_history_owner_last_visit", "booking_history", ["owner_id", "last_visit_at"]
    )
    op.execute(_SYNC)
    op.execute(_BOOKINGS_TRIGGER)
    op.execute(_PLACES_TRIGGER)
    for event, refs in (
        ("insert", "NEW TABLE AS new_rows"),
        ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("delete", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER bookings_history_{event} AFTER {event.upper()} ON bookings "
            f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION booking_history_bookings()"
        )
    op.execute(
        "CREATE TRIGGER places_history_owner AFTER UPDATE ON places "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION booking_history_places()"
    )
    op.execute(
        "SELECT booking_history_sync(array_agg(owner_id), array_agg(user_id)) "
        "FROM (SELECT DISTINCT p.owner_id, b.user_id FROM bookings b "
        "JOIN places p ON p.id = b.place_id) k"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER places_history_owner ON places")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER bookings_history_{event} ON bookings")
    op.execute("DROP FUNCTION booking_history_places()")
    op.execute("DROP FUNCTION booking_history_bookings()")
    op.execute("DROP FUNCTION booking_history_sync(integer[], integer[])")
    op.drop_table("booking_history")
    op.drop_constraint("ck_bookings_price_with_currency", "bookings")
    op.drop_constraint("ck_bookings_status_known", "bookings")
    op.drop_column("bookings", "currency")
    op.drop_column("bookings", "price_amount")
    op.drop_column("bookings", "service_id")
    op.drop_table("services")
