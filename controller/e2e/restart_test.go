package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/cli"
	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/internal/sipp"
	"github.com/hotline-cc/hotline/controller/pbx/ari"
	"github.com/hotline-cc/hotline/controller/store"
)

// serveEnv makes this test binary act as `hotline serve --config FILE`,
// so the restart test can kill -9 a real controller process.
const serveEnv = "HOTLINE_E2E_SERVE"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(serveEnv); cfg != "" {
		os.Exit(cli.Main([]string{"serve", "--config", cfg}))
	}
	os.Exit(m.Run())
}

func writeConfig(t *testing.T, cfg *config.Config) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "asterisk: {url: %q, username: %q, app: %s}\napi: {listen: %q}\nrecording: {dir: %q}\n",
		cfg.Asterisk.URL, cfg.Asterisk.Username, cfg.Asterisk.App, cfg.API.Listen, cfg.Recording.Dir)
	fmt.Fprintf(&b, "ivr: {scripts_dir: %q, no_input_timeout: %s, max_invalid: %d}\nqueues:\n", cfg.IVR.ScriptsDir, cfg.IVR.NoInputTimeout, cfg.IVR.MaxInvalid)
	for _, q := range cfg.Queues {
		cb := ""
		if q.Callback.Dial != "" {
			cb = fmt.Sprintf(", callback: {dial: %q, attempts: %d, interval: %s}", q.Callback.Dial, q.Callback.Attempts, q.Callback.Interval)
		}
		fmt.Fprintf(&b, "  - {id: %s, strategy: %s, ring_timeout: %s, wrap_up: %s%s}\n", q.ID, q.Strategy, q.RingTimeout, q.WrapUp, cb)
	}
	b.WriteString("services:\n")
	for _, s := range cfg.Services {
		fmt.Fprintf(&b, "  - {number: %q, queue: %s}\n", s.Number, s.Queue)
	}
	b.WriteString("agents:\n")
	for _, a := range cfg.Agents {
		fmt.Fprintf(&b, "  - {id: %q, name: %q, endpoint: %s, queues: [%s]}\n", a.ID, a.Name, a.Endpoint, strings.Join(a.Queues, ", "))
	}
	p := filepath.Join(t.TempDir(), "hotline.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// serveProcess starts a controller process; it is SIGKILLed at cleanup
// if still running.
func serveProcess(t *testing.T, cfgPath, dbURL, ariPass string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+cfgPath, config.EnvARIPassword+"="+ariPass, config.EnvDatabaseURL+"="+dbURL)
	logf, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("controller log %s:\n%s", logf.Name(), b)
		}
	})
	return cmd
}

// TestRestartAdoptsLiveCalls kills the controller with SIGKILL while two
// calls are bridged and two callers are queued, starts a new one, and
// checks that nothing was dropped, lost or duplicated.
func TestRestartAdoptsLiveCalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	clearSwitch(t, ctx)
	dbURL, st := openDB(t, ctx)
	cfg := testConfig(t, dbURL, options{agents: 2, ringTimeout: 5 * time.Second, wrapUp: time.Second, noInput: 30 * time.Second})
	cfgPath := writeConfig(t, cfg)
	first := serveProcess(t, cfgPath, dbURL, cfg.Asterisk.Password)
	e := &env{t: t, ctx: ctx, cfg: cfg, st: st, db: st.DB, client: api.NewClient(cfg.API.Listen, "")}
	e.waitAPI()
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "500"})
	e.phone(2, "agent-uas.xml", map[string]string{"ring_ms": "500"})
	e.ready("1001", "1002")

	// Two callers reach the agents and talk; two more wait in line, the
	// earlier one first. Each hangs up on its own timer.
	talkers := e.callAsync(
		[]string{"13900000001", "0", "500", "", "0", "", "0", "24000"},
		[]string{"13900000002", "0", "500", "", "0", "", "0", "27000"})
	waitState(t, e, 2, store.ContactBridged)
	first1 := e.callAsync([]string{"13900000003", "0", "500", "", "0", "", "0", "36000"})
	waitState(t, e, 1, store.ContactQueued)
	second := e.callAsync([]string{"13900000004", "0", "500", "", "0", "", "0", "36000"})
	waitState(t, e, 2, store.ContactQueued)

	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	time.Sleep(2 * time.Second)
	// The switch kept every call up meanwhile.
	drv, err := ari.New(ari.Config{URL: cfg.Asterisk.URL, Username: cfg.Asterisk.Username, Password: cfg.Asterisk.Password, App: "hotline-probe"})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := drv.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Channels) < 6 || len(snap.Bridges) < 2 {
		t.Fatalf("after kill -9 the switch has %d channels, %d bridges; want the 4 callers and 2 agents, 2 bridges", len(snap.Channels), len(snap.Bridges))
	}

	serveProcess(t, cfgPath, dbURL, cfg.Asterisk.Password)
	e.waitAPI()
	for _, id := range []string{"1001", "1002"} {
		if s, _ := e.agentState(id); s != "ON_CALL" {
			t.Fatalf("agent %s is %s after the restart, want ON_CALL", id, s)
		}
	}
	for _, p := range []*sipp.Process{talkers, first1, second} {
		r, err := p.Wait()
		if err != nil || r.Failed != 0 {
			t.Fatalf("callers: %v %s\n%s", err, r.Summary(), r.Errors())
		}
	}
	a, b := e.contact("13900000001"), e.contact("13900000002")
	c, d := e.contact("13900000003"), e.contact("13900000004")
	for _, x := range []store.Contact{a, b, c, d} {
		if x.Disposition.String != store.DispAnswered || x.HangupBy.String != "caller" {
			t.Errorf("contact %d (%s): %s by %s, want answered and ended by the caller", x.ID, x.Caller, x.Disposition.String, x.HangupBy.String)
		}
	}
	if !c.AnsweredAt.Time.Before(d.AnsweredAt.Time) {
		t.Errorf("the caller queued first was answered at %s, after the second (%s)", c.AnsweredAt.Time, d.AnsweredAt.Time)
	}
	var n int
	if err := e.db.GetContext(ctx, &n, `SELECT count(*) FROM contacts`); err != nil || n != 4 {
		t.Fatalf("%d contacts (%v), want exactly 4", n, err)
	}
	// The recordings of the bridged calls ran to the end, across the restart.
	for _, x := range []store.Contact{a, b} {
		recs, err := e.st.RecordingsOf(ctx, x.ID)
		if err != nil || len(recs) != 1 || recs[0].OK == nil || !*recs[0].OK {
			t.Fatalf("recordings of contact %d: %+v %v", x.ID, recs, err)
		}
		if bridged := x.EndedAt.Time.Sub(x.AnsweredAt.Time).Seconds(); *recs[0].Seconds < bridged-1 || bridged < 20 {
			t.Errorf("contact %d: recording %.1f s, bridged %.1f s", x.ID, *recs[0].Seconds, bridged)
		}
	}
}

