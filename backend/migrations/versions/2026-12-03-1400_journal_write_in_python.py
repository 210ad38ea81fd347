"""Drop delivery_journal(): the journal's write is a statement beside its caller

The worker's journal (`rebook.delivery.journal.write_statement`) sends its outcomes, send-slot
reservations and call starts as one plain SQL statement from Python, so changing how an
outcome is recorded no longer needs a migration. The downgrade puts the function back as
revision a7b8c9d0e1f2 made it.

Revision ID: ow0a1b2c3d4e
Revises: ld2a1b2c3d4e
Create Date: 2026-12-03 10:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ow0a1b2c3d4e"
down_revision: str | None = "ld2a1b2c3d4e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = """
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
"""


def upgrade() -> None:
    op.execute("DROP FUNCTION delivery_journal")


def downgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION delivery_journal(
            o_id integer[], o_status text[], o_provider_id text[], o_provider_status text[],
            o_error_code text[], o_error_message text[], o_sent_at timestamptz[],
            o_cost numeric[], o_next_attempt_at timestamptz[],
            r_id integer[], r_key text[], r_spacing double precision[],
            g_id integer[], lead double precision, cancelled_message text
        ) RETURNS TABLE (started_id integer, slot_at timestamptz, started_now boolean)
        LANGUAGE plpgsql AS $$
        DECLARE
            live integer[] := '{}';
            asked integer[] := r_id || g_id;
            reservable integer[];
            k record;
            span interval;
            first_slot timestamptz;
            due timestamptz;
        BEGIN
            -- First, before any delivery row is locked: the cancel locks the campaign row,
            -- then deliveries; taking them in the same order, neither waits for the other
            -- in a circle.
            IF cardinality(asked) > 0 THEN
                SELECT coalesce(array_agg(locked.id), '{}') INTO live
                FROM (SELECT c.id FROM campaigns c
                      WHERE c.id IN (SELECT d.campaign_id FROM campaign_deliveries d
                                     WHERE d.id = ANY(asked))
                        AND c.status = 'sending'
                      ORDER BY c.id
                      FOR SHARE OF c) locked;
            END IF;
"""
        + OUTCOMES
        + """
            IF cardinality(asked) = 0 THEN
                RETURN;
            END IF;

            UPDATE campaign_deliveries d
            SET status = 'cancelled', attempts = d.attempts - 1, error_code = 'cancelled',
                error_message = cancelled_message
            WHERE d.id = ANY(asked) AND d.status = 'sending' AND NOT d.campaign_id = ANY(live);

            RETURN QUERY
                WITH going AS (
                    UPDATE campaign_deliveries d
                    SET provider_call_at = clock_timestamp(), updated_at = clock_timestamp()
                    WHERE d.id = ANY(g_id) AND d.status = 'sending'
                      AND d.campaign_id = ANY(live)
                    RETURNING d.id)
                SELECT going.id, NULL::timestamptz, true FROM going;

            SELECT coalesce(array_agg(d.id), '{}') INTO reservable
            FROM campaign_deliveries d
            WHERE d.id = ANY(r_id) AND d.status = 'sending' AND d.campaign_id = ANY(live);
            due := clock_timestamp() + lead * interval '1 second';
            FOR k IN
                SELECT s.key, s.spacing, array_agg(s.id ORDER BY s.n) AS ids
                FROM unnest(r_id, r_key, r_spacing) WITH ORDINALITY AS s(id, key, spacing, n)
                WHERE s.id = ANY(reservable)
                GROUP BY s.key, s.spacing
                -- Every worker takes the slot rows in one order: two journals that reserve
                -- email and WhatsApp slots at once never wait for each other in a circle.
                ORDER BY s.key
            LOOP
                span := cardinality(k.ids) * k.spacing * interval '1 second';
                INSERT INTO send_rate_slots AS r (key, next_slot_at)
                VALUES (k.key, clock_timestamp() + span)
                ON CONFLICT (key) DO UPDATE
                SET next_slot_at = greatest(r.next_slot_at, clock_timestamp()) + span
                RETURNING r.next_slot_at - span INTO first_slot;
                -- A slot due now, or nearly, starts with its reservation; a later one is
                -- not started (again: a call that missed its slot never went).
                UPDATE campaign_deliveries d
                SET provider_call_at = CASE
                        WHEN first_slot + (i.n - 1) * k.spacing * interval '1 second' <= due
                        THEN clock_timestamp() END,
                    updated_at = clock_timestamp()
                FROM unnest(k.ids) WITH ORDINALITY AS i(id, n)
                WHERE d.id = i.id;
                RETURN QUERY
                    SELECT i.id, first_slot + (i.n - 1) * k.spacing * interval '1 second',
                           first_slot + (i.n - 1) * k.spacing * interval '1 second' <= due
                    FROM unnest(k.ids) WITH ORDINALITY AS i(id, n);
            END LOOP;
        END
        $$
        """
    )
