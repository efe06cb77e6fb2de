package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/store"
)

// QueueDays counts, per queue, the calls that arrived since the moment
// given, joined the queue and ended: answered, answered within the
// queue's own threshold, abandoned waiting or ringing. Calls still up,
// calls that never queued, calls of before, callback dials and queues
// not asked for are left out.
func TestQueueDays(t *testing.T) {
	s := openMigrated(t)
	ctx := context.Background()
	since := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	if _, err := s.DB.ExecContext(ctx, `
		WITH d AS (SELECT $1::timestamptz AS m)
		INSERT INTO contacts (channel_id, service_number, queue_id, disposition, arrived_at, queued_at, answered_at, ended_at)
		SELECT 'a1', '10000', 'general', 'answered', m + interval '1h', m + interval '1h', m + interval '1h 10s', m + interval '1h 5m' FROM d UNION ALL
		SELECT 'a2', '10000', 'general', 'answered', m + interval '1h', m + interval '1h', m + interval '1h 25s', m + interval '1h 5m' FROM d UNION ALL
		SELECT 'a3', '10000', 'general', 'abandoned_queue', m + interval '2h', m + interval '2h', NULL, m + interval '2h 1m' FROM d UNION ALL
		SELECT 'a4', '10000', 'general', 'abandoned_ringing', m + interval '2h', m + interval '2h', NULL, m + interval '2h 1m' FROM d UNION ALL
		SELECT 'a5', '10000', 'general', 'callback_requested', m + interval '2h', m + interval '2h', NULL, m + interval '2h 3m' FROM d UNION ALL
		SELECT 'a6', '10000', 'general', NULL, m + interval '3h', m + interval '3h', NULL, NULL FROM d UNION ALL
		SELECT 'a7', '10000', 'general', 'contained', m + interval '3h', NULL, NULL, m + interval '3h 1m' FROM d UNION ALL
		SELECT 'a8', '10000', 'general', 'answered', m - interval '1h', m - interval '1h', m - interval '59m', m - interval '50m' FROM d UNION ALL
		SELECT 'cb7-1-1772582400000-c', '10000', 'general', 'answered', m + interval '4h', m + interval '4h', m + interval '4h 5s', m + interval '4h 5m' FROM d UNION ALL
		SELECT 'b1', '10001', 'billing', 'answered', m + interval '1h', m + interval '1h', m + interval '1h 25s', m + interval '1h 5m' FROM d UNION ALL
		SELECT 'x1', '10002', 'other', 'answered', m + interval '1h', m + interval '1h', m + interval '1h 1s', m + interval '1h 5m' FROM d`, since); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueueDays(ctx, since, map[string]time.Duration{"general": 20 * time.Second, "billing": 30 * time.Second, "idle": time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]store.QueueDay{
		"general": {Queue: "general", Offered: 5, Answered: 2, AnsweredWithin: 1, Abandoned: 2},
		"billing": {Queue: "billing", Offered: 1, Answered: 1, AnsweredWithin: 1},
	}
	if len(got) != len(want) || got["general"] != want["general"] || got["billing"] != want["billing"] {
		t.Fatalf("queue days %+v, want %+v", got, want)
	}
}
