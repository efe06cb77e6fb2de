package e2e

import (
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

	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/store"
)

// ariFaults is an HTTP relay between hotline and Asterisk's ARI that can
// lose chosen commands the way a switch under load does: the request is
// never carried out (it waits in Asterisk's queue past hotline's
// timeout), or it is carried out and its reply comes too late. Everything
// else, the event WebSocket included, is relayed untouched to the real
// Asterisk.
type ariFaults struct {
	t      *testing.T
	srv    *httptest.Server
	target http.RoundTripper

	mu     sync.Mutex
	faults []*fault
}

// fault loses the first n requests matching method and path (below /ari).
type fault struct {
	method      string
	path        *regexp.Regexp
	n           int
	loseRequest bool // true: not relayed; false: relayed, reply withheld

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

// loseRequests makes the first n requests method path never reach Asterisk.
func (f *ariFaults) loseRequests(method, path string, n int) *fault {
	return f.add(&fault{method: method, path: regexp.MustCompile(path), n: n, loseRequest: true})
}

// loseReplies relays the first n requests method path to Asterisk, which
// carries them out, and withholds their replies.
func (f *ariFaults) loseReplies(method, path string, n int) *fault {
	return f.add(&fault{method: method, path: regexp.MustCompile(path), n: n})
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
	if !lose.loseRequest {
		resp, err := f.target.RoundTrip(r)
		if err == nil {
			resp.Body.Close()
		}
	}
	f.t.Logf("ari relay: lost the %s of %s %s", map[bool]string{true: "request", false: "reply"}[lose.loseRequest], r.Method, r.URL.Path)
	// Hold the request until hotline gives up on it.
	<-r.Context().Done()
	return nil, errLost
}

// An answer that Asterisk never confirms is asked for again: the caller
// is answered and the call goes on to an agent as usual. (Given up at
// once, the caller would hear nothing and be hung up.)
func TestUnconfirmedAnswerIsAskedAgain(t *testing.T) {
	faults := newARIFaults(t)
	answers := faults.loseRequests("POST", `^/ari/channels/[^/]+/answer$`, 1)
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
	callerHangups := faults.loseRequests("DELETE", `^/ari/channels/[^/-]+$`, 1)
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

// An originate whose reply is lost while the agent's phone answers: the
// call takes the next agent, the first is set NOT_READY (unreachable),
// and the leg that did come up is hung up instead of holding the agent's
// phone in silence.
func TestLostOriginateReplyLeavesNoLegUp(t *testing.T) {
	faults := newARIFaults(t)
	originates := faults.loseReplies("POST", `^/ari/channels/[^/]+-a1$`, 1)
	o := fast
	o.ariURL, o.commandTimeout = faults.url(), time.Second
	e := start(t, o)
	first := e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "200"})
	e.phone(2, "agent-uas.xml", map[string]string{"ring_ms": "1000"})
	e.ready("1001", "1002") // 1001 idle longest: offered first
	r := e.call([]string{"13800000063", "0", "1500", "", "0", "", "0", "14000"})
	if r.Failed != 0 || r.Events["near-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000063")
	if c.Disposition.String != store.DispAnswered || c.AgentID.String != "1002" {
		t.Fatalf("contact %+v, want answered by 1002", c)
	}
	if got := faults.seen(originates); len(got) != 1 {
		t.Fatalf("first legs originated %v, want one", got)
	}
	if s, reason := e.agentState("1001"); s != "NOT_READY" || reason != "unreachable" {
		t.Fatalf("agent 1001 is %s (%q), want NOT_READY (unreachable)", s, reason)
	}
	res, _ := first.Stop(2 * time.Second)
	if res.Events["answered"] != 1 || res.Events["far-bye"] != 1 {
		t.Fatalf("agent 1001's phone: %s, want it answered and then hung up by the switch", res.Summary())
	}
}
