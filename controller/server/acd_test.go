package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/store"
)

// The agents' today counters go through the journal into Postgres and
// come back at the next start only if they were written today in the
// controller's time zone: a restart after midnight starts everyone at
// zero, a restart during the day keeps the day's calls and talk time.
func TestRestartRestoresTodayCountersOnly(t *testing.T) {
	ctx := context.Background()
	// Keep the whole test on one local day.
	if now := time.Now(); startOfNextDay(now).Sub(now) < 30*time.Second {
		time.Sleep(startOfNextDay(now).Sub(now) + time.Second)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, testenv.NewDatabase(t), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := store.Migrate(ctx, st.DB.DB, log); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Queues = []config.Queue{{ID: "billing", Strategy: "fewest-calls", RingTimeout: 15 * time.Second, WrapUp: time.Minute}}
	for _, id := range []string{"1001", "1002", "1003"} {
		cfg.Agents = append(cfg.Agents, config.Agent{ID: id, Endpoint: "PJSIP/" + id, Queues: []string{"billing"}})
	}
	if err := st.SyncConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// The state before the first start: 1002 did 40 calls yesterday (its
	// last change was a minute before midnight), 1003 did 5 today.
	now := time.Now()
	yesterday := startOfNextDay(now).AddDate(0, 0, -1).Add(-time.Minute)
	for _, s := range []store.AgentState{
		{AgentID: "1001", State: "READY", At: now.Add(-3 * time.Minute), IdleSince: now.Add(-3 * time.Minute)},
		{AgentID: "1002", State: "READY", At: yesterday, IdleSince: yesterday, CallsToday: 40, TalkToday: 3 * time.Hour},
		{AgentID: "1003", State: "READY", At: now.Add(-time.Minute), IdleSince: now.Add(-time.Minute), CallsToday: 5, TalkToday: 20 * time.Minute},
	} {
		if err := st.SaveAgentState(ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	// First run: 1002 (no calls today) takes a call by fewest-calls and
	// talks on it; the journal writes each change behind.
	jctx, stopJournal := context.WithCancel(ctx)
	j := newJournal(st, log)
	journalDone := make(chan struct{})
	go func() { defer close(journalDone); _ = j.run(jctx) }()
	a := start(t, cfg, st, j, log)
	offers := make(chan acd.Offer, 1)
	if err := a.Enqueue(ctx, acd.Waiting{Call: "c1", Queue: "billing", EnqueuedAt: time.Now(), Offer: func(o acd.Offer) { offers <- o }}); err != nil {
		t.Fatal(err)
	}
	if o := <-offers; o.Agent != "1002" {
		t.Fatalf("c1 offered to %s, want 1002 (none today; its 40 calls were yesterday's)", o.Agent)
	}
	if err := a.Answered(ctx, "c1", "1002"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := a.Ended(ctx, "c1", "1002", 0); err != nil {
		t.Fatal(err)
	}
	first := counters(t, a)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := st.Agents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r := rows[1]; r.ID == "1002" && r.State == "AFTER_CALL_WORK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the journal did not write 1002's end of call: %+v", rows)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopJournal()
	<-journalDone

	// Restart: what the first run counted today comes back as it was.
	second := counters(t, start(t, cfg, st, nil, log))
	want := map[acd.AgentID]acd.Agent{
		"1001": {CallsToday: 0, TalkToday: 0},
		"1002": {CallsToday: 1, TalkToday: first["1002"].TalkToday},
		"1003": {CallsToday: 5, TalkToday: 20 * time.Minute},
	}
	if first["1002"].TalkToday < 50*time.Millisecond || first["1002"].TalkToday > 10*time.Second {
		t.Errorf("1002 talked %s on c1, want about 50ms", first["1002"].TalkToday)
	}
	for id, w := range want {
		// Postgres keeps milliseconds.
		if g := second[id]; g.CallsToday != w.CallsToday || g.TalkToday != w.TalkToday.Truncate(time.Millisecond) {
			t.Errorf("after the restart %s has %d calls, %s talk today; want %d, %s", id, g.CallsToday, g.TalkToday, w.CallsToday, w.TalkToday)
		}
	}
}

func startOfNextDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
}

// start builds the ACD from the store as Serve does and runs it until the
// test ends.
func start(t *testing.T, cfg *config.Config, st *store.Store, j acd.Journal, log *slog.Logger) *acd.ACD {
	t.Helper()
	ctx := context.Background()
	a, err := newACD(ctx, cfg, st, j, log)
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(actx) }()
	t.Cleanup(func() { cancel(); <-done })
	return a
}

func counters(t *testing.T, a *acd.ACD) map[acd.AgentID]acd.Agent {
	t.Helper()
	ags, err := a.Agents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[acd.AgentID]acd.Agent{}
	for _, ag := range ags {
		out[ag.ID] = ag
	}
	return out
}

// A queue's initial_aht in the configuration file is the handle time its
// expected-wait estimate starts from; a queue without it starts from the
// default 3 minutes.
func TestInitialAHTIsWhereTheEstimateStarts(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse("hotline.yaml", []byte(`database: {url: postgres://h/db}
queues:
  - id: quick
    initial_aht: 40s
  - id: plain
agents:
  - {id: "1001", endpoint: PJSIP/agent1, queues: [quick]}
  - {id: "1002", endpoint: PJSIP/agent2, queues: [plain]}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	queues, err := queueConfigs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// One agent per queue, each busy on a call: a caller with nobody
	// ahead waits one handle time.
	var agents []acd.Agent
	for _, c := range cfg.Agents {
		agents = append(agents, acd.Agent{ID: acd.AgentID(c.ID), Endpoint: c.Endpoint, State: acd.OnCall, Since: time.Now(),
			Queues: map[acd.QueueID]bool{acd.QueueID(c.Queues[0]): true}})
	}
	a := acd.New(queues, agents, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(actx) }()
	t.Cleanup(func() { cancel(); <-done })
	for q, want := range map[acd.QueueID]time.Duration{"quick": 40 * time.Second, "plain": 3 * time.Minute} {
		call := acd.CallID("c-" + string(q))
		if err := a.Enqueue(ctx, acd.Waiting{Call: call, Queue: q, EnqueuedAt: time.Now(), Offer: func(acd.Offer) {}}); err != nil {
			t.Fatal(err)
		}
		if _, ewt, ok, err := a.Estimate(ctx, call); err != nil || !ok || ewt != want {
			t.Errorf("queue %s: expected wait %v (ok %v, %v), want %v", q, ewt, ok, err, want)
		}
	}
}
