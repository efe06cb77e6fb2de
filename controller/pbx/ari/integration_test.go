package ari_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/internal/sipp"
	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/pbx/ari"
	"github.com/hotline-cc/hotline/controller/pbx/pbxtest"
)

// TestContract runs the driver-contract suite against the real Asterisk
// sandbox (scripts/asterisk-sandbox.sh start; `make test` prepares it),
// with SIPp as callers and agents' phones. It fails, never skips, when
// the sandbox is missing (testenv).
//
// Asterisk gives an ARI application to the last client that connects
// (ApplicationReplaced), so the suite has an application of its own:
// callers arrive on the sandbox's "contract" endpoint, whose dialplan
// hands them to Stasis(hotline-contract), never to a running hotline.
// contractApp is the ARI application of the sandbox's [from-contract]
// context (dialplan/extensions.conf).
const contractApp = "hotline-contract"

func TestContract(t *testing.T) {
	base, user, pass := testenv.ARI(t)
	h := newHarness(t, base, user, pass, testenv.RecordingDir(t))
	pbxtest.Run(t, h)
}

// harness implements pbxtest.Harness for ARI. The driver reaches Asterisk
// through a loopback TCP proxy so DropLink can cut the link without
// touching Asterisk; SIPp plays the carrier's callers and agents' phones.
type harness struct {
	user, pass, recordingDir string
	proxy                    *cutProxy

	mu     sync.Mutex
	agents map[int]*sipp.Process
	procs  []*sipp.Process

	portBase int          // callers' SIP ports portBase.., media ports portBase+1000..
	next     atomic.Int64 // callers started
}

func newHarness(t *testing.T, base, user, pass, recordingDir string) *harness {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("HOTLINE_ARI_URL %q: %v", base, err)
	}
	p, err := newCutProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{user: user, pass: pass, recordingDir: recordingDir, proxy: p, agents: map[int]*sipp.Process{},
		portBase: 40000 + 5000*rand.IntN(3)} // 40000-54999: clear of Asterisk's RTP 20000-30000
	// Registered before pbxtest.Run's own cleanup, so it runs after the
	// driver has stopped: SIPp processes live for the whole suite.
	t.Cleanup(func() {
		p.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, proc := range h.procs {
			proc.Stop(2 * time.Second)
		}
	})
	return h
}

func (h *harness) NewDriver(t *testing.T) pbx.Driver {
	level := slog.LevelInfo
	if os.Getenv("HOTLINE_ARI_DEBUG") != "" {
		level = slog.LevelDebug
	}
	d, err := ari.New(ari.Config{
		URL: "http://" + h.proxy.Addr(), Username: h.user, Password: h.pass, App: contractApp,
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level})),
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (h *harness) DropLink(t *testing.T) { h.proxy.Cut() }

func (h *harness) Prompt() string { return "beep" }

func (h *harness) RecordingFile(name pbx.RecordingName, format string) string {
	return filepath.Join(h.recordingDir, string(name)+"."+format)
}

// AgentEndpoint starts (once) a SIPp UAS for agent i. The suite uses the
// highest-numbered sandbox agents (agent20, agent19, ...) to keep clear of
// other tests, which start from agent1.
func (h *harness) AgentEndpoint(t *testing.T, i int) string {
	n := 20 - i
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.agents[n] == nil {
		p, err := sipp.Start(context.Background(), sipp.Options{
			Scenario: "agent-uas.xml", LocalPort: 5100 + n, Timeout: 30 * time.Minute,
		})
		if err != nil {
			t.Fatalf("agent%d SIPp UAS: %v", n, err)
		}
		h.agents[n] = p
		h.procs = append(h.procs, p)
		time.Sleep(200 * time.Millisecond) // let it bind before Asterisk sends the INVITE
	}
	return fmt.Sprintf("PJSIP/agent%d", n)
}

