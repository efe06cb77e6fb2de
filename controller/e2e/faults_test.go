package e2e

import (
	"context"
	"errors"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/internal/sipp"
	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/store"
)

// ariFaults is an HTTP relay between hotline and Asterisk's ARI that can
// lose chosen commands the way a switch under load does: the request is
// never carried out, or carried out only after hotline has given up on
// it (it waited in Asterisk's queue), or carried out with its reply
// coming too late. Everything else, the event WebSocket included, is
// relayed untouched to the real Asterisk.
type ariFaults struct {
	t      *testing.T
	srv    *httptest.Server
	target http.RoundTripper

	mu     sync.Mutex
	faults []*fault
}

// fault loses the first n requests matching method and path (below /ari).
type fault struct {
	method string
	path   *regexp.Regexp
	n      int
	how    lossKind

	matched int      // guarded by ariFaults.mu
	paths   []string // of every match
}

func newARIFaults(t *testing.T) *ariFaults {
	t.Helper()
	ariURL, _, _ := testenv.ARI(t)
	up, err := url.Parse(ariURL)
	if err != nil {
		t.Fatal(err)
	}
	f := &ariFaults{t: t, target: http.DefaultTransport}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(up) },
		Transport: f,
		// A lost command's connection is closed by hotline's timeout.
		ErrorLog:      log.New(testWriter{t}, "ari relay: ", 0),
		FlushInterval: -1,
	}
	f.srv = httptest.NewServer(rp)
	t.Cleanup(f.srv.Close)
	return f
}

// url is the ARI URL to give hotline.
func (f *ariFaults) url() string { return f.srv.URL }

type lossKind int

const (
	lostRequest lossKind = iota // never relayed
	lateRequest                 // relayed once hotline has given up on it
	lostReply                   // relayed, and its reply withheld
)

func (k lossKind) String() string {
	return [...]string{"request", "request until too late", "reply"}[k]
}

// lose makes the first n requests method path (a regular expression
// over the path below the ARI URL) fail the way how says.
func (f *ariFaults) lose(how lossKind, method, path string, n int) *fault {
	return f.add(&fault{method: method, path: regexp.MustCompile(path), n: n, how: how})
}

func (f *ariFaults) add(x *fault) *fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, x)
	return x
}

// seen returns the paths of every request x matched, lost or not.
func (f *ariFaults) seen(x *fault) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), x.paths...)
}

var errLost = errors.New("lost by the test's ARI relay")

func (f *ariFaults) RoundTrip(r *http.Request) (*http.Response, error) {
	var lose *fault
	f.mu.Lock()
	for _, x := range f.faults {
		if r.Method == x.method && x.path.MatchString(r.URL.Path) {
			x.matched++
			x.paths = append(x.paths, r.URL.Path)
			if x.matched <= x.n {
				lose = x
			}
			break
		}
	}
	f.mu.Unlock()
	if lose == nil {
		return f.target.RoundTrip(r)
	}
	f.t.Logf("ari relay: losing the %s of %s %s", lose.how, r.Method, r.URL.Path)
	if lose.how == lostReply {
		if resp, err := f.target.RoundTrip(r); err == nil {
			resp.Body.Close()
		}
	}
	// Hold the request until hotline gives up on it.
	<-r.Context().Done()
	if lose.how == lateRequest {
		// What hotline did on giving up (a hang-up of the leg) reaches
		// the switch first.
		time.Sleep(500 * time.Millisecond)
		if resp, err := f.target.RoundTrip(r.Clone(context.WithoutCancel(r.Context()))); err == nil {
			resp.Body.Close()
		}
		f.t.Logf("ari relay: relayed %s %s too late", r.Method, r.URL.Path)
	}
	return nil, errLost
}

// An answer that Asterisk never confirms is asked for again: the caller
// is answered and the call goes on to an agent as usual. (Given up at
// once, the caller would hear nothing and be hung up.)
func TestUnconfirmedAnswerIsAskedAgain(t *testing.T) {
	faults := newARIFaults(t)
	answers := faults.lose(lostRequest, "POST", `^/ari/channels/[^/]+/answer$`, 1)
	o := fast
	o.ariURL, o.commandTimeout = faults.url(), time.Second
	e := start(t, o)
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "1000"})
	e.ready("1001")
	r := e.call([]string{"13800000061", "0", "2000", "", "0", "", "0", "12000"})
	if r.Failed != 0 || r.Events["near-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	e.answeredCall("13800000061", "1001", 5)
	if got := faults.seen(answers); len(got) != 2 || got[0] != got[1] {
		t.Fatalf("answers sent %v, want the caller's twice", got)
	}
}

// A hang-up that Asterisk never confirms is asked for again: when the
// agent ends the call, the caller is hung up (not left in silence).
func TestUnconfirmedHangupIsAskedAgain(t *testing.T) {
	faults := newARIFaults(t)
	// The caller's channel; agents' legs are named <caller's>-aN.
	callerHangups := faults.lose(lostRequest, "DELETE", `^/ari/channels/[^/-]+$`, 1)
	o := fast
	o.ariURL, o.commandTimeout = faults.url(), time.Second
	e := start(t, o)
	e.phone(1, "agent-uas-hangup.xml", map[string]string{"ring_ms": "500", "hangup_ms": "3000"})
	e.ready("1001")
	// 0 for an agent, then wait for the system's BYE.
	r := e.call([]string{"13800000062", "0", "1500", "", "0", "", "0", "0"})
	if r.Failed != 0 || r.Events["far-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000062")
	if c.Disposition.String != store.DispAnswered || c.HangupBy.String != "agent" || c.AgentID.String != "1001" {
		t.Fatalf("contact %+v, want answered by 1001, ended by the agent", c)
	}
	if got := faults.seen(callerHangups); len(got) != 2 || got[0] != got[1] {
		t.Fatalf("hang-ups of the caller sent %v, want two", got)
	}
	e.waitAgent("1001", "READY")
}

