-- +goose Up
-- The agents' today counters (calls answered, talk time) that
-- fewest-calls and least-talk-time route by, written with every agent
-- state change. counters_at is when they were last written: the
-- controller restores them at start only if that was today in its own
-- time zone (the zone of its daily reset), so a start after midnight does
-- not take yesterday's counters for today's.
ALTER TABLE agents
    ADD COLUMN calls_today   integer NOT NULL DEFAULT 0 CHECK (calls_today >= 0),
    ADD COLUMN talk_today_ms bigint NOT NULL DEFAULT 0 CHECK (talk_today_ms >= 0),
    ADD COLUMN counters_at   timestamptz;

-- Until now the calls were counted from the contacts at start, from
-- midnight in the database's time zone; seed the counters the same way
-- once, so that an upgrade during the day keeps them (and the talk time,
-- which was not restored at all).
UPDATE agents a
SET calls_today = c.calls, talk_today_ms = c.talk_ms, counters_at = now()
FROM (
    SELECT agent_id,
           count(*) FILTER (WHERE answered_at >= date_trunc('day', now())) AS calls,
           COALESCE((sum(EXTRACT(EPOCH FROM ended_at - GREATEST(answered_at, date_trunc('day', now()))))
                     FILTER (WHERE ended_at >= date_trunc('day', now())) * 1000)::bigint, 0) AS talk_ms
    FROM contacts
    WHERE agent_id IS NOT NULL AND answered_at IS NOT NULL
      AND (answered_at >= date_trunc('day', now()) OR ended_at >= date_trunc('day', now()))
    GROUP BY agent_id
) c
WHERE c.agent_id = a.id;

-- +goose Down
ALTER TABLE agents
    DROP COLUMN counters_at,
    DROP COLUMN talk_today_ms,
    DROP COLUMN calls_today;
