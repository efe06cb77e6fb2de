// Package load runs `hotline load`: the same bounded SIPp caller load
// through Asterisk's own app_queue and through hotline (`hotline serve`
// as a child process on a fresh database), one rate step after another,
// on the Asterisk sandbox, and reports for each side the SIPp call
// counts, the sustained rate, peak channels, the delay to the agent's
// phone ringing and the CPU of Asterisk and of hotline.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // Postgres driver

	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/internal/rig"
	"github.com/hotline-cc/hotline/controller/internal/sipp"
)

// Options configure a load run.
type Options struct {
	Out              io.Writer
	Log              *slog.Logger
	AdminDatabaseURL string
	Database         string // "hotline_load"
	ARIURL, ARIUser  string
	ARIPassword      string
	RecordingDir     string
	Binary           string        // the hotline executable to run as `serve`
	Sandbox          string        // scripts/asterisk-sandbox.sh (for pid and cli)
	Agents           int           // 20
	Rates            []float64     // calls/s steps (10, 20, 30)
	Duration         time.Duration // per side and step (60 s)
	Talk             time.Duration // agent talk time before the phone hangs up (1 s)
	AgentShare       float64       // share of calls that reach an agent (0.25)
	Sides            []Side        // default both, app_queue first
	WorkDir          string
}

// Run runs every rate step on each side and prints the table.
func Run(ctx context.Context, o Options) ([]Row, error) {
	if o.Agents == 0 {
		o.Agents = 20
	}
	if o.Database == "" {
		o.Database = "hotline_load"
	}
	if len(o.Sides) == 0 {
		o.Sides = []Side{AppQueue, Hotline}
	}
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return nil, err
	}
	// Others share the sandbox: wait a while for their tests to finish.
	for deadline := time.Now().Add(5 * time.Minute); ; {
		err := preflight(ctx, o)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		fmt.Fprintf(o.Out, "load: waiting: %v\n", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
		}
	}
	astPid, err := asteriskPid(o.Sandbox)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "load: Asterisk pid %d; fresh database %s; work dir %s\n", astPid, o.Database, o.WorkDir)
	dbURL, err := rig.FreshDatabase(ctx, o.AdminDatabaseURL, o.Database)
	if err != nil {
		return nil, err
	}
	apiAddr, err := rig.FreePort()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(o.WorkDir, "hotline-load.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(o, apiAddr)), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(o.WorkDir, "hotline.log")
	srv, err := rig.StartServe(o.Binary, cfgPath, logPath, "HOTLINE_ARI_PASSWORD="+o.ARIPassword, "HOTLINE_DATABASE_URL="+dbURL)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	client := api.NewClient(apiAddr, "")
	if err := rig.WaitAPI(ctx, client); err != nil {
		return nil, fmt.Errorf("%w (see %s)", err, logPath)
	}
	fmt.Fprintf(o.Out, "load: hotline serve pid %d (log %s)\n", srv.Pid(), logPath)
	db, err := sqlx.ConnectContext(ctx, "postgres", dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	w, err := dialWatcher(ctx, o.ARIURL, o.ARIUser, o.ARIPassword, "hotline-load")
	if err != nil {
		return nil, err
	}
	defer w.close()

	// The agents' phones serve both sides: Asterisk's queue members and
	// hotline's agents are the same PJSIP/agentN endpoints.
	phoneTimeout := time.Duration(len(o.Rates)*len(o.Sides))*(o.Duration+3*time.Minute) + 5*time.Minute
	var phones []*sipp.Process
	defer func() {
		for _, p := range phones {
			_, _ = p.Stop(2 * time.Second)
		}
	}()
	for i := 1; i <= o.Agents; i++ {
		p, err := sipp.Start(ctx, sipp.Options{Scenario: "agent-uas-hangup.xml", LocalPort: 5100 + i,
			Vars:    map[string]string{"ring_ms": "1000", "hangup_ms": "0"},
			Timeout: phoneTimeout, Dir: filepath.Join(o.WorkDir, fmt.Sprintf("agent%d", i))})
		if err != nil {
			return nil, err
		}
		phones = append(phones, p)
		id := fmt.Sprintf("2%03d", i)
		if err := client.Login(ctx, id); err != nil {
			return nil, fmt.Errorf("login %s: %w", id, err)
		}
		if err := client.Ready(ctx, id); err != nil {
			return nil, fmt.Errorf("ready %s: %w", id, err)
		}
	}
	fmt.Fprintf(o.Out, "load: %d agents' phones (answer after 1 s; callers hang up after %s of talk), READY in hotline and members of app_queue bench\n", o.Agents, o.Talk)

	// A step that failed can leave calls up in Asterisk (SIPp gave up on
	// them, hotline stopped): they would burn the sandbox's CPU for the
	// tests after. Whatever is still up at the end is hung up.
	defer hangupAll(o.Sandbox)
	var rows []Row
	for ri, rate := range o.Rates {
		for si, side := range o.Sides {
			prefix := fmt.Sprintf("13%d%d", ri+1, si+1)
			r, err := runSide(ctx, o, side, rate, prefix, astPid, srv, db, w)
			if err != nil {
				return rows, err
			}
			rows = append(rows, r)
			fmt.Fprintf(o.Out, "load: %s at %g calls/s: %d/%d/%d attempted/ok/failed, peak %d channels, ringing p50/p99 %s, Asterisk %s, hotline %s, machine %s %s\n",
				side, rate, r.Attempted, r.Succeeded, r.Failed, r.PeakChannels, r.Delay, pct(r.AsteriskCPU), pct(r.HotlineCPU), pct(r.MachineCPU), r.Note)
		}
	}
	fmt.Fprintln(o.Out)
	WriteTable(o.Out, rows)
	// hotline logs, when it stops, how long Asterisk took to answer each
	// ARI command over the whole run: a slow switch shows there.
	srv.Stop()
	if line := lastLine(logPath, "switch command latency"); line != "" {
		fmt.Fprintf(o.Out, "\nload: ARI reply times seen by hotline over the run: %s\n", line)
	}
	return rows, nil
}

// lastLine returns the last line of a file that contains s.
func lastLine(path, s string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return lines[i]
		}
	}
	return ""
}

