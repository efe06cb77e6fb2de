package store_test

import (
	"context"
	"io/fs"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/store"
	hotlinesql "github.com/hotline-cc/hotline/sql"
)

func agentRow(t *testing.T, s *store.Store, id string) store.AgentRow {
	t.Helper()
	rows, err := s.Agents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no agent %s in %+v", id, rows)
	return store.AgentRow{}
}

// Every saved state change carries the agent's today counters, stamped
// with the change's time: Agents hands back the latest ones and when they
// were written, for the ACD to judge whether they are today's.
func TestAgentCountersSavedWithEveryStateChange(t *testing.T) {
	ctx := context.Background()
	s := syncedStore(t)
	if r := agentRow(t, s, "1001"); r.CallsToday != 0 || r.TalkTodayMS != 0 || r.CountersAt.Valid {
		t.Fatalf("a new agent has counters %+v", r)
	}
	at := time.Date(2026, 3, 2, 23, 59, 30, 0, time.FixedZone("CST", 8*3600))
	for i, st := range []store.AgentState{
		{AgentID: "1001", State: "ON_CALL", At: at, IdleSince: at.Add(-time.Minute), CallsToday: 7, TalkToday: 40 * time.Minute},
		{AgentID: "1001", State: "AFTER_CALL_WORK", At: at.Add(20 * time.Second), IdleSince: at.Add(-time.Minute), CallsToday: 7, TalkToday: 40*time.Minute + 20500*time.Millisecond},
	} {
		if err := s.SaveAgentState(ctx, st); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	r := agentRow(t, s, "1001")
	if r.State != "AFTER_CALL_WORK" || r.CallsToday != 7 || r.TalkToday() != 40*time.Minute+20500*time.Millisecond {
		t.Errorf("agent 1001 restored as %s with %d calls, %s talk; want AFTER_CALL_WORK, 7, 40m20.5s", r.State, r.CallsToday, r.TalkToday())
	}
	if !r.CountersAt.Valid || !r.CountersAt.Time.Equal(at.Add(20*time.Second)) {
		t.Errorf("counters stamped %v, want %v (the last change)", r.CountersAt, at.Add(20*time.Second))
	}
	if r := agentRow(t, s, "1002"); r.CallsToday != 0 || r.CountersAt.Valid {
		t.Errorf("agent 1002 got counters it never had: %+v", r)
	}
}

// The upgrade to the stored counters seeds them once from the contacts,
// as the previous release counted calls at start (from midnight in the
// database's time zone), adding the talk time since midnight of calls
// that ended today.
func TestCountersMigrationSeedsFromContacts(t *testing.T) {
	ctx := context.Background()
	log, _ := testLog(t)
	s, err := store.Open(ctx, testenv.NewDatabase(t), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fsys, err := fs.Sub(hotlinesql.Migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, s.DB.DB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.ExecContext(ctx, `INSERT INTO agents (id, endpoint) VALUES ('1001', 'PJSIP/agent1'), ('1002', 'PJSIP/agent2')`); err != nil {
		t.Fatal(err)
	}
	// Relative to midnight in the database's time zone: a call of
	// yesterday, one across midnight (5 min after it), one today (2 min),
	// one answered today and still up.
	if _, err := s.DB.ExecContext(ctx, `
		WITH d AS (SELECT date_trunc('day', now()) AS m)
		INSERT INTO contacts (channel_id, service_number, agent_id, arrived_at, answered_at, ended_at)
		SELECT 'c1', '10000', '1001', m - interval '2 hours', m - interval '2 hours', m - interval '1 hour' FROM d UNION ALL
		SELECT 'c2', '10000', '1001', m - interval '10 minutes', m - interval '10 minutes', m + interval '5 minutes' FROM d UNION ALL
		SELECT 'c3', '10000', '1001', m + interval '1 hour', m + interval '1 hour', m + interval '62 minutes' FROM d UNION ALL
		SELECT 'c4', '10000', '1001', m + interval '2 hours', m + interval '2 hours', NULL FROM d UNION ALL
		SELECT 'c5', '10000', NULL, m + interval '2 hours', NULL, m + interval '3 hours' FROM d`); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, s.DB.DB, log); err != nil {
		t.Fatal(err)
	}
	r := agentRow(t, s, "1001")
	if r.CallsToday != 2 || r.TalkToday() != 7*time.Minute || !r.CountersAt.Valid {
		t.Errorf("agent 1001 seeded with %d calls, %s talk, at %v; want 2, 7m0s, set", r.CallsToday, r.TalkToday(), r.CountersAt)
	}
	if r := agentRow(t, s, "1002"); r.CallsToday != 0 || r.TalkTodayMS != 0 || r.CountersAt.Valid {
		t.Errorf("agent 1002 (no calls) seeded with %+v", r)
	}
}
