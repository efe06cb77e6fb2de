package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/store"
)

// linkCutter is a TCP relay between hotline and Asterisk's ARI port that
// can cut the link: it closes every relayed connection and refuses new
// ones until restored. Asterisk itself keeps running, so the calls go on
// while hotline hears nothing — the way a network fault looks.
type linkCutter struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
}

func newLinkCutter(t *testing.T, target string) *linkCutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &linkCutter{t: t, ln: ln, target: target, conns: map[net.Conn]bool{}}
	go l.accept()
	t.Cleanup(func() { ln.Close(); l.setCut(true) })
	return l
}

func (l *linkCutter) addr() string { return l.ln.Addr().String() }

func (l *linkCutter) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.cut {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.mu.Unlock()
		up, err := net.Dial("tcp", l.target)
		if err != nil {
			c.Close()
			continue
		}
		l.mu.Lock()
		l.conns[c], l.conns[up] = true, true
		l.mu.Unlock()
		go l.pipe(c, up)
		go l.pipe(up, c)
	}
}

func (l *linkCutter) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// setCut cuts (true) or restores (false) the link.
func (l *linkCutter) setCut(cut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = cut
	if cut {
		for c := range l.conns {
			c.Close()
		}
		clear(l.conns)
	}
}

// A caller who hangs up while hotline's link to Asterisk is down must not
// leave the agent ON_CALL: after the link comes back, hotline compares
// its calls with the switch's channel list, ends the call, hangs up the
// agent's leg and frees the agent.
func TestMissedHangupDoesNotLeaveTheAgentOnCall(t *testing.T) {
	ariURL, _, _ := testenv.ARI(t)
	u, err := url.Parse(ariURL)
	if err != nil {
		t.Fatal(err)
	}
	cutter := newLinkCutter(t, u.Host)
	u.Host = cutter.addr()
	o := fast
	o.ariURL = u.String()
	e := start(t, o)
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "500"})
	e.ready("1001")
	// Presses 0 at once and hangs up 9 s after its key.
	caller := e.callAsync([]string{"13800000002", "0", "1500", "", "0", "", "0", "9000"})
	e.waitAgent("1001", "ON_CALL")
	// Cut once the call is bridged and its recording runs.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int
		if err := e.db.GetContext(e.ctx, &n, `SELECT count(*) FROM recordings r JOIN contacts c ON c.id = r.contact_id
			WHERE c.caller = '13800000002'`); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the call's recording did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cutter.setCut(true)
	r, err := caller.Wait()
	if err != nil {
		t.Fatalf("sipp: %v", err)
	}
	if r.Failed != 0 || r.Events["near-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	// The hang-up happened while hotline could not hear it.
	time.Sleep(time.Second)
	if s, _ := e.agentState("1001"); s != "ON_CALL" {
		t.Fatalf("agent is %s with the link down; the test needs the hang-up to be missed", s)
	}
	cutter.setCut(false)
	// Reconnect (back-off ≤ 5 s) and resync put it right.
	c := e.contact("13800000002")
	if c.Disposition.String != store.DispAnswered || c.AgentID.String != "1001" || c.HangupBy.String != "caller" {
		t.Fatalf("contact %+v, want answered by 1001, ended by the caller", c)
	}
	e.waitAgent("1001", "READY")
	// The recording is judged against what hotline knows: the call ended
	// between the link going down and the resync.
	recs := e.recordings(c.ID)
	if len(recs) != 1 || recs[0].OK == nil || !*recs[0].OK {
		t.Fatalf("recordings %+v, want one that passed its check", recs)
	}
	if states := e.states("1001"); !strings.HasSuffix(states, ",ON_CALL,AFTER_CALL_WORK,READY") {
		t.Fatalf("agent states %s, want ON_CALL → AFTER_CALL_WORK → READY", states)
	}
}

// A hang-up hotline never hears of while its link stays up must not
// leave the agent ON_CALL either. Asterisk is told to send hotline's
// application no events at all (its ARI event filter), as if they were
// lost; the websocket stays connected, so no reconnect helps. The
// periodic check against the switch's channel list (reconcile_every)
// must find the caller gone, end the call, hang up the agent's leg and
// free the agent, all while the events are still withheld.
func TestUnheardHangupIsFoundByThePeriodicCheck(t *testing.T) {
	o := fast
	o.reconcileEvery = 2 * time.Second
	e := start(t, o)
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "500"})
	e.ready("1001")
	// Presses 0 at once and hangs up 6 s after its key.
	caller := e.callAsync([]string{"13800000004", "0", "1500", "", "0", "", "0", "6000"})
	e.waitAgent("1001", "ON_CALL")
	restore := e.withholdEvents()
	defer restore()
	r, err := caller.Wait()
	if err != nil {
		t.Fatalf("sipp: %v", err)
	}
	if r.Failed != 0 || r.Events["near-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	e.waitAgent("1001", "READY")
	c := e.contact("13800000004")
	if c.Disposition.String != store.DispAnswered || c.AgentID.String != "1001" || c.HangupBy.String != "caller" {
		t.Fatalf("contact %+v, want answered by 1001, ended by the caller", c)
	}
	if states := e.states("1001"); !strings.HasSuffix(states, ",ON_CALL,AFTER_CALL_WORK,READY") {
		t.Fatalf("agent states %s, want ON_CALL → AFTER_CALL_WORK → READY", states)
	}
}

// withholdEvents sets hotline's ARI application's event filter to a type
// Asterisk never sends it, and returns a function that puts back the
// filter the driver had set.
func (e *env) withholdEvents() (restore func()) {
	e.t.Helper()
	ariURL, user, pass := testenv.ARI(e.t)
	app := strings.TrimSuffix(ariURL, "/") + "/ari/applications/" + e.cfg.Asterisk.App
	do := func(method, url string, body any) []byte {
		e.t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(e.ctx, method, url, rd)
		if err != nil {
			e.t.Fatal(err)
		}
		req.SetBasicAuth(user, pass)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			e.t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			e.t.Fatalf("%s %s: %s: %s", method, url, resp.Status, out)
		}
		return out
	}
	var cur struct {
		Allowed []map[string]any `json:"events_allowed"`
	}
	if err := json.Unmarshal(do("GET", app, nil), &cur); err != nil {
		e.t.Fatal(err)
	}
	if len(cur.Allowed) == 0 {
		e.t.Fatal("hotline's application has no event filter to put back")
	}
	do("PUT", app+"/eventFilter", map[string]any{"allowed": []map[string]string{{"type": "TextMessageReceived"}}})
	return func() { do("PUT", app+"/eventFilter", map[string]any{"allowed": cur.Allowed}) }
}
