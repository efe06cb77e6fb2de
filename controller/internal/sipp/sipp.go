// Package sipp launches SIPp for tests, load runs and the demo.
//
// SIPp is a real SIP endpoint: the calls it places or answers are genuine
// SIP dialogs with RTP audio (replayed from the pcaps shipped with the
// Debian package sip-tester) and RFC 4733 DTMF, exchanged over UDP with
// whatever listens on the target address. This package never fakes SIP; it
// only starts /usr/bin/sipp with the scenarios under sipp/ in the
// repository, bounds its run time, and reads back what happened.
//
// Only loopback targets are used in this project. See sipp/README.md for
// the scenarios and their parameters.
package sipp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options describe one SIPp run.
type Options struct {
	// Scenario is the scenario file: an absolute path, or a file name
	// under the repository's sipp/ directory (e.g. "caller-uac.xml").
	Scenario string
	// Target is the remote "host:port" calls are sent to (UAC scenarios).
	// Empty for UAS scenarios that only answer.
	Target string
	// Service is the user part of the request URI (sipp -s), e.g. the
	// dialled service number. Defaults to "service".
	Service string
	// LocalIP is the address SIPp binds to; defaults to 127.0.0.1.
	LocalIP string
	// LocalPort is the SIP port SIPp binds (sipp -p). 0 picks a free port.
	LocalPort int
	// MediaPort is the RTP port (sipp -mp). 0 picks a free one.
	MediaPort int
	// Calls stops SIPp after this many calls (sipp -m). 0 means no limit
	// (typical for a UAS that runs until Stop).
	Calls int
	// Rate is the call rate in calls per second (sipp -r); 0 keeps SIPp's
	// default (10/s).
	Rate float64
	// Concurrency caps simultaneous calls (sipp -l); 0 means no cap.
	Concurrency int
	// CSV rows are written to an injection file (sipp -inf) with the
	// SEQUENTIAL header; each row is one call (rows are reused in a loop
	// when Calls exceeds len(CSV)). Fields must not contain ';'.
	CSV [][]string
	// Vars are scenario globals (sipp -set NAME VALUE), e.g. ring_ms.
	Vars map[string]string
	// Timeout bounds the whole run (sipp -timeout, plus a hard kill a few
	// seconds later). Defaults to 2 minutes.
	Timeout time.Duration
	// TimeoutIsError makes reaching Timeout count as failure
	// (sipp -timeout_error). Set it for UAC runs that must finish.
	TimeoutIsError bool
	// Dir receives logs, stats and the injection file. Defaults to a new
	// temporary directory (kept so a failing test can point at it).
	Dir string
	// Binary is the sipp executable; defaults to "sipp" on PATH, then
	// /usr/bin/sipp.
	Binary string
	// PcapDir holds the pcaps the scenarios replay (g711a.pcap,
	// dtmf_2833_*.pcap). Defaults to $HOTLINE_SIPP_PCAP_DIR or
	// /usr/share/sip-tester.
	PcapDir string
	// ExtraArgs are appended to the command line verbatim.
	ExtraArgs []string
}

// Result is what a finished SIPp run reports.
type Result struct {
	// Successful and Failed are SIPp's cumulative call counters, read
	// from its statistics file.
	Successful int
	Failed     int
	// Created counts calls SIPp placed (UAC) or accepted (UAS).
	Created int
	// Events counts the scenario's "hotline-event NAME ..." log lines by
	// NAME (answered, far-bye, near-bye, cancelled, keys, ringing...).
	Events map[string]int
	// ExitCode is sipp's exit status (0: all calls succeeded, 1: some
	// failed, 97/99: stopped or no calls, 255: fatal error; -1: killed).
	ExitCode int
	// Dir holds sipp's output: stdout.log, stats.csv, errors.log,
	// logs.log, messages.
	Dir string
}

