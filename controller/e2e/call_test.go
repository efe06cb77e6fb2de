package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/internal/sipp"
	"github.com/hotline-cc/hotline/controller/store"
)

// Fast timers for the tests; the operator defaults are unit-tested on a
// fake clock in controller/ivr and controller/acd.
var fast = options{agents: 3, ringTimeout: 4 * time.Second, wrapUp: time.Second, noInput: 3 * time.Second}

func TestSelfServiceBillIsContained(t *testing.T) {
	e := start(t, fast)
	r := e.call([]string{"13800000001", "1", "2500", "", "0", "", "0", "0"})
	if r.Failed != 0 || r.Events["far-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000001")
	if c.Disposition.String != store.DispContained || c.HangupBy.String != "system" || c.QueuedAt.Valid || c.AgentID.Valid {
		t.Fatalf("contact %+v, want contained, released by the system, never queued", c)
	}
	trail := e.trail(c.ID)
	for _, want := range []string{"main_menu/key/1", "main_menu/choice/1 → bill", "bill/lookup/current_bill: found",
		"read_bill/prompt/sound:hotline/bill-is number:123 sound:hotline/yuan number:45 sound:hotline/cents"} {
		if !has(trail, want) {
			t.Errorf("trail lacks %q:\n%s", want, strings.Join(trail, "\n"))
		}
	}
}

func TestAgentCallIsBridgedRecordedAndLogged(t *testing.T) {
	e := start(t, fast)
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "1000"})
	e.ready("1001")
	// Presses 0 two seconds in, then stays 12 s (about 8 s with the agent).
	r := e.call([]string{"13800000002", "0", "2000", "", "0", "", "0", "12000"})
	if r.Failed != 0 || r.Events["near-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.answeredCall("13800000002", "1001", 5)
	// The agent's screen gets the IVR trail. An agent was free: the
	// caller was not told that all agents are busy (nor kept hearing it
	// while the agent answered).
	if trail := e.trail(c.ID); !has(trail, "main_menu/choice/agent (zero-out)") || !has(trail, "greeting/prompt/sound:hotline/welcome") || has(trail, "queue/prompt/sound:hotline/please-hold") {
		t.Fatalf("trail: %v", trail)
	}
}

func TestRingTimeoutGoesToTheNextAgent(t *testing.T) {
	e := start(t, fast)
	e.phone(1, "agent-uas-noanswer.xml", nil)
	e.phone(2, "agent-uas.xml", map[string]string{"ring_ms": "500"})
	e.ready("1001", "1002") // 1001 idle longest: offered first
	r := e.call([]string{"13800000003", "0", "1500", "", "0", "", "0", "14000"})
	if r.Failed != 0 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000003")
	if c.Disposition.String != store.DispAnswered || c.AgentID.String != "1002" {
		t.Fatalf("contact %+v, want answered by 1002", c)
	}
	if wait := c.AnsweredAt.Time.Sub(c.OfferedAt.Time); wait < fast.ringTimeout {
		t.Errorf("answered %s after the first offer; 1001 should have rung %s first", wait, fast.ringTimeout)
	}
	if s, reason := e.agentState("1001"); s != "NOT_READY" || reason != "no answer" {
		t.Fatalf("agent 1001 is %s (%q), want NOT_READY (no answer)", s, reason)
	}
	// The phone rang (its 180 is RINGING) before it was given up.
	if got, want := e.states("1001"), "NOT_READY,READY,RESERVED,RINGING,NOT_READY"; got != want {
		t.Errorf("agent 1001 went %s, want %s", got, want)
	}
}

func TestNoInputReleasesTheCall(t *testing.T) {
	e := start(t, fast)
	begin := time.Now()
	r := e.call([]string{"13800000004", "", "0", "", "0", "", "0", "0"})
	if r.Failed != 0 || r.Events["far-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000004")
	if c.Disposition.String != store.DispReleasedNoInput || c.HangupBy.String != "system" {
		t.Fatalf("contact %+v, want released_no_input by the system", c)
	}
	if took := time.Since(begin); took < fast.noInput {
		t.Fatalf("released after %s, before the no-input time %s", took, fast.noInput)
	}
	if trail := e.trail(c.ID); !has(trail, "main_menu/timeout/no key for 3s") || !has(trail, "goodbye/prompt/sound:hotline/goodbye") {
		t.Fatalf("trail: %v", trail)
	}
}

func TestThreeInvalidKeysAndZeroOutReachAnAgent(t *testing.T) {
	e := start(t, fast)
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "300"})
	e.phone(2, "agent-uas.xml", map[string]string{"ring_ms": "300"})
	e.ready("1001", "1002")
	p := e.callAsync(
		[]string{"13800000006", "9", "3000", "8", "2500", "7", "2500", "12000"}, // invalid ×3
		[]string{"13800000007", "0", "800", "", "0", "", "0", "8000"},           // 0 during the greeting
	)
	r, err := p.Wait()
	if err != nil || r.Failed != 0 {
		t.Fatalf("callers: %v %s\n%s", err, r.Summary(), r.Errors())
	}
	inv := e.contact("13800000006")
	if inv.Disposition.String != store.DispAnswered {
		t.Fatalf("invalid-keys caller: %+v", inv)
	}
	trail := e.trail(inv.ID)
	for _, want := range []string{"main_menu/invalid/key 9 (1 of 3)", "main_menu/invalid/key 8 (2 of 3)", "main_menu/invalid/key 7 (3 of 3)", "main_menu/choice/agent after invalid keys"} {
		if !has(trail, want) {
			t.Errorf("trail lacks %q: %v", want, trail)
		}
	}
	zero := e.contact("13800000007")
	if zero.Disposition.String != store.DispAnswered {
		t.Fatalf("zero-out caller: %+v", zero)
	}
	if trail := e.trail(zero.ID); !has(trail, "greeting/key/0") || has(trail, "main_menu/prompt/sound:hotline/main-options") {
		t.Fatalf("zero-out during the greeting should skip the menu: %v", trail)
	}
}