func (h *harness) PlaceCall(ctx context.Context, t *testing.T, spec pbxtest.CallSpec) pbxtest.Call {
	if len(spec.Keys) > 3 {
		t.Fatalf("caller-uac.xml sends at most 3 key groups, got %d", len(spec.Keys))
	}
	row := []string{spec.Caller, "-", "0", "-", "0", "-", "0", "0"}
	prev := ""
	for g, keys := range spec.Keys {
		wait := spec.KeyDelay
		if prev != "" {
			wait += sipp.KeysDuration(prev) // SIPp cuts a group off if the next starts too soon
		}
		row[1+2*g], row[2+2*g] = keys, strconv.Itoa(int(wait.Milliseconds()))
		prev = keys
	}
	if spec.HangupAfter > 0 {
		hold := spec.HangupAfter
		if prev != "" {
			hold += sipp.KeysDuration(prev)
		}
		row[7] = strconv.Itoa(int(hold.Milliseconds()))
	}
	var p *sipp.Process
	for attempt := 1; ; attempt++ {
		// Ports from the harness's own block: fifty callers picking
		// "free" ports at once collide (SIPp then dies on bind).
		k := int(h.next.Add(1))
		var err error
		p, err = sipp.Start(context.Background(), sipp.Options{
			Scenario: "caller-uac.xml", Target: "127.0.0.1:5060", Service: spec.Service,
			LocalPort: h.portBase + k%1000, MediaPort: h.portBase + 1000 + 4*(k%1000),
			Calls: 1, CSV: [][]string{row}, Timeout: 150 * time.Second, TimeoutIsError: true,
			Vars: map[string]string{"from_user": "contract"},
		})
		if err != nil {
			t.Fatalf("SIPp caller %s: %v", spec.Caller, err)
		}
		if attempt == 3 || !diedOnBind(p) {
			break
		}
	}
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	c := &sippCall{p: p, caller: spec.Caller, done: make(chan struct{})}
	go func() {
		c.res, c.err = p.Wait()
		close(c.done)
	}()
	return c
}

// diedOnBind reports whether SIPp exited at once because its port was
// taken (by a process outside this test), so the call can be retried.
func diedOnBind(p *sipp.Process) bool {
	time.Sleep(150 * time.Millisecond)
	select {
	case <-doneCh(p):
	default:
		return false
	}
	r, _ := p.Wait()
	out, _ := os.ReadFile(filepath.Join(p.Dir(), "stdout.log"))
	errs, _ := os.ReadFile(filepath.Join(p.Dir(), "errors.log"))
	return r.ExitCode >= 254 && strings.Contains(string(out)+string(errs), "Address already in use")
}

func doneCh(p *sipp.Process) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		p.Wait()
		close(c)
	}()
	return c
}

type sippCall struct {
	p      *sipp.Process
	caller string
	done   chan struct{}
	res    sipp.Result
	err    error
}

func (c *sippCall) Wait(ctx context.Context) error {
	select {
	case <-c.done:
	case <-ctx.Done():
		return fmt.Errorf("SIPp caller %s still running (logs %s): %w", c.caller, c.p.Dir(), ctx.Err())
	}
	if c.err != nil {
		return fmt.Errorf("SIPp caller %s: %w", c.caller, c.err)
	}
	if c.res.ExitCode != 0 || c.res.Successful != 1 || c.res.Events["answered"] != 1 {
		return fmt.Errorf("SIPp caller %s: %s\n%s", c.caller, c.res.Summary(), c.res.Errors())
	}
	return nil
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// --- cuttable proxy ------------------------------------------------------

// cutProxy forwards loopback TCP connections to Asterisk; Cut closes all
// of them at once, as a network failure would, while new ones still work.
type cutProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newCutProxy(target string) (*cutProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &cutProxy{l: l, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *cutProxy) Addr() string { return p.l.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

// Cut drops every open connection abruptly (RST, no close frame).
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

func (p *cutProxy) Close() {
	p.l.Close()
	p.Cut()
	p.wg.Wait()
}
