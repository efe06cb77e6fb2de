// Package demo runs `hotline demo`: a real hotline (`hotline serve`, as a
// child process) on the Asterisk sandbox and a fresh Postgres database,
// with SIPp agents' phones and SIPp callers on the trunk placing a mix of
// calls. What it prints comes from Postgres, and it fails when a call it
// placed is missing there or a recording fails its check.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // Postgres driver

	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/internal/rig"
	"github.com/hotline-cc/hotline/controller/internal/sipp"
	"github.com/hotline-cc/hotline/controller/report"
)

// Options configure a demo run.
type Options struct {
	Out io.Writer
	Log *slog.Logger
	// AdminDatabaseURL reaches a Postgres database from which the demo
	// database is (re)created.
	AdminDatabaseURL string
	Database         string // name of the demo database ("hotline_demo")
	ARIURL, ARIUser  string
	ARIPassword      string
	RecordingDir     string
	Binary           string        // the hotline executable to run as `serve`
	Agents           int           // SIPp agent phones (4)
	NoInput          time.Duration // the demo's no-input time (8 s instead of 60 s)
	WorkDir          string        // logs and the generated configuration
}

// caller is one planned call: a SIPp injection row and what it is.
type caller struct {
	kind string
	row  []string // number;keys1;ms1;keys2;ms2;keys3;ms3;stay_ms
}

// plan is the demo's call mix, in waves launched a few seconds apart.
func plan() [][]caller {
	n := 0
	num := func() string { n++; return fmt.Sprintf("139%08d", 10000000+n) }
	row := func(keys string, after int, stay int) []string {
		return []string{num(), keys, strconv.Itoa(after), "", "0", "", "0", strconv.Itoa(stay)}
	}
	var self, agent, zero, invalid, silent, abandon []caller
	for i := 0; i < 6; i++ {
		self = append(self, caller{"self-service", row("1", 2500, 0)})
	}
	for i := 0; i < 8; i++ {
		agent = append(agent, caller{"agent via menu", row("0", 7000, 22000+1000*i)})
	}
	for i := 0; i < 3; i++ {
		zero = append(zero, caller{"zero-out mid-greeting", row("0", 1000, 16000+1000*i)})
	}
	for i := 0; i < 2; i++ {
		invalid = append(invalid, caller{"invalid keys", []string{num(), "9", "2500", "8", "2500", "7", "2500", "14000"}})
	}
	silent = append(silent, caller{"never presses", row("", 0, 0)})
	for i := 0; i < 2; i++ {
		abandon = append(abandon, caller{"hangs up while queued", row("0", 1000, 8000)})
	}
	return [][]caller{append(agent, zero...), append(self, silent...), abandon, invalid}
}