func waitState(t *testing.T, e *env, n int, state string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got int
		if err := e.db.GetContext(e.ctx, &got, `SELECT count(*) FROM contacts WHERE state = $1`, state); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d contacts %s, want %d", got, state, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRestartAdoptsACallbackCustomerOnHold: a customer-first callback's
// customer has answered and waits for an agent (the one reserved did not
// answer) when the controller is killed. The new controller takes the
// customer over where they are: when an agent is free it rings the agent
// for this customer instead of dialling the customer a second time.
func TestRestartAdoptsACallbackCustomerOnHold(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	clearSwitch(t, ctx)
	dbURL, st := openDB(t, ctx)
	cfg := testConfig(t, dbURL, options{agents: 1, ringTimeout: 3 * time.Second, wrapUp: time.Second, noInput: 30 * time.Second})
	cfg.Queues[0].Callback = config.QueueCallback{Attempts: 2, Interval: time.Minute, DialTimeout: time.Minute, Dial: "PJSIP/{number}@pstn"}
	cfgPath := writeConfig(t, cfg)
	first := serveProcess(t, cfgPath, dbURL, cfg.Asterisk.Password)
	e := &env{t: t, ctx: ctx, cfg: cfg, st: st, db: st.DB, client: api.NewClient(cfg.API.Listen, "")}
	e.waitAPI()
	const number = "13900000031"
	// The customer answers at once and stays on the line for 30 s.
	customer := e.customerPhone(map[string]string{"ring_ms": "300", "hangup_ms": "30000"})
	deaf := e.phone(1, "agent-uas-noanswer.xml", nil)
	e.ready("1001")
	req, err := e.client.RequestCallback(ctx, api.CallbackRequest{Queue: "general", Number: number, Mode: "customer-first"})
	if err != nil {
		t.Fatal(err)
	}
	// The customer answered; the agent let it ring out and is NOT_READY.
	e.waitAgent("1001", "NOT_READY")
	waitState(t, e, 1, store.ContactQueued)

	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	_, _ = deaf.Stop(2 * time.Second)
	serveProcess(t, cfgPath, dbURL, cfg.Asterisk.Password)
	e.waitAPI()
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "500"})
	if err := e.client.Ready(ctx, "1001"); err != nil { // still logged in, NOT_READY
		t.Fatal(err)
	}

	done := e.callbackRow(req.ID, "completed", "failed", "cancelled")
	if done.Status != "completed" || done.Agent.String != "1001" {
		t.Fatalf("callback %+v, want completed by 1001", done)
	}
	cb := e.callbackContact(number, req.ID)
	if cb.Disposition.String != store.DispAnswered || cb.AgentID.String != "1001" || cb.HangupBy.String != "caller" {
		t.Fatalf("callback contact %+v, want answered by 1001 and ended by the customer", cb)
	}
	if kinds := e.eventKinds(cb.ID); !strings.Contains(strings.Join(kinds, ","), "adopted") {
		t.Fatalf("callback contact log %v: want it adopted", kinds)
	}
	var n int
	if err := e.db.GetContext(ctx, &n, `SELECT count(*) FROM contacts WHERE caller = $1`, number); err != nil || n != 1 {
		t.Fatalf("%d contacts for the customer (%v), want 1: the customer was not dialled again", n, err)
	}
	res, _ := customer.Stop(2 * time.Second)
	if res.Events["answered"] != 1 {
		t.Fatalf("customer's phone: %s, want exactly one call", res.Summary())
	}
}
