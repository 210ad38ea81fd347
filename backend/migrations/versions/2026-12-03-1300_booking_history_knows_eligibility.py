"""booking_history carries marketing_audience's eligibility flags, so that a filtered count is
one scan of one table

Counting the customers of a filter joined marketing_audience (who may be messaged) to
booking_history (what they booked) on their key: a hash join of two 200 000-row sets per owner,
~100-200 ms (docs/benchmarks-audiences.md). booking_history now keeps a copy of
marketing_audience's marketable, email_ok, whatsapp_ok and place_ids (as booked_place_ids):
booking_history_sync reads them when it recomputes a row, and a statement-level trigger on
marketing_audience copies every change of them, so both orders of the two tables' triggers
end in the same state. marketing_audience stays the mirror of the rules
(rebook.messaging.audience); this is a copy of that mirror.

Revision ID: au2a1b2c3d4e
Revises: au1a1b2c3d4e
Create Date: 2026-12-03 13:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "au2a1b2c3d4e"
down_revision: str | None = "au1a1b2c3d4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SYNC = """
CREATE OR REPLACE FUNCTION booking_history_sync(owner_ids integer[], user_ids integer[])
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
    spend_amount, usual_interval, last_upcoming_at, service_ids, categories, place_ids,
    marketable, email_ok, whatsapp_ok, booked_place_ids)
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
         coalesce(array_agg(DISTINCT v.place_id) FILTER (WHERE v.status = 'completed'), '{}'),
         coalesce(bool_and(a.marketable), false), coalesce(bool_and(a.email_ok), false),
         coalesce(bool_and(a.whatsapp_ok), false), coalesce(min(a.place_ids), '{}')
  FROM visits v LEFT JOIN services s ON s.id = v.service_id
  LEFT JOIN marketing_audience a ON a.owner_id = v.owner_id AND a.user_id = v.user_id
  GROUP BY v.owner_id, v.user_id
  ORDER BY v.owner_id, v.user_id;
END
$$
"""

# booking_history_sync as migration au0a1b2c3d4e defined it.
_OLD_SYNC = """
CREATE OR REPLACE FUNCTION booking_history_sync(owner_ids integer[], user_ids integer[])
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

_COPY = """
CREATE FUNCTION booking_history_eligibility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE booking_history h
    SET marketable = false, email_ok = false, whatsapp_ok = false, booked_place_ids = '{}'
    FROM (SELECT owner_id, user_id FROM old_rows ORDER BY 1, 2) o
    WHERE h.owner_id = o.owner_id AND h.user_id = o.user_id;
  ELSE
    UPDATE booking_history h
    SET marketable = n.marketable, email_ok = n.email_ok, whatsapp_ok = n.whatsapp_ok,
        booked_place_ids = n.place_ids
    FROM (SELECT * FROM new_rows ORDER BY owner_id, user_id) n
    WHERE h.owner_id = n.owner_id AND h.user_id = n.user_id
      AND (h.marketable, h.email_ok, h.whatsapp_ok, h.booked_place_ids)
          IS DISTINCT FROM (n.marketable, n.email_ok, n.whatsapp_ok, n.place_ids);
  END IF;
  RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.add_column(
        "booking_history",
        sa.Column("marketable", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "booking_history",
        sa.Column("email_ok", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "booking_history",
        sa.Column("whatsapp_ok", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "booking_history",
        sa.Column(
            "booked_place_ids",
            postgresql.ARRAY(sa.Integer()),
            nullable=False,
            server_default="{}",
        ),
    )
    op.execute(_SYNC)
    op.execute(_COPY)
    for event, refs in (
        ("insert", "NEW TABLE AS new_rows"),
        ("update", "NEW TABLE AS new_rows"),
        ("delete", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER marketing_audience_history_{event} AFTER {event.upper()} "
            f"ON marketing_audience REFERENCING {refs} FOR EACH STATEMENT "
            "EXECUTE FUNCTION booking_history_eligibility()"
        )
    op.execute(
        "UPDATE booking_history h SET marketable = a.marketable, email_ok = a.email_ok, "
        "whatsapp_ok = a.whatsapp_ok, booked_place_ids = a.place_ids "
        "FROM marketing_audience a WHERE a.owner_id = h.owner_id AND a.user_id = h.user_id"
    )


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER marketing_audience_history_{event} ON marketing_audience")
    op.execute("DROP FUNCTION booking_history_eligibility()")
    op.execute(_OLD_SYNC)
    for column in ("booked_place_ids", "whatsapp_ok", "email_ok", "marketable"):
        op.drop_column("booking_history", column)