// Summary is a one-line description for test messages.
func (r Result) Summary() string {
	keys := make([]string, 0, len(r.Events))
	for k := range r.Events {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ev []string
	for _, k := range keys {
		ev = append(ev, fmt.Sprintf("%s=%d", k, r.Events[k]))
	}
	return fmt.Sprintf("sipp exit=%d created=%d successful=%d failed=%d events[%s] logs=%s",
		r.ExitCode, r.Created, r.Successful, r.Failed, strings.Join(ev, " "), r.Dir)
}

// Errors returns the unexpected-message log of the run, without SIPp's
// routine notes about receive timeouts the scenarios use as timers.
func (r Result) Errors() string {
	b, err := os.ReadFile(filepath.Join(r.Dir, "errors.log"))
	if err != nil {
		return ""
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "jumping to label") || strings.TrimSpace(line) == "" ||
			strings.HasPrefix(line, "The following events occurred") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// Run starts SIPp and waits for it to finish (all Calls done, Timeout
// reached or ctx cancelled). A non-nil error means SIPp could not run or
// was killed; call failures are reported in Result, not as an error.
func Run(ctx context.Context, opts Options) (Result, error) {
	for attempt := 1; ; attempt++ {
		p, err := Start(ctx, opts)
		if err != nil {
			return Result{}, err
		}
		r, err := p.Wait()
		// Ports picked here can be taken by someone else before SIPp
		// binds them; try again with new ones.
		auto := opts.LocalPort == 0 || opts.MediaPort == 0
		if auto && attempt < 3 && r.ExitCode >= 254 &&
			strings.Contains(readFile(filepath.Join(r.Dir, "stdout.log"))+readFile(filepath.Join(r.Dir, "errors.log")), "Address already in use") {
			continue
		}
		return r, err
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// Process is a running SIPp.
type Process struct {
	cmd       *exec.Cmd
	dir       string
	opts      Options
	done      chan struct{}
	waitErr   error
	once      sync.Once
	LocalPort int // the SIP port SIPp listens on
	MediaPort int // the RTP port SIPp uses
}

// Start launches SIPp and returns at once; use Wait or Stop. Scenarios
// that answer calls (agent-uas*.xml) typically run until Stop.
func Start(ctx context.Context, opts Options) (*Process, error) {
	if opts.Scenario == "" {
		return nil, errors.New("sipp: no scenario")
	}
	scen, err := ScenarioPath(opts.Scenario)
	if err != nil {
		return nil, err
	}
	if filepath.Base(scen) == "caller-uac.xml" {
		if err := CheckCallerRows(opts.CSV); err != nil {
			return nil, err
		}
	}
	bin := opts.Binary
	if bin == "" {
		if bin, err = exec.LookPath("sipp"); err != nil {
			bin = "/usr/bin/sipp"
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("sipp: binary %s not found (Debian package sip-tester; run scripts/setup.sh): %w", bin, err)
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "hotline-sipp-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := linkPcaps(dir, opts.PcapDir); err != nil {
		return nil, err
	}
	// SIPp looks for the pcaps next to the scenario: run a copy of it
	// beside the links.
	if b, err := os.ReadFile(scen); err != nil {
		return nil, err
	} else if err := os.WriteFile(filepath.Join(dir, filepath.Base(scen)), b, 0o644); err != nil {
		return nil, err
	}
	scen = filepath.Join(dir, filepath.Base(scen))
	ip := opts.LocalIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	port, mport, err := pickPorts(ip, opts.LocalPort, opts.MediaPort)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	service := opts.Service
	if service == "" {
		service = "service"
	}

	args := []string{
		"-sf", scen,
		"-i", ip, "-p", strconv.Itoa(port), "-mp", strconv.Itoa(mport),
		"-s", service,
		"-nostdin",
		"-timeout", fmt.Sprintf("%dms", timeout.Milliseconds()),
		"-trace_stat", "-stf", filepath.Join(dir, "stats.csv"), "-fd", "1",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(dir, "logs.log"),
		"-max_log_size", "20000000",
	}
	if opts.TimeoutIsError {
		args = append(args, "-timeout_error")
	}
	if opts.Calls > 0 {
		args = append(args, "-m", strconv.Itoa(opts.Calls))
	}
	if opts.Rate > 0 {
		args = append(args, "-r", strconv.FormatFloat(opts.Rate, 'f', -1, 64))
	}
	if opts.Concurrency > 0 {
		args = append(args, "-l", strconv.Itoa(opts.Concurrency))
	}
	if len(opts.CSV) > 0 {
		inf := filepath.Join(dir, "calls.csv")
		if err := writeCSV(inf, opts.CSV); err != nil {
			return nil, err
		}
		args = append(args, "-inf", inf)
	}
	names := make([]string, 0, len(opts.Vars))
	for k := range opts.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "-set", k, opts.Vars[k])
	}
	args = append(args, opts.ExtraArgs...)
	if opts.Target != "" {
		args = append(args, opts.Target)
	}

	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	fmt.Fprintf(out, "# %s %s\n", bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir // the scenarios find the pcaps relative to the working directory
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sipp: start: %w", err)
	}
	p := &Process{cmd: cmd, dir: dir, opts: opts, done: make(chan struct{}),
		LocalPort: port, MediaPort: mport}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	// A scenario SIPp refuses (a variable declared but used once, a
	// missing pcap...) makes it exit at once: a phone that is not there
	// must fail the test that wanted it, not look like one that never
	// answers.
	if err := p.waitListening(startTimeout); err != nil {
		p.kill()
		<-p.done
		return nil, err
	}
	// Hard bounds: SIPp's own -timeout, then a kill; and ctx.
	go func() {
		hard := time.NewTimer(timeout + 10*time.Second)
		defer hard.Stop()
		select {
		case <-p.done:
		case <-hard.C:
			p.kill()
		case <-ctx.Done():
			p.stop(3 * time.Second)
		}
	}()
	return p, nil
}

// startTimeout bounds how long Start waits for SIPp to bind its port.
const startTimeout = 10 * time.Second

// waitListening waits until SIPp has bound its SIP port (a UDP socket on
// LocalPort in /proc/net/udp), or has exited, or timeout has passed.
func (p *Process) waitListening(timeout time.Duration) error {
	want := fmt.Sprintf(":%04X ", p.LocalPort)
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("sipp: exited as it started (scenario %s): %s", p.opts.Scenario, tail(filepath.Join(p.dir, "stdout.log"), 5))
		default:
		}
		if b, err := os.ReadFile("/proc/net/udp"); err != nil || strings.Contains(string(b), want) {
			return nil // bound (or no way to tell)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sipp: port %d not bound %s after start (scenario %s); logs in %s", p.LocalPort, timeout, p.opts.Scenario, p.dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Dir is where this run's logs go.
func (p *Process) Dir() string { return p.dir }

// Wait blocks until SIPp exits and returns its result.
func (p *Process) Wait() (Result, error) {
	<-p.done
	return p.result()
}

// Stop asks SIPp to finish (SIGUSR1: no new calls, let current calls end),
// kills it if it has not exited within grace, and returns its result.
func (p *Process) Stop(grace time.Duration) (Result, error) {
	p.stop(grace)
	<-p.done
	return p.result()
}

func (p *Process) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGUSR1)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.kill()
	}
}

func (p *Process) kill() {
	p.once.Do(func() {
		// Own process group (Setpgid): SIPp and any helper it forked.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	})
}

func (p *Process) result() (Result, error) {
	r := Result{Dir: p.dir, ExitCode: -1, Events: map[string]int{}}
	if p.cmd.ProcessState != nil {
		r.ExitCode = p.cmd.ProcessState.ExitCode()
	}
	if err := readStats(filepath.Join(p.dir, "stats.csv"), &r); err != nil && r.ExitCode >= 254 {
		return r, fmt.Errorf("sipp: fatal error (exit 255), see %s/stdout.log: %s", p.dir, tail(filepath.Join(p.dir, "stdout.log"), 5))
	}
	readEvents(filepath.Join(p.dir, "logs.log"), r.Events)
	if r.ExitCode == -1 {
		return r, fmt.Errorf("sipp: killed (%v); logs in %s", p.waitErr, p.dir)
	}
	if r.ExitCode >= 254 {
		return r, fmt.Errorf("sipp: fatal error (exit 255), see %s/stdout.log: %s", p.dir, tail(filepath.Join(p.dir, "stdout.log"), 5))
	}
	return r, nil
}

// KeysDuration is how long SIPp's play_dtmf takes to send keys: about
// 0.8 s of lead-in, then 200 ms per key plus a 200 ms gap. A key group
// is heard by the far end roughly 0.8 s after it starts.
func KeysDuration(keys string) time.Duration {
	return 800*time.Millisecond + time.Duration(len(keys))*400*time.Millisecond
}

// CheckCallerRows validates caller-uac.xml injection rows: 8 fields, and
// enough time after each key group for its keys to be sent before the
// next group (or the caller's BYE) cuts them off.
func CheckCallerRows(rows [][]string) error {
	for i, row := range rows {
		if len(row) != 8 {
			return fmt.Errorf("sipp: caller-uac.xml row %d has %d fields, want 8 (caller;keys1;wait1;keys2;wait2;keys3;wait3;hold)", i, len(row))
		}
		for g := 0; g < 3; g++ {
			keys := strings.TrimPrefix(row[1+2*g], "-")
			next := row[7]
			if g < 2 {
				next = row[4+2*g]
			}
			if keys == "" || next == "" || next == "0" {
				continue
			}
			ms, err := strconv.Atoi(next)
			if err != nil {
				return fmt.Errorf("sipp: caller-uac.xml row %d: %q is not a number of ms", i, next)
			}
			if need := KeysDuration(keys); time.Duration(ms)*time.Millisecond < need {
				return fmt.Errorf("sipp: caller-uac.xml row %d: keys %q need %v to be sent, but the next step follows after %dms", i, keys, need, ms)
			}
		}
	}
	return nil
}

// ScenarioPath resolves a scenario name to an absolute path: absolute and
// existing relative paths are used as is, bare names are looked up in the
// repository's sipp/ directory (found by walking up to go.mod, or via
// $HOTLINE_SIPP_DIR).
func ScenarioPath(name string) (string, error) {
	if filepath.IsAbs(name) {
		return name, nil
	}
	if _, err := os.Stat(name); err == nil && strings.ContainsRune(name, os.PathSeparator) {
		return filepath.Abs(name)
	}
	dir, err := ScenarioDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("sipp: scenario %s: %w", name, err)
	}
	return p, nil
}

// ScenarioDir is the repository's sipp/ directory.
func ScenarioDir() (string, error) {
	if d := os.Getenv("HOTLINE_SIPP_DIR"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "sipp"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("sipp: no go.mod above %s; set HOTLINE_SIPP_DIR", wd)
		}
	}
}

// PcapDir is where sip-tester's pcaps live.
func PcapDir() string {
	if d := os.Getenv("HOTLINE_SIPP_PCAP_DIR"); d != "" {
		return d
	}
	return "/usr/share/sip-tester"
}

func linkPcaps(dir, src string) error {
	if src == "" {
		src = PcapDir()
	}
	pcaps, _ := filepath.Glob(filepath.Join(src, "*.pcap"))
	if len(pcaps) == 0 {
		return fmt.Errorf("sipp: no pcaps in %s (Debian package sip-tester ships g711a.pcap and dtmf_2833_*.pcap there)", src)
	}
	for _, p := range pcaps {
		dst := filepath.Join(dir, filepath.Base(p))
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := os.Symlink(p, dst); err != nil {
			return err
		}
	}
	return nil
}

func writeCSV(path string, rows [][]string) error {
	var b strings.Builder
	b.WriteString("SEQUENTIAL\n")
	for _, row := range rows {
		for _, f := range row {
			if strings.ContainsAny(f, ";\n") {
				return fmt.Errorf("sipp: CSV field %q contains ';' or a newline", f)
			}
		}
		b.WriteString(strings.Join(row, ";"))
		b.WriteString(";\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// The ports pickPorts hands out lie below the kernel's ephemeral range
// (32768 and up on Linux) and outside Asterisk's RTP range (20000-30000,
// dialplan/rtp.conf): no other process's bind to port 0 can take one in
// the moment between pickPorts closing its probe socket and SIPp binding
// it. Within this process handedOut keeps two SIPps started at once from
// getting the same ports.
const (
	sipPortFirst, sipPortEnd     = 12000, 19000 // SIP: one port each
	mediaPortFirst, mediaPortEnd = 30100, 32700 // media: 4 ports each
	portQuarantine               = 2 * time.Minute
)

var handedOut = struct {
	sync.Mutex
	ports          map[int]time.Time // when each port was handed out
	nextSIP, nextM int
}{ports: map[int]time.Time{}, nextSIP: sipPortFirst, nextM: mediaPortFirst}

// pickPorts chooses the SIP port and the media base port (SIPp binds the
// media port and media port+2; four are kept free), probing that each is
// free now.
func pickPorts(ip string, sip, media int) (int, int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	free := func(port int) bool {
		if at, ok := handedOut.ports[port]; ok && time.Since(at) < portQuarantine {
			return false
		}
		c, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	now := time.Now()
	for n := 0; sip == 0 && n < sipPortEnd-sipPortFirst; n++ {
		p := handedOut.nextSIP
		if handedOut.nextSIP++; handedOut.nextSIP >= sipPortEnd {
			handedOut.nextSIP = sipPortFirst
		}
		if free(p) {
			sip = p
			handedOut.ports[p] = now
		}
	}
	if sip == 0 {
		return 0, 0, errors.New("sipp: no free UDP port for SIP")
	}
	for n := 0; media == 0 && n < (mediaPortEnd-mediaPortFirst)/4; n++ {
		base := handedOut.nextM
		if handedOut.nextM += 4; handedOut.nextM+3 >= mediaPortEnd {
			handedOut.nextM = mediaPortFirst
		}
		if free(base) && free(base+1) && free(base+2) && free(base+3) {
			media = base
			for i := range 4 {
				handedOut.ports[base+i] = now
			}
		}
	}
	if media == 0 {
		return 0, 0, errors.New("sipp: no free UDP ports for media")
	}
	return sip, media, nil
}

// readStats reads the last line of SIPp's -trace_stat CSV.
func readStats(path string, r *Result) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return fmt.Errorf("sipp: no statistics in %s", path)
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	get := func(name string) int {
		for i, h := range head {
			if h == name && i < len(last) {
				v, _ := strconv.Atoi(strings.TrimSpace(last[i]))
				return v
			}
		}
		return 0
	}
	r.Successful = get("SuccessfulCall(C)")
	r.Failed = get("FailedCall(C)")
	r.Created = get("TotalCallCreated")
	if r.Created == 0 {
		r.Created = get("IncomingCall(C)") + get("OutgoingCall(C)")
	}
	return nil
}

// readEvents counts "hotline-event NAME ..." lines.
func readEvents(path string, into map[string]int) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, fl := range fields {
			if fl == "hotline-event" && i+1 < len(fields) {
				into[fields[i+1]]++
				break
			}
		}
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