// runSide places one step's calls through one side, waits until every
// call has ended and Asterisk is quiet again, and measures.
func runSide(ctx context.Context, o Options, side Side, rate float64, prefix string, astPid int, srv *rig.Serve, db *sqlx.DB, w *watcher) (Row, error) {
	row := Row{Side: side, Rate: rate, HotlineCPU: math.NaN()}
	streams := Mix(side, rate, o.Duration, o.AgentShare, o.Talk, prefix)
	if side == Hotline {
		if err := seed(ctx, db, streams); err != nil {
			return row, err
		}
	}
	if err := waitQuiet(ctx, o.Sandbox, 60*time.Second); err != nil {
		return row, err
	}
	w.reset()
	astBefore, _ := procCPU(astPid)
	hlBefore, _ := procCPU(srv.Pid())
	busy0, total0 := sysCPU()
	start := time.Now()
	since := start.Add(-time.Second)

	pollCtx, stopPoll := context.WithCancel(ctx)
	peak := make(chan int, 1)
	go func() { peak <- pollChannels(pollCtx, o.Sandbox) }()

	var wg sync.WaitGroup
	results := make([]sipp.Result, len(streams))
	errs := make([]error, len(streams))
	for i, s := range streams {
		p, err := sipp.Start(ctx, sipp.Options{Scenario: "caller-uac.xml", Target: "127.0.0.1:5060", Service: s.Service,
			Vars: map[string]string{"from_user": s.FromUser}, CSV: s.Rows, Calls: s.Calls, Rate: s.Rate,
			// SIPp's default cap on simultaneous calls (3 x rate) would
			// hold the rate down once calls last longer than 3 s.
			Concurrency: 5000,
			Timeout:     o.Duration + 2*time.Minute, TimeoutIsError: true,
			Dir: filepath.Join(o.WorkDir, fmt.Sprintf("%g-%s-%s", rate, side, s.Name))})
		if err != nil {
			stopPoll()
			return row, err
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = p.Wait()
		}(i)
	}
	wg.Wait()
	callsDone := time.Since(start)
	// Let the last hang-ups and hotline's writes settle before reading CPU.
	_ = waitQuiet(ctx, o.Sandbox, 30*time.Second)
	stopPoll()
	row.PeakChannels = <-peak
	wall := time.Since(start).Seconds()
	if c, err := procCPU(astPid); err == nil {
		row.AsteriskCPU = 100 * (c.Seconds() - astBefore.Seconds()) / wall
	}
	if side == Hotline {
		if c, err := procCPU(srv.Pid()); err == nil {
			row.HotlineCPU = 100 * (c.Seconds() - hlBefore.Seconds()) / wall
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.Pid())); err == nil {
			if kb, ok := ParseStatusKB(string(st), "VmRSS"); ok {
				row.HotlineRSSMB = float64(kb) / 1024
			}
		}
	}
	if busy1, total1 := sysCPU(); total1 > total0 {
		row.MachineCPU = 100 * float64(busy1-busy0) / float64(total1-total0)
	}
	var notes []string
	for i, r := range results {
		row.Attempted += r.Created
		row.Succeeded += r.Successful
		row.Failed += r.Failed
		if errs[i] != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", streams[i].Name, errs[i]))
		}
		if r.Failed > 0 {
			notes = append(notes, fmt.Sprintf("%s failed=%d (%s)", streams[i].Name, r.Failed, r.Dir))
		}
	}
	row.Sustained = float64(row.Succeeded) / o.Duration.Seconds()
	if side == AppQueue {
		free, all := w.delays()
		row.Delay, row.DelayAll = NewDist(free), NewDist(all)
	} else {
		var err error
		if row.Delay, row.DelayAll, err = hotlineDelays(ctx, db, since, prefix); err != nil {
			return row, err
		}
		var n struct {
			Contacts, Ended, Answered int
		}
		if err := db.GetContext(ctx, &n, `SELECT count(*) AS contacts, count(ended_at) AS ended, count(answered_at) AS answered
			FROM contacts WHERE caller LIKE $1 || '%'`, prefix); err != nil {
			return row, err
		}
		notes = append(notes, fmt.Sprintf("postgres: %d contacts, %d ended, %d answered by an agent", n.Contacts, n.Ended, n.Answered))
	}
	notes = append(notes, fmt.Sprintf("calls done after %.0f s", callsDone.Seconds()))
	row.Note = strings.Join(notes, "; ")
	return row, nil
}