// Run runs the demo.
func Run(ctx context.Context, o Options) error {
	if o.Agents == 0 {
		o.Agents = 4
	}
	if o.NoInput == 0 {
		o.NoInput = 8 * time.Second
	}
	if o.Database == "" {
		o.Database = "hotline_demo"
	}
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "demo: fresh database %s\n", o.Database)
	dbURL, err := rig.FreshDatabase(ctx, o.AdminDatabaseURL, o.Database)
	if err != nil {
		return err
	}
	apiAddr, err := rig.FreePort()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(o.WorkDir, "hotline-demo.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(o, apiAddr)), 0o600); err != nil {
		return err
	}
	logPath := filepath.Join(o.WorkDir, "hotline.log")
	srv, err := rig.StartServe(o.Binary, cfgPath, logPath, "HOTLINE_ARI_PASSWORD="+o.ARIPassword, "HOTLINE_DATABASE_URL="+dbURL)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Fprintf(o.Out, "demo: hotline serve running (pid %d, log %s)\n", srv.Pid(), logPath)
	client := api.NewClient(apiAddr, "")
	if err := rig.WaitAPI(ctx, client); err != nil {
		return fmt.Errorf("%w (see %s)", err, logPath)
	}
	db, err := sqlx.ConnectContext(ctx, "postgres", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	waves := plan()
	if err := seedCustomers(ctx, db, waves); err != nil {
		return err
	}

	// Agents' phones, then the agents log in and become READY.
	var phones []*sipp.Process
	defer func() {
		for _, p := range phones {
			_, _ = p.Stop(2 * time.Second)
		}
	}()
	for i := 1; i <= o.Agents; i++ {
		p, err := sipp.Start(ctx, sipp.Options{Scenario: "agent-uas.xml", LocalPort: 5100 + i,
			Vars: map[string]string{"ring_ms": "1000"}, Timeout: 10 * time.Minute, Dir: filepath.Join(o.WorkDir, fmt.Sprintf("agent%d", i))})
		if err != nil {
			return err
		}
		phones = append(phones, p)
		id := fmt.Sprintf("100%d", i)
		if err := client.Login(ctx, id); err != nil {
			return fmt.Errorf("login %s: %w", id, err)
		}
		if err := client.Ready(ctx, id); err != nil {
			return fmt.Errorf("ready %s: %w", id, err)
		}
	}
	fmt.Fprintf(o.Out, "demo: %d agents READY on SIPp phones (ports 5101-%d)\n", o.Agents, 5100+o.Agents)

	since := time.Now().Add(-time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var placed []caller
	var runErrs []error
	for wi, wave := range waves {
		rows := make([][]string, len(wave))
		for i, c := range wave {
			rows[i] = c.row
		}
		placed = append(placed, wave...)
		fmt.Fprintf(o.Out, "demo: wave %d: %d calls (%s)\n", wi+1, len(wave), kinds(wave))
		p, err := sipp.Start(ctx, sipp.Options{Scenario: "caller-uac.xml", Target: "127.0.0.1:5060", Service: "10000",
			CSV: rows, Calls: len(rows), Rate: 4, Timeout: 3 * time.Minute, TimeoutIsError: true,
			Dir: filepath.Join(o.WorkDir, fmt.Sprintf("callers%d", wi+1))})
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := p.Wait()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				runErrs = append(runErrs, err)
			} else if r.Failed > 0 {
				runErrs = append(runErrs, fmt.Errorf("SIPp callers: %s", r.Summary()))
			}
		}()
		time.Sleep(3 * time.Second)
	}
	wg.Wait()
	// Every placed call must be in Postgres, ended, with its recording
	// checked; wait a little for the last writes.
	missing, err := waitRecorded(ctx, db, placed, 30*time.Second)
	if err != nil {
		return err
	}
	sum, err := report.Compute(ctx, db, since)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out)
	if err := printLatency(ctx, o.Out, db, since); err != nil {
		return err
	}
	printUsage(o.Out, srv)
	var problems []string
	for _, e := range runErrs {
		problems = append(problems, e.Error())
	}
	for _, m := range missing {
		problems = append(problems, "call not in postgres (or never ended): "+m)
	}
	var bad []string
	if err := db.SelectContext(ctx, &bad, `SELECT name || ': ' || problem FROM recordings WHERE ok IS NOT TRUE`); err != nil {
		return err
	}
	for _, b := range bad {
		problems = append(problems, "recording failed its check: "+b)
	}
	for _, p := range problems {
		fmt.Fprintln(o.Out, "demo: PROBLEM:", p)
	}
	sum.Print(o.Out)
	if len(problems) > 0 {
		return fmt.Errorf("demo: %d problem(s)", len(problems))
	}
	return nil
}

