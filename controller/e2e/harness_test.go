package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/internal/sipp"
	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/pbx/ari"
	"github.com/hotline-cc/hotline/controller/recording"
	"github.com/hotline-cc/hotline/controller/server"
	"github.com/hotline-cc/hotline/controller/store"
)

// env is one running hotline on a fresh database.
type env struct {
	t      *testing.T
	ctx    context.Context
	cfg    *config.Config
	st     *store.Store
	db     *sqlx.DB
	client *api.Client
	since  time.Time
}

type options struct {
	agents      int           // agents 1001.. on PJSIP/agent1..
	ringTimeout time.Duration // per offer
	wrapUp      time.Duration
	noInput     time.Duration
	ariURL      string // ARI through this URL instead of the sandbox's own
	// reconcileEvery, if set, replaces the 30 s between checks of the
	// calls against the switch's channel list.
	reconcileEvery time.Duration
	// commandTimeout, if set, replaces the 10 s hotline waits for a
	// command's reply.
	commandTimeout time.Duration
	// edit, if set, changes the configuration before it is validated
	// (queues with skills, overflow, max_wait, callbacks; agents' skills).
	edit func(*config.Config)
}

// testConfig is the configuration the tests and the restart test share.
func testConfig(t *testing.T, dbURL string, o options) *config.Config {
	t.Helper()
	url, user, pass := testenv.ARI(t)
	cfg := config.Default()
	cfg.Database.URL = dbURL
	cfg.Asterisk.URL, cfg.Asterisk.Username, cfg.Asterisk.Password = url, user, pass
	if o.ariURL != "" {
		cfg.Asterisk.URL = o.ariURL
	}
	if o.reconcileEvery > 0 {
		cfg.ReconcileEvery = o.reconcileEvery
	}
	if o.commandTimeout > 0 {
		cfg.CommandTimeout = o.commandTimeout
	}
	cfg.API.Listen = freePort(t)
	cfg.Recording.Dir = testenv.RecordingDir(t)
	cfg.IVR.NoInputTimeout = o.noInput
	cfg.IVR.MaxInvalid = 3
	cfg.IVR.ScriptsDir = scriptsDir(t)
	cfg.Queues = []config.Queue{{ID: "general", Name: "General", Strategy: "longest-idle", RingTimeout: o.ringTimeout, WrapUp: o.wrapUp}}
	cfg.Services = []config.Service{{Number: "10000", Name: "Hotline", Queue: "general"}}
	for i := 1; i <= o.agents; i++ {
		cfg.Agents = append(cfg.Agents, config.Agent{ID: fmt.Sprintf("100%d", i), Name: fmt.Sprintf("Agent %d", i),
			Endpoint: fmt.Sprintf("PJSIP/agent%d", i), Queues: []string{"general"}})
	}
	if o.edit != nil {
		o.edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	return cfg
}

// scriptsDir is the repository's ivr-scripts/: the shipped flows.
func scriptsDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../../ivr-scripts")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// openDB creates a migrated throwaway database with the demo customers.
func openDB(t *testing.T, ctx context.Context) (string, *store.Store) {
	t.Helper()
	dbURL := testenv.NewDatabase(t)
	st, err := store.Open(ctx, dbURL, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := store.Migrate(ctx, st.DB.DB, logger(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.ExecContext(ctx, `INSERT INTO customers (number, name, current_bill_cents) VALUES
		('13800000001', 'Zhang Wei', 12345), ('13800000002', 'Li Na', 8800)`); err != nil {
		t.Fatal(err)
	}
	return dbURL, st
}

// clearSwitch hangs up every channel a previous test left on the
// sandbox, so each test starts from an idle switch.
func clearSwitch(t *testing.T, ctx context.Context) {
	t.Helper()
	url, user, pass := testenv.ARI(t)
	drv, err := ari.New(ari.Config{URL: url, Username: user, Password: pass, App: "hotline-cleaner"})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := drv.Snapshot(ctx)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	for _, ch := range snap.Channels {
		_ = drv.Do(ctx, pbx.Hangup{Channel: ch.ID})
	}
	for _, b := range snap.Bridges {
		_ = drv.Do(ctx, pbx.DestroyBridge{Bridge: b.ID})
	}
	if len(snap.Channels) > 0 {
		time.Sleep(500 * time.Millisecond)
	}
}

// start runs hotline in this process against the sandbox.
func start(t *testing.T, o options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	clearSwitch(t, ctx)
	dbURL, st := openDB(t, ctx)
	cfg := testConfig(t, dbURL, o)
	if err := st.SyncConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	drv, err := server.NewDriver(cfg, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, cfg, st, drv, logger(t)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	e := &env{t: t, ctx: ctx, cfg: cfg, st: st, db: st.DB, client: api.NewClient(cfg.API.Listen, ""), since: time.Now()}
	e.waitAPI()
	return e
}

func (e *env) waitAPI() {
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := e.client.ListAgents(e.ctx); err == nil {
			return
		} else if time.Now().After(deadline) {
			e.t.Fatalf("hotline API not up: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ready logs agents in and makes them READY, in the order given (the
// first given has been idle longest).
func (e *env) ready(ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		if err := e.client.Login(e.ctx, id); err != nil {
			e.t.Fatalf("login %s: %v", id, err)
		}
		if err := e.client.Ready(e.ctx, id); err != nil {
			e.t.Fatalf("ready %s: %v", id, err)
		}
		time.Sleep(5 * time.Millisecond) // distinct idle-since times
	}
}

// phone starts agent N's SIP phone (a SIPp UAS on port 5100+N).
func (e *env) phone(n int, scenario string, vars map[string]string) *sipp.Process {
	e.t.Helper()
	p, err := sipp.Start(e.ctx, sipp.Options{Scenario: scenario, LocalPort: 5100 + n, Vars: vars, Timeout: 3 * time.Minute})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _, _ = p.Stop(2 * time.Second) })
	return p
}

// call places calls from the trunk to service 10000 (rows: see
// sipp/README.md) and waits for SIPp to finish them.
func (e *env) call(rows ...[]string) sipp.Result {
	e.t.Helper()
	p := e.callAsync(rows...)
	r, err := p.Wait()
	if err != nil {
		e.t.Fatalf("sipp: %v", err)
	}
	return r
}

func (e *env) callAsync(rows ...[]string) *sipp.Process {
	e.t.Helper()
	p, err := sipp.Start(e.ctx, sipp.Options{Scenario: "caller-uac.xml", Target: "127.0.0.1:5060", Service: "10000",
		CSV: rows, Calls: len(rows), Rate: 5, Timeout: 2 * time.Minute, TimeoutIsError: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// contact waits until the caller's contact has ended and returns it.
func (e *env) contact(caller string) store.Contact {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var cs []store.Contact
		if err := e.db.SelectContext(e.ctx, &cs, `SELECT * FROM contacts WHERE caller = $1`, caller); err != nil {
			e.t.Fatal(err)
		}
		if len(cs) > 1 {
			e.t.Fatalf("caller %s has %d contacts, want 1", caller, len(cs))
		}
		if len(cs) == 1 && cs[0].EndedAt.Valid {
			return cs[0]
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("contact of caller %s did not end (rows: %+v)", caller, cs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) trail(id int64) []string {
	e.t.Helper()
	steps, err := e.client.Trail(e.ctx, id)
	if err != nil {
		e.t.Fatalf("trail of contact %d: %v", id, err)
	}
	var out []string
	for _, s := range steps {
		out = append(out, s.Node+"/"+s.Kind+"/"+s.Detail)
	}
	return out
}

func (e *env) agentState(id string) (string, string) {
	e.t.Helper()
	ags, err := e.client.ListAgents(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range ags {
		if a.ID == id {
			return a.State, a.Reason
		}
	}
	e.t.Fatalf("agent %s not listed", id)
	return "", ""
}

func (e *env) waitAgent(id, state string) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, _ := e.agentState(id)
		if s == state {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("agent %s is %s, want %s", id, s, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recordings waits (up to 10 s) until the contact's one recording has
// hotline's verdict, and returns the contact's recordings.
func (e *env) recordings(contactID int64) []store.Recording {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		recs, err := e.st.RecordingsOf(e.ctx, contactID)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].OK != nil || time.Now().After(deadline) {
			return recs
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// states returns an agent's state history from Postgres, comma-joined,
// once it has caught up with the live state (it is written behind the
// ACD), or after 5 s.
func (e *env) states(agent string) string {
	e.t.Helper()
	live, _ := e.agentState(agent)
	for deadline := time.Now().Add(5 * time.Second); ; {
		var states []string
		if err := e.db.SelectContext(e.ctx, &states, `SELECT state FROM agent_state_history WHERE agent_id = $1 ORDER BY id`, agent); err != nil {
			e.t.Fatal(err)
		}
		if len(states) > 0 && states[len(states)-1] == live || time.Now().After(deadline) {
			return strings.Join(states, ",")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func has(trail []string, step string) bool {
	for _, s := range trail {
		if s == step {
			return true
		}
	}
	return false
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// answeredCall waits for the caller's contact and checks what every
// answered agent call leaves behind, whatever the switch: answered by the
// agent and ended by the caller, every timestamp in order, the agent's
// phone ringing about 1 s, one recording that passed hotline's check and
// holds the bridged time (at least minSeconds), the agent's full state
// cycle back to READY, and the contact log. It returns the contact.
func (e *env) answeredCall(caller, agent string, minSeconds float64) store.Contact {
	t := e.t
	t.Helper()
	c := e.contact(caller)
	if c.Disposition.String != store.DispAnswered || c.HangupBy.String != "caller" || c.AgentID.String != agent {
		t.Fatalf("contact %+v, want answered by %s, caller hung up", c, agent)
	}
	ts := []time.Time{c.ArrivedAt, c.IVREndAt.Time, c.QueuedAt.Time, c.OfferedAt.Time, c.AnsweredAt.Time, c.EndedAt.Time}
	for i := 1; i < len(ts); i++ {
		if ts[i].IsZero() || ts[i].Before(ts[i-1]) {
			t.Fatalf("timestamps out of order or missing at %d: %v", i, ts)
		}
	}
	if ring := c.AnsweredAt.Time.Sub(c.OfferedAt.Time); ring < 900*time.Millisecond || ring > 3*time.Second {
		t.Errorf("agent answered %s after the offer; its phone rings 1 s", ring)
	}
	recs := e.recordings(c.ID)
	if len(recs) != 1 || recs[0].OK == nil || !*recs[0].OK {
		t.Fatalf("recordings %+v, want one that passed its check", recs)
	}
	w, err := recording.ReadWAV(recs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	bridged := c.EndedAt.Time.Sub(c.AnsweredAt.Time).Seconds()
	if math.Abs(w.Seconds-bridged) > 1 || w.Seconds < minSeconds {
		t.Fatalf("recording holds %.2f s, bridged %.2f s", w.Seconds, bridged)
	}
	e.waitAgent(agent, "READY")
	if got, want := e.states(agent), "NOT_READY,READY,RESERVED,RINGING,ON_CALL,AFTER_CALL_WORK,READY"; got != want {
		t.Fatalf("agent %s states %s, want %s", agent, got, want)
	}
	var kinds []string
	if err := e.db.SelectContext(e.ctx, &kinds, `SELECT kind FROM contact_events WHERE contact_id = $1 AND agent_id IS NULL ORDER BY id`, c.ID); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kinds, ","); got != "arrived,ivr_end,queued,offered,agent_ringing,answered,ended,recording" {
		t.Fatalf("contact log %s", got)
	}
	return c
}

// callTo places calls from the trunk to another service number (rows:
// see sipp/README.md) and waits for SIPp to finish them.
func (e *env) callTo(service string, rows ...[]string) sipp.Result {
	e.t.Helper()
	p, err := sipp.Start(e.ctx, sipp.Options{Scenario: "caller-uac.xml", Target: "127.0.0.1:5060", Service: service,
		CSV: rows, Calls: len(rows), Rate: 5, Timeout: 2 * time.Minute, TimeoutIsError: true})
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := p.Wait()
	if err != nil {
		e.t.Fatalf("sipp: %v", err)
	}
	return r
}

// promptSeconds is how long one of hotline's prompts (sound:hotline/NAME)
// plays, read from the file the switch plays.
func (e *env) promptSeconds(name string) float64 {
	e.t.Helper()
	w, err := recording.ReadWAV(filepath.Join(testenv.SoundsDir(e.t), "en", "hotline", name+".wav"))
	if err != nil {
		e.t.Fatalf("prompt %s: %v", name, err)
	}
	return w.Seconds
}

// trailSteps returns the contact's trail with the time of each step.
func (e *env) trailSteps(id int64) []api.TrailStep {
	e.t.Helper()
	steps, err := e.client.Trail(e.ctx, id)
	if err != nil {
		e.t.Fatalf("trail of contact %d: %v", id, err)
	}
	return steps
}