// hotlineDelays: the caller's last "0" key (Asterisk's DTMF timestamp,
// kept in the IVR trail) to the agent channel's Ringing (kept in the
// contact log), for calls that found an agent free and for all.
func hotlineDelays(ctx context.Context, db *sqlx.DB, since time.Time, prefix string) (free, all Dist, err error) {
	var rs []struct {
		MS   float64 `db:"ms"`
		Free bool    `db:"free"`
	}
	err = db.SelectContext(ctx, &rs, `
		SELECT extract(epoch FROM (r.at - t.at)) * 1000 AS ms,
		       coalesce(c.offered_at - c.queued_at < interval '1 second', false) AS free
		FROM contacts c
		JOIN LATERAL (SELECT at FROM ivr_trail WHERE contact_id = c.id AND kind = 'key' AND detail = '0'
		              ORDER BY seq DESC LIMIT 1) t ON true
		JOIN LATERAL (SELECT at FROM contact_events WHERE contact_id = c.id AND kind = 'agent_ringing'
		              ORDER BY id LIMIT 1) r ON true
		WHERE c.arrived_at >= $1 AND c.caller LIKE $2 || '%'`, since, prefix)
	if err != nil {
		return free, all, err
	}
	var f, a []float64
	for _, r := range rs {
		a = append(a, r.MS)
		if r.Free {
			f = append(f, r.MS)
		}
	}
	return NewDist(f), NewDist(a), nil
}