// Agent legs the switch does not confirm in time: the first agent's
// phone is dialled but the reply is lost while the phone answers; the
// second's dial reaches the switch only after hotline has given up on it,
// and that phone answers too. Both agents are set NOT_READY
// (unreachable), both legs are hung up instead of holding a phone in
// silence (the second as a leg without a call), and the third agent
// takes the call.
func TestUnconfirmedAgentLegsAreHungUp(t *testing.T) {
	faults := newARIFaults(t)
	lostReplies := faults.lose(lostReply, "POST", `^/ari/channels/[^/]+-a1$`, 1)
	lateDials := faults.lose(lateRequest, "POST", `^/ari/channels/[^/]+-a2$`, 1)
	o := fast
	o.ariURL, o.commandTimeout = faults.url(), time.Second
	e := start(t, o)
	first := e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "200"})
	second := e.phone(2, "agent-uas.xml", map[string]string{"ring_ms": "200"})
	e.phone(3, "agent-uas.xml", map[string]string{"ring_ms": "1000"})
	e.ready("1001", "1002", "1003") // offered in this order
	r := e.call([]string{"13800000063", "0", "1500", "", "0", "", "0", "16000"})
	if r.Failed != 0 || r.Events["near-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000063")
	if c.Disposition.String != store.DispAnswered || c.AgentID.String != "1003" {
		t.Fatalf("contact %+v, want answered by 1003", c)
	}
	if a, b := faults.seen(lostReplies), faults.seen(lateDials); len(a) != 1 || len(b) != 1 {
		t.Fatalf("legs dialled %v and %v, want one each", a, b)
	}
	for n, p := range map[string]*sipp.Process{"1001": first, "1002": second} {
		if s, reason := e.agentState(n); s != "NOT_READY" || reason != "unreachable" {
			t.Errorf("agent %s is %s (%q), want NOT_READY (unreachable)", n, s, reason)
		}
		res, _ := p.Stop(2 * time.Second)
		if res.Events["answered"] != 1 || res.Events["far-bye"] != 1 {
			t.Errorf("agent %s's phone: %s, want it answered and then hung up by the switch", n, res.Summary())
		}
	}
}

// A customer-first callback's customer holds for an agent; the agent
// reserved does not answer, and another frees up just as
// callback.hold_max strikes. The offer goes first: the customer is put
// through, not told they will be called again (and dialled a second
// time). The relay makes the moment exact: the hang-up of the first
// agent's phone after its ring timeout (3 s) is lost, so the call is
// busy until the retry (3 s on), and the hold limit (4.5 s) strikes in
// between; the second agent's offer comes when the first is released.
func TestCallbackHoldLimitYieldsToAnAgentFreeingUp(t *testing.T) {
	faults := newARIFaults(t)
	legHangups := faults.lose(lostRequest, "DELETE", `^/ari/channels/cb[^/]+-a1$`, 1)
	o := acdOpts(2, func(c *config.Config) {
		c.Queues[0].RingTimeout = 3 * time.Second
		c.Queues[0].Callback = config.QueueCallback{Attempts: 3, Interval: time.Minute, DialTimeout: time.Minute,
			Dial: "PJSIP/{number}@pstn", HoldMax: 4500 * time.Millisecond}
	})
	o.ariURL, o.commandTimeout = faults.url(), 3*time.Second
	e := start(t, o)
	const number = "13800000064"
	customer := e.customerPhone(map[string]string{"ring_ms": "300", "hangup_ms": "25000"})
	e.phone(1, "agent-uas-noanswer.xml", nil)
	e.phone(2, "agent-uas.xml", map[string]string{"ring_ms": "500"})
	e.ready("1001", "1002") // 1001 idle longest: reserved for the callback
	st, err := e.client.RequestCallback(e.ctx, api.CallbackRequest{Queue: "general", Number: number, Mode: "customer-first"})
	if err != nil {
		t.Fatal(err)
	}
	done := e.callbackRow(st.ID, "completed", "failed", "cancelled", "scheduled")
	if done.Status != "completed" || done.Outcome != "answered" || done.Agent.String != "1002" {
		t.Fatalf("callback %+v, want completed (answered) by 1002", done)
	}
	cb := e.callbackContact(number, st.ID)
	if cb.Disposition.String != store.DispAnswered || cb.AgentID.String != "1002" {
		t.Fatalf("callback contact %+v, want answered by 1002", cb)
	}
	// The limit had struck: the customer held longer than hold_max
	// before the second agent answered.
	if held := cb.AnsweredAt.Time.Sub(cb.QueuedAt.Time); held < 4500*time.Millisecond {
		t.Fatalf("agent answered %s after the customer began to hold: before hold_max, the race was not run", held)
	}
	if got := faults.seen(legHangups); len(got) != 2 {
		t.Fatalf("hang-ups of the first agent's leg %v, want the lost one and its retry", got)
	}
	if tr := e.trail(cb.ID); has(tr, "callback/prompt/sound:hotline/callback-again") {
		t.Fatalf("the customer was told they would be called again:\n%v", tr)
	}
	if s, reason := e.agentState("1001"); s != "NOT_READY" || reason != "no answer" {
		t.Errorf("agent 1001 is %s (%q), want NOT_READY (no answer)", s, reason)
	}
	res, _ := customer.Stop(2 * time.Second)
	if res.Events["answered"] != 1 || res.Events["near-bye"] != 1 {
		t.Fatalf("customer's phone: %s, want one call, answered, that the customer ended", res.Summary())
	}
}