func TestCallerHangsUpWhileQueued(t *testing.T) {
	e := start(t, fast) // no agent is logged in
	r := e.call([]string{"13800000005", "0", "1500", "", "0", "", "0", "9000"})
	if r.Failed != 0 || r.Events["near-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000005")
	if c.Disposition.String != store.DispAbandonedQueue || !c.QueuedAt.Valid || c.AnsweredAt.Valid {
		t.Fatalf("contact %+v, want abandoned in queue", c)
	}
}

func TestVIPCallerGoesAheadInLine(t *testing.T) {
	e := start(t, fast)
	if _, err := e.db.ExecContext(e.ctx, `INSERT INTO customers (number, name, priority) VALUES ('13800000009', 'VIP', 2)`); err != nil {
		t.Fatal(err)
	}
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "300"})
	e.ready("1001")
	busy := e.callAsync([]string{"13800000008", "0", "500", "", "0", "", "0", "9000"}) // takes the only agent
	waitState(t, e, 1, store.ContactBridged)
	normal := e.callAsync([]string{"13800000010", "0", "500", "", "0", "", "0", "24000"})
	waitState(t, e, 1, store.ContactQueued)
	vip := e.callAsync([]string{"13800000009", "0", "500", "", "0", "", "0", "14000"})
	waitState(t, e, 2, store.ContactQueued)
	for _, p := range []*sipp.Process{busy, normal, vip} {
		if r, err := p.Wait(); err != nil || r.Failed != 0 {
			t.Fatalf("callers: %v %s\n%s", err, r.Summary(), r.Errors())
		}
	}
	n, v := e.contact("13800000010"), e.contact("13800000009")
	if !v.AnsweredAt.Valid || !n.AnsweredAt.Valid || !v.AnsweredAt.Time.Before(n.AnsweredAt.Time) {
		t.Fatalf("VIP answered %v, normal caller (queued earlier) %v: the VIP should go first", v.AnsweredAt, n.AnsweredAt)
	}
	if !n.QueuedAt.Time.Before(v.QueuedAt.Time) {
		t.Fatalf("the normal caller did not queue first: %s vs %s", n.QueuedAt.Time, v.QueuedAt.Time)
	}
}

// An agent changes state from the desk phone by dialling feature codes;
// the phone is a SIPp UAC registered as the agent's own endpoint.
func TestDeskPhoneFeatureCodes(t *testing.T) {
	e := start(t, fast)
	if err := e.client.SetPIN(e.ctx, "1002", "4321"); err != nil {
		t.Fatal(err)
	}
	// dial calls from agent 2's phone; keys are keyed 1 s and 4 s after
	// the answer (agent number, then PIN, each ended by #).
	dial := func(code, keys1, keys2 string) {
		t.Helper()
		p, err := sipp.Start(e.ctx, sipp.Options{Scenario: "caller-uac.xml", Target: "127.0.0.1:5060", Service: code,
			CSV: [][]string{{"agent2", keys1, "1000", keys2, "3000", "", "0", "0"}}, Calls: 1, Timeout: 40 * time.Second, TimeoutIsError: true,
			Vars: map[string]string{"from_user": "agent2"}})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := p.Wait(); err != nil || r.Failed != 0 || r.Events["far-bye"] != 1 {
			t.Fatalf("dialling %s: %v %s\n%s", code, err, r.Summary(), r.Errors())
		}
	}
	steps := []struct{ code, keys1, keys2, state, reason string }{
		{"*21", "1002#", "9999#", "LOGGED_OUT", ""}, // wrong PIN: refused
		{"*21", "1001#", "4321#", "LOGGED_OUT", ""}, // another agent's number from this phone: refused
		{"*21", "1002#", "4321#", "NOT_READY", "login"},
		{"*23", "", "", "READY", ""},
		{"*241", "", "", "NOT_READY", "meal"},
		{"*249", "", "", "NOT_READY", "meal"}, // unknown reason: refused, nothing changes
		{"*22", "", "", "LOGGED_OUT", ""},
	}
	for _, s := range steps {
		dial(s.code, s.keys1, s.keys2)
		if state, reason := e.agentState("1002"); state != s.state || reason != s.reason {
			t.Fatalf("after %s %s %s agent 1002 is %s (%q), want %s (%q)", s.code, s.keys1, s.keys2, state, reason, s.state, s.reason)
		}
	}
	// Nobody else's state moved.
	if state, _ := e.agentState("1001"); state != "LOGGED_OUT" {
		t.Fatalf("agent 1001 is %s", state)
	}
	// The PIN is in no log line of the contact log or the trail tables.
	var n int
	if err := e.db.GetContext(e.ctx, &n, `SELECT count(*) FROM contact_events WHERE data::text LIKE '%4321%'`); err != nil || n != 0 {
		t.Fatalf("PIN found in %d contact events (%v)", n, err)
	}
}