func seed(ctx context.Context, db *sqlx.DB, streams []Stream) error {
	var nums []string
	for _, s := range streams {
		if s.Name != "ivr" {
			continue
		}
		for _, r := range s.Rows {
			nums = append(nums, r[0])
		}
	}
	for len(nums) > 0 {
		n := min(len(nums), 500)
		var b strings.Builder
		args := make([]any, 0, n)
		b.WriteString(`INSERT INTO customers (number, name, current_bill_cents) VALUES `)
		for i, num := range nums[:n] {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "($%d, 'Load customer', %d)", i+1, 1000+i*37)
			args = append(args, num)
		}
		b.WriteString(` ON CONFLICT (number) DO NOTHING`)
		if _, err := db.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("seed customers: %w", err)
		}
		nums = nums[n:]
	}
	return nil
}

// preflight refuses to run beside another hotline (the dialplan's
// Stasis(hotline) would split calls between the two) or when the agents'
// phone ports are taken (someone else's test uses them).
func preflight(ctx context.Context, o Options) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(o.ARIURL, "/")+"/ari/applications", nil)
	req.SetBasicAuth(o.ARIUser, o.ARIPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ARI: %w", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), `"name":"hotline"`) {
		return errors.New("another hotline is connected to this Asterisk (ARI app \"hotline\"); wait until it is gone")
	}
	for i := 1; i <= o.Agents; i++ {
		c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", 5100+i))
		if err != nil {
			return fmt.Errorf("agent phone port %d is in use (another test?): %w", 5100+i, err)
		}
		c.Close()
	}
	return nil
}

var pidRE = regexp.MustCompile(`\(pid (\d+)\)`)

func asteriskPid(sandbox string) (int, error) {
	out, err := exec.Command(sandbox, "status").Output()
	if err != nil {
		return 0, fmt.Errorf("%s status: %w (%s)", sandbox, err, out)
	}
	m := pidRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s status: no pid in %q", sandbox, out)
	}
	return strconv.Atoi(string(m[1]))
}

func channelCount(ctx context.Context, sandbox string) (int, bool) {
	out, err := exec.CommandContext(ctx, sandbox, "cli", "core show channels count").Output()
	if err != nil {
		return 0, false
	}
	return ParseChannelCount(string(out))
}

func pollChannels(ctx context.Context, sandbox string) int {
	peak := 0
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if n, ok := channelCount(ctx, sandbox); ok && n > peak {
			peak = n
		}
		select {
		case <-ctx.Done():
			return peak
		case <-t.C:
		}
	}
}

// hangupAll hangs up every channel Asterisk still has.
func hangupAll(sandbox string) {
	_ = exec.Command(sandbox, "cli", "channel request hangup all").Run()
}

// waitQuiet waits until Asterisk has no channels.
func waitQuiet(ctx context.Context, sandbox string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		n, ok := channelCount(ctx, sandbox)
		if ok && n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Asterisk still has %d channels after %s", n, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func procCPU(pid int) (ProcCPU, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcCPU{}, err
	}
	return ParseProcStat(string(b))
}

func sysCPU() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	busy, total, _ = ParseSystemStat(string(b))
	return busy, total
}

func configYAML(o Options, apiAddr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Generated by hotline load.
mode: development
log: {level: info, format: text}
asterisk: {url: %q, username: %q, app: hotline}
api: {listen: %q}
recording: {dir: %q, format: wav}
ivr:
  no_input_timeout: 60s
  max_invalid: 3
queues:
  - {id: general, name: General, strategy: longest-idle, ring_timeout: 15s, wrap_up: 0s}
services:
  - {number: "10000", name: Customer service, queue: general}
agents:
`, o.ARIURL, o.ARIUser, apiAddr, o.RecordingDir)
	for i := 1; i <= o.Agents; i++ {
		fmt.Fprintf(&b, "  - {id: \"2%03d\", name: Agent %d, endpoint: PJSIP/agent%d, queues: [general]}\n", i, i, i)
	}
	return b.String()
}