func kinds(cs []caller) string {
	count := map[string]int{}
	for _, c := range cs {
		count[c.kind]++
	}
	var out []string
	for k, n := range count {
		out = append(out, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func configYAML(o Options, apiAddr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Generated by hotline demo.
mode: development
log: {level: info, format: text}
asterisk: {url: %q, username: %q, app: hotline}
api: {listen: %q}
recording: {dir: %q, format: wav}
ivr:
  # The operator's rule is 60 s; the demo waits %s so it ends sooner.
  no_input_timeout: %s
  max_invalid: 3
queues:
  - {id: general, name: General, strategy: longest-idle, ring_timeout: 15s, wrap_up: 2s}
services:
  - {number: "10000", name: Customer service, queue: general}
agents:
`, o.ARIURL, o.ARIUser, apiAddr, o.RecordingDir, o.NoInput, o.NoInput)
	for i := 1; i <= o.Agents; i++ {
		fmt.Fprintf(&b, "  - {id: \"100%d\", name: Agent %d, endpoint: PJSIP/agent%d, queues: [general]}\n", i, i, i)
	}
	return b.String()
}

func seedCustomers(ctx context.Context, db *sqlx.DB, waves [][]caller) error {
	for _, w := range waves {
		for i, c := range w {
			if c.kind == "self-service" && i%6 == 5 {
				continue // one caller with no account
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO customers (number, name, current_bill_cents) VALUES ($1, $2, $3)
				ON CONFLICT (number) DO NOTHING`, c.row[0], "Customer "+c.row[0][7:], 5000+i*1234); err != nil {
				return fmt.Errorf("seed customers: %w", err)
			}
		}
	}
	return nil
}

// waitRecorded waits until every placed caller has an ended contact and
// every recording has been checked; it returns the callers still missing.
func waitRecorded(ctx context.Context, db *sqlx.DB, placed []caller, limit time.Duration) ([]string, error) {
	deadline := time.Now().Add(limit)
	for {
		var missing []string
		for _, c := range placed {
			var n int
			if err := db.GetContext(ctx, &n, `SELECT count(*) FROM contacts WHERE caller = $1 AND ended_at IS NOT NULL`, c.row[0]); err != nil {
				return nil, err
			}
			if n != 1 {
				missing = append(missing, fmt.Sprintf("%s (%s)", c.row[0], c.kind))
			}
		}
		var unchecked int
		if err := db.GetContext(ctx, &unchecked, `SELECT count(*) FROM recordings WHERE ok IS NULL`); err != nil {
			return nil, err
		}
		if (len(missing) == 0 && unchecked == 0) || time.Now().After(deadline) {
			return missing, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// printLatency prints, for calls that found an agent free, the time from
// the caller's "0" key to the agent's phone ringing, both as Asterisk
// stamped them: its DTMF event (kept in the IVR trail) and the agent
// channel's Ringing state (kept in the contact log). The span holds
// hotline's decision, its originate, Asterisk's INVITE and the 180.
func printLatency(ctx context.Context, w io.Writer, db *sqlx.DB, since time.Time) error {
	var ms []float64
	err := db.SelectContext(ctx, &ms, `
		SELECT extract(epoch FROM (r.at - t.at)) * 1000
		FROM contacts c
		JOIN LATERAL (SELECT at FROM ivr_trail WHERE contact_id = c.id AND kind = 'key' AND detail = '0'
		              ORDER BY seq DESC LIMIT 1) t ON true
		JOIN LATERAL (SELECT at FROM contact_events WHERE contact_id = c.id AND kind = 'agent_ringing'
		              ORDER BY id LIMIT 1) r ON true
		WHERE c.arrived_at >= $1 AND c.offered_at - c.queued_at < interval '1 second'`, since)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return nil
	}
	sort.Float64s(ms)
	pct := func(p float64) float64 { return ms[int(p*float64(len(ms)-1)+0.5)] }
	fmt.Fprintf(w, "key 0 to agent phone ringing (agent free, Asterisk timestamps): n=%d p50=%.1f ms p99=%.1f ms\n", len(ms), pct(0.5), pct(0.99))
	return nil
}

func printUsage(w io.Writer, p *rig.Serve) {
	pid := p.Pid()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") || strings.HasPrefix(line, "VmRSS:") {
			fmt.Fprintf(w, "hotline serve %s\n", strings.Join(strings.Fields(line), " "))
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	if len(f) > 12 {
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		fmt.Fprintf(w, "hotline serve CPU: %.2f s user, %.2f s system\n", ut/100, st/100)
	}
}
