"""delivery_journal(): a worker's delivery writes in one round trip

A worker commits, for the sends in flight, that their provider calls begin (with a send slot
each) and, for the sends that finished, their outcomes. Through SQLAlchemy each such group
commit was a pool checkout with its ping, BEGIN, three or four statements and COMMIT: about
2 ms of the worker's CPU here, more than the SMTP exchange of the message it recorded. This
function does the same statements in the database, called as one autocommitted statement.

  1. outcomes: each row's status, provider ids, error, sent_at, cost, next attempt — only
     for deliveries still `sending` (a recovered or cancelled one is left alone);
  2. calls starting: `provider_call_at` (and `updated_at`, the sign of life recovery reads)
     set for those still `sending` whose campaign is still sending; the others are cancelled
     (the campaign was cancelled meanwhile);
  3. send slots: each starting call gets the next free slot of its rate-limit key, consecutive
     slots `spacing` seconds apart (see rebook.delivery.ratelimit).

Returns one row per call that may go: its delivery id and its slot.

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-11-24 17:30:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e5f6a7b8c9d0"
down_revision: str | None = "d4e5f6a7b8c9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION delivery_journal(
            o_id integer[], o_status text[], o_provider_id text[], o_provider_status text[],
            o_error_code text[], o_error_message text[], o_sent_at timestamptz[],
            o_cost numeric[], o_next_attempt_at timestamptz[],
            s_id integer[], s_key text[], s_spacing double precision[],
            cancelled_message text
        ) RETURNS TABLE (started_id integer, slot_at timestamptz)
        LANGUAGE plpgsql AS $$
        DECLARE
            going integer[];
            k record;
            span interval;
            first_slot timestamptz;
        BEGIN
            IF cardinality(o_id) > 0 THEN
                UPDATE campaign_deliveries d
                SET status = v.status,
                    provider_message_id = coalesce(v.provider_id, d.provider_message_id),
                    provider_status = coalesce(d.provider_status, v.provider_status),
                    error_code = v.error_code, error_message = v.error_message,
                    sent_at = coalesce(v.sent_at, d.sent_at), cost = coalesce(v.cost, d.cost),
                    next_attempt_at = v.next_attempt_at, updated_at = clock_timestamp()
                FROM unnest(o_id, o_status, o_provider_id, o_provider_status, o_error_code,
                            o_error_message, o_sent_at, o_cost, o_next_attempt_at)
                     AS v(id, status, provider_id, provider_status, error_code, error_message,
                          sent_at, cost, next_attempt_at)
                WHERE d.id = v.id AND d.status = 'sending';
            END IF;
            IF cardinality(s_id) = 0 THEN
                RETURN;
            END IF;

            WITH marked AS (
                UPDATE campaign_deliveries d
                SET provider_call_at = clock_timestamp(), updated_at = clock_timestamp()
                WHERE d.id = ANY(s_id) AND d.status = 'sending' AND EXISTS (
                    SELECT 1 FROM campaigns c
                    WHERE c.id = d.campaign_id AND c.status = 'sending')
                RETURNING d.id)
            SELECT coalesce(array_agg(marked.id), '{}') INTO going FROM marked;

            UPDATE campaign_deliveries d
            SET status = 'cancelled', attempts = d.attempts - 1, error_code = 'cancelled',
                error_message = cancelled_message
            WHERE d.id = ANY(s_id) AND NOT d.id = ANY(going) AND d.status = 'sending';

            FOR k IN
                SELECT s.key, s.spacing, array_agg(s.id ORDER BY s.n) AS ids
                FROM unnest(s_id, s_key, s_spacing) WITH ORDINALITY AS s(id, key, spacing, n)
                WHERE s.id = ANY(going)
                GROUP BY s.key, s.spacing
            LOOP
                span := cardinality(k.ids) * k.spacing * interval '1 second';
                INSERT INTO send_rate_slots AS r (key, next_slot_at)
                VALUES (k.key, clock_timestamp() + span)
                ON CONFLICT (key) DO UPDATE
                SET next_slot_at = greatest(r.next_slot_at, clock_timestamp()) + span
                RETURNING r.next_slot_at - span INTO first_slot;
                RETURN QUERY
                    SELECT i.id, first_slot + (i.n - 1) * k.spacing * interval '1 second'
                    FROM unnest(k.ids) WITH ORDINALITY AS i(id, n);
            END LOOP;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION delivery_journal")
