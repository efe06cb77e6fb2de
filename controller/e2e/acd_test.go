package e2e

import (
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/internal/sipp"
	"github.com/hotline-cc/hotline/controller/recording"
	"github.com/hotline-cc/hotline/controller/store"
)

// What a caller experiences in line: skills, overflow, announcements,
// max_wait (callback, voicemail) and callbacks dialled back through the
// sandbox's outbound trunk (PJSIP/<number>@pstn reaches a SIPp UAS on
// 127.0.0.1:5099, the customer's phone). Service 10000 runs no IVR flow
// here: callers go straight to the queue.

// acdOpts is fast with a configuration edit on top.
func acdOpts(agents int, edit func(*config.Config)) options {
	o := fast
	o.agents = agents
	o.edit = func(c *config.Config) {
		c.Services[0].Flow = config.FlowNone
		edit(c)
	}
	return o
}

// customerPhone starts the customer's phone behind the outbound trunk:
// it answers after ring_ms and hangs up hangup_ms after answering.
func (e *env) customerPhone(vars map[string]string) *sipp.Process {
	e.t.Helper()
	p, err := sipp.Start(e.ctx, sipp.Options{Scenario: "agent-uas-hangup.xml", LocalPort: 5099, Vars: vars, Timeout: 3 * time.Minute})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _, _ = p.Stop(2 * time.Second) })
	return p
}

// callbackRow waits until callback id has one of the statuses.
func (e *env) callbackRow(id int64, statuses ...string) store.CallbackRow {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := e.st.Callback(e.ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if slices.Contains(statuses, r.Status) {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("callback %d is %s (outcome %q, attempts %d), want %v", id, r.Status, r.Outcome, r.Attempts, statuses)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// callbackContact waits for the contact of a callback dial to the number
// (its channel is the customer leg, cb<id>-...) to end.
func (e *env) callbackContact(number string, id int64) store.Contact {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var cs []store.Contact
		if err := e.db.SelectContext(e.ctx, &cs, `SELECT * FROM contacts WHERE caller = $1 AND channel_id LIKE $2 ORDER BY id`,
			number, "cb"+strconv.FormatInt(id, 10)+"-%"); err != nil {
			e.t.Fatal(err)
		}
		if len(cs) > 0 && cs[len(cs)-1].EndedAt.Valid {
			return cs[len(cs)-1]
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no ended contact for callback %d to %s (rows: %+v)", id, number, cs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// recorded checks the contact has one recording that passed hotline's
// check and holds at least minSeconds.
func (e *env) recorded(c store.Contact, minSeconds float64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := e.st.RecordingsOf(e.ctx, c.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].OK != nil {
			if !*recs[0].OK {
				e.t.Fatalf("recording %+v failed its check", recs[0])
			}
			w, err := recording.ReadWAV(recs[0].Path)
			if err != nil {
				e.t.Fatal(err)
			}
			if w.Seconds < minSeconds {
				e.t.Fatalf("recording holds %.2f s, want at least %.2f", w.Seconds, minSeconds)
			}
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("recordings of contact %d: %+v, want one checked", c.ID, recs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) eventKinds(contact int64) []string {
	e.t.Helper()
	var kinds []string
	if err := e.db.SelectContext(e.ctx, &kinds, `SELECT kind FROM contact_events WHERE contact_id = $1 ORDER BY id`, contact); err != nil {
		e.t.Fatal(err)
	}
	return kinds
}

// The queue requires billing 5: the agent idle longest lacks it, so the
// call goes to the skilled agent, and the other is never reserved.
func TestSkillsRouteToTheSkilledAgent(t *testing.T) {
	e := start(t, acdOpts(2, func(c *config.Config) {
		c.Queues[0].Skills = map[string]int{"billing": 5}
		c.Agents[0].Skills = map[string]int{"general": 9}
		c.Agents[1].Skills = map[string]int{"billing": 6}
	}))
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "300"})
	e.phone(2, "agent-uas.xml", map[string]string{"ring_ms": "300"})
	e.ready("1001", "1002") // 1001 idle longest
	r := e.call([]string{"13800000021", "", "0", "", "0", "", "0", "7000"})
	if r.Failed != 0 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000021")
	if c.Disposition.String != store.DispAnswered || c.AgentID.String != "1002" {
		t.Fatalf("contact %+v, want answered by 1002 (the agent with billing)", c)
	}
	if got := e.states("1001"); got != "NOT_READY,READY" {
		t.Fatalf("agent 1001 (no billing) went %s, want only NOT_READY,READY", got)
	}
}

// Queue general overflows to queue second after 3 s; only an agent of
// second is READY, so it answers, after the 3 s, and the contact is
// moved to second.
func TestOverflowMovesTheCallToAnotherQueue(t *testing.T) {
	e := start(t, acdOpts(2, func(c *config.Config) {
		c.Queues[0].Overflow = []config.Overflow{{After: 3 * time.Second, ToQueue: "second"}}
		c.Queues = append(c.Queues, config.Queue{ID: "second", Name: "Second line", Strategy: "longest-idle",
			RingTimeout: fast.ringTimeout, WrapUp: fast.wrapUp})
		c.Agents[1].Queues = []string{"second"}
	}))
	e.phone(2, "agent-uas.xml", map[string]string{"ring_ms": "300"})
	e.ready("1002")
	r := e.call([]string{"13800000022", "", "0", "", "0", "", "0", "10000"})
	if r.Failed != 0 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000022")
	if c.Disposition.String != store.DispAnswered || c.AgentID.String != "1002" || c.QueueID.String != "second" {
		t.Fatalf("contact %+v, want answered by 1002 in queue second", c)
	}
	if waited := c.OfferedAt.Time.Sub(c.QueuedAt.Time); waited < 3*time.Second || waited > 6*time.Second {
		t.Fatalf("offered %s after queueing, want just after the 3 s overflow", waited)
	}
	if kinds := e.eventKinds(c.ID); !slices.Contains(kinds, "overflow") {
		t.Fatalf("contact log %v has no overflow", kinds)
	}
	var to string
	if err := e.db.GetContext(e.ctx, &to, `SELECT data->>'to_queue' FROM contact_events WHERE contact_id = $1 AND kind = 'overflow'`, c.ID); err != nil || to != "second" {
		t.Fatalf("overflow event to_queue %q (%v), want second", to, err)
	}
}

// While one agent is busy, two callers wait; every 5 s each hears their
// position and the wait the live ACD expects: one agent on duty and a
// handle time of 3 min (the default, nothing handled yet) make 3 min
// for the first and 6 min for the second.
func TestPositionAndExpectedWaitAreAnnounced(t *testing.T) {
	e := start(t, acdOpts(1, func(c *config.Config) {
		c.Queues[0].AnnounceEvery = 5 * time.Second
	}))
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "300"})
	e.ready("1001")
	busy := e.callAsync([]string{"13800000023", "", "0", "", "0", "", "0", "22000"})
	waitState(t, e, 1, store.ContactBridged)
	waiting := e.callAsync(
		[]string{"13800000024", "", "0", "", "0", "", "0", "12000"},
		[]string{"13800000025", "", "0", "", "0", "", "0", "12000"},
	)
	// The live queue view (GET /v1/queues) while they wait: two in line,
	// the agent on the first call, and a newcomer would be told more
	// than the second in line (about 9 min behind one agent).
	for deadline := time.Now().Add(10 * time.Second); ; {
		qs, err := e.client.Queues(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) == 1 && qs[0].Waiting == 2 {
			q := qs[0]
			if q.ID != "general" || q.Callbacks != 0 || q.Agents["ON_CALL"] != 1 || len(q.Agents) != 1 ||
				q.EWTSeconds == nil || *q.EWTSeconds < 6*60 || q.LongestWaitSeconds > 10 {
				t.Fatalf("queue %+v (EWT %v): want general with the agent ON_CALL and a newcomer told over 6 min", q, q.EWTSeconds)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queues %+v: want general with two waiting", qs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, p := range []*sipp.Process{busy, waiting} {
		if r, err := p.Wait(); err != nil || r.Failed != 0 {
			t.Fatalf("callers: %v %s\n%s", err, r.Summary(), r.Errors())
		}
	}
	first, second := e.contact("13800000024"), e.contact("13800000025")
	if first.Disposition.String != store.DispAbandonedQueue || second.Disposition.String != store.DispAbandonedQueue {
		t.Fatalf("waiting callers %+v, %+v: want both to leave the line", first, second)
	}
	if trail := e.trail(first.ID); !has(trail, "queue/announce/position 1, about 3 min") {
		t.Errorf("first in line did not hear its position and wait:\n%s", strings.Join(trail, "\n"))
	}
	if trail := e.trail(second.ID); !has(trail, "queue/announce/position 2, about 6 min") {
		t.Errorf("second in line did not hear its position and wait:\n%s", strings.Join(trail, "\n"))
	}
	if trail := e.trail(e.contact("13800000023").ID); slices.ContainsFunc(trail, func(s string) bool { return strings.HasPrefix(s, "queue/announce/") }) {
		t.Errorf("the caller answered at once heard an announcement: %v", trail)
	}
	// Today's calls of the queue, from Postgres: three offered, the first
	// answered within the 20 s threshold, two abandoned in line.
	qs, err := e.client.Queues(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := qs[0].Today; d.Offered != 3 || d.Answered != 1 || d.AnsweredWithin != 1 || d.Abandoned != 2 ||
		d.ServiceLevelWithinSeconds != 20 || d.ServiceLevel == nil || math.Abs(*d.ServiceLevel-1.0/3) > 1e-9 {
		t.Errorf("today %+v: want 3 offered, 1 answered in time, 2 abandoned: service level 1/3 in 20 s", d)
	}
}

// maxWaitCallback is a queue that offers a callback after 4 s in line
// and dials customers through the sandbox's trunk.
func maxWaitCallback(c *config.Config) {
	c.Queues[0].MaxWait = &config.MaxWait{After: 4 * time.Second, Action: "callback", Prompt: "sound:hotline/queue-long-wait"}
	c.Queues[0].Callback = config.QueueCallback{Attempts: 2, Interval: 5 * time.Second, DialTimeout: time.Minute, Dial: "PJSIP/{number}@pstn"}
}

// After max_wait the caller presses 1 for a callback and 1 to confirm the
// number read back, and is released. The callback keeps the caller's
// place; when an agent is READY hotline calls the customer, then the
// agent, and records the conversation on a contact of its own.
func TestMaxWaitCallbackKeepsPlaceAndCompletes(t *testing.T) {
	e := start(t, acdOpts(1, maxWaitCallback))
	const number = "13800000026"
	// Nobody is READY. 1 during the offer (about 9.8 s in), 1 during the
	// read-back (about 17.8 s in), then wait for hotline to hang up.
	r := e.call([]string{number, "1", "9000", "1", "8000", "", "0", "0"})
	if r.Failed != 0 || r.Events["far-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	orig := e.contact(number)
	if orig.Disposition.String != store.DispCallbackRequested || orig.HangupBy.String != "system" {
		t.Fatalf("contact %+v, want callback_requested, released by the system", orig)
	}
	trail := e.trail(orig.ID)
	for _, want := range []string{"queue/max_wait/callback after 4s", "callback/key/1"} {
		if !has(trail, want) {
			t.Errorf("trail lacks %q:\n%s", want, strings.Join(trail, "\n"))
		}
	}
	var id int64
	if err := e.db.GetContext(e.ctx, &id, `SELECT id FROM callbacks WHERE contact_id = $1`, orig.ID); err != nil {
		t.Fatalf("no callback for contact %d: %v", orig.ID, err)
	}
	row := e.callbackRow(id, "pending")
	if row.Source != store.CallbackSourcePhone || row.Number != number || row.Queue != "general" || !row.PlaceAt.Equal(orig.QueuedAt.Time) {
		t.Fatalf("callback %+v, want a phone callback to %s in general at the caller's place %s", row, number, orig.QueuedAt.Time)
	}

	// The customer hears the introduction (about 7 s) while the agent is
	// rung, then talks about 5 s and hangs up.
	customer := e.customerPhone(map[string]string{"ring_ms": "500", "hangup_ms": "14000"})
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "1000"})
	e.ready("1001")
	done := e.callbackRow(id, "completed", "failed", "cancelled")
	if done.Status != "completed" || done.Outcome != "answered" || done.Agent.String != "1001" || done.Attempts != 0 {
		t.Fatalf("callback %+v, want completed (answered) by 1001 at the first attempt", done)
	}
	cb := e.callbackContact(number, id)
	if cb.Disposition.String != store.DispAnswered || cb.AgentID.String != "1001" || cb.HangupBy.String != "caller" || cb.ServiceNumber != "10000" {
		t.Fatalf("callback contact %+v, want answered by 1001 for service 10000, ended by the customer", cb)
	}
	e.recorded(cb, 4)
	kinds := strings.Join(e.eventKinds(cb.ID), ",")
	if !strings.Contains(kinds, "customer_answered") || strings.Index(kinds, "customer_answered") > strings.Index(kinds, "offered") {
		t.Fatalf("callback contact log %s: the customer must answer before the agent is offered", kinds)
	}
	e.waitAgent("1001", "READY")
	if got := e.states("1001"); got != "NOT_READY,READY,RESERVED,RINGING,ON_CALL,AFTER_CALL_WORK,READY" {
		t.Fatalf("agent 1001 went %s", got)
	}
	res, _ := customer.Stop(2 * time.Second)
	if res.Events["answered"] != 1 || res.Events["near-bye"] != 1 {
		t.Fatalf("customer's phone: %s, want one answered call that it ended", res.Summary())
	}
}

// A callback asked for on the web, agent first: the agent rings and
// answers, then the customer is called and the two talk.
func TestWebCallbackAgentFirstCompletes(t *testing.T) {
	e := start(t, acdOpts(1, func(c *config.Config) {
		c.Queues[0].Callback = config.QueueCallback{Attempts: 2, Interval: 5 * time.Second, DialTimeout: time.Minute, Dial: "PJSIP/{number}@pstn"}
	}))
	const number = "13800000027"
	customer := e.customerPhone(map[string]string{"ring_ms": "500", "hangup_ms": "5000"})
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "1000"})
	e.ready("1001")
	st, err := e.client.RequestCallback(e.ctx, api.CallbackRequest{Queue: "general", Number: number, Mode: "agent-first"})
	if err != nil {
		t.Fatal(err)
	}
	done := e.callbackRow(st.ID, "completed", "failed", "cancelled")
	if done.Status != "completed" || done.Outcome != "answered" || done.Agent.String != "1001" || done.Source != store.CallbackSourceWeb {
		t.Fatalf("callback %+v, want a web callback completed by 1001", done)
	}
	cb := e.callbackContact(number, st.ID)
	if cb.Disposition.String != store.DispAnswered || cb.AgentID.String != "1001" || cb.HangupBy.String != "caller" {
		t.Fatalf("callback contact %+v, want answered by 1001, ended by the customer", cb)
	}
	e.recorded(cb, 3)
	kinds := strings.Join(e.eventKinds(cb.ID), ",")
	if i, j := strings.Index(kinds, "agent_ringing"), strings.Index(kinds, "customer_ringing"); i < 0 || j < 0 || i > j {
		t.Fatalf("callback contact log %s: agent first means the agent rings before the customer", kinds)
	}
	if got, err := e.client.Callback(e.ctx, st.ID); err != nil || got.Status != "completed" {
		t.Fatalf("GET callback: %+v, %v", got, err)
	}
	res, _ := customer.Stop(2 * time.Second)
	if res.Events["answered"] != 1 || res.Events["near-bye"] != 1 {
		t.Fatalf("customer's phone: %s, want one answered call that it ended", res.Summary())
	}
}

// After max_wait with voicemail the caller leaves a message (ended by #);
// the file is recorded and the contact references it.
func TestMaxWaitVoicemailRecordsAMessage(t *testing.T) {
	e := start(t, acdOpts(1, func(c *config.Config) {
		c.Queues[0].MaxWait = &config.MaxWait{After: 3 * time.Second, Action: "voicemail", Prompt: "sound:hotline/queue-long-wait"}
	}))
	const number = "13800000028"
	// The beep comes about 14 s in; # about 20.8 s in.
	r := e.call([]string{number, "#", "20000", "", "0", "", "0", "0"})
	if r.Failed != 0 || r.Events["far-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact(number)
	if c.Disposition.String != store.DispVoicemail || c.HangupBy.String != "system" || !c.Voicemail.Valid {
		t.Fatalf("contact %+v, want voicemail, released by the system, with the message referenced", c)
	}
	if _, err := os.Stat(c.Voicemail.String); err != nil {
		t.Fatalf("voice message %s: %v", c.Voicemail.String, err)
	}
	w, err := recording.ReadWAV(c.Voicemail.String)
	if err != nil {
		t.Fatal(err)
	}
	if w.Seconds < 2 || w.Seconds > 12 {
		t.Fatalf("voice message holds %.2f s, want the few seconds before #", w.Seconds)
	}
	if trail := e.trail(c.ID); !has(trail, "queue/max_wait/voicemail after 3s") {
		t.Fatalf("trail: %v", trail)
	}
}

// With max_wait release and nobody READY, after 3 s in line the caller
// leaves the line, hears the queue's closing announcement (queue-released
// when the queue sets no prompt) to its end, and hotline hangs up:
// released_max_wait, by the system, never offered to an agent.
func TestMaxWaitReleaseAnnouncesAndHangsUp(t *testing.T) {
	e := start(t, acdOpts(1, func(c *config.Config) {
		c.Queues[0].MaxWait = &config.MaxWait{After: 3 * time.Second, Action: "release"}
	}))
	const number = "13800000029"
	r := e.call([]string{number, "", "0", "", "0", "", "0", "0"})
	if r.Failed != 0 || r.Events["far-bye"] != 1 || r.Events["near-bye"] != 0 {
		t.Fatalf("caller: %s, want the call ended by hotline\n%s", r.Summary(), r.Errors())
	}
	c := e.contact(number)
	if c.Disposition.String != store.DispReleasedMaxWait || c.HangupBy.String != "system" || !c.QueuedAt.Valid || c.OfferedAt.Valid || c.AgentID.Valid {
		t.Fatalf("contact %+v, want released_max_wait by the system, queued, never offered", c)
	}
	if waited := c.EndedAt.Time.Sub(c.QueuedAt.Time); waited < 3*time.Second {
		t.Fatalf("released %s after queueing, before the 3 s max_wait", waited)
	}
	trail := e.trail(c.ID)
	for _, want := range []string{"queue/max_wait/release after 3s", "max_wait/prompt/sound:hotline/queue-released"} {
		if !has(trail, want) {
			t.Errorf("trail lacks %q:\n%s", want, strings.Join(trail, "\n"))
		}
	}
	// The announcement played to its end before the hang-up.
	heard := e.promptSeconds("queue-released")
	for _, s := range e.trailSteps(c.ID) {
		if s.Node == "max_wait" && s.Kind == "prompt" {
			if played := c.EndedAt.Time.Sub(s.At).Seconds(); played < heard-0.3 {
				t.Fatalf("hung up %.2f s into the %.2f s announcement", played, heard)
			}
		}
	}
	var action string
	if err := e.db.GetContext(e.ctx, &action, `SELECT data->>'action' FROM contact_events WHERE contact_id = $1 AND kind = 'max_wait'`, c.ID); err != nil || action != "release" {
		t.Fatalf("max_wait event action %q (%v), want release", action, err)
	}
}

// busyCustomerPhone starts the customer's phone behind the outbound
// trunk, busy (486) for the first busy_calls calls, then answering after
// ring_ms and hanging up hangup_ms after answering.
func (e *env) busyCustomerPhone(vars map[string]string) *sipp.Process {
	e.t.Helper()
	p, err := sipp.Start(e.ctx, sipp.Options{Scenario: "customer-uas-busy.xml", LocalPort: 5099, Vars: vars, Timeout: 3 * time.Minute})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _, _ = p.Stop(2 * time.Second) })
	return p
}

// A callback dialled customer-first finds the customer's phone busy
// (486): the attempt is recorded with outcome busy on a contact of its
// own, the agent reserved for it is READY again without ringing, and
// after the queue's 5 s interval the callback is dialled again; this
// time the customer answers and talks to the agent.
func TestCallbackRetriesAfterBusyAndCompletes(t *testing.T) {
	const interval = 5 * time.Second
	e := start(t, acdOpts(1, func(c *config.Config) {
		c.Queues[0].Callback = config.QueueCallback{Attempts: 3, Interval: interval, DialTimeout: time.Minute, Dial: "PJSIP/{number}@pstn"}
	}))
	const number = "13800000030"
	// Busy once; then the customer hears the introduction (about 7 s)
	// while the agent is rung, talks about 5 s and hangs up.
	customer := e.busyCustomerPhone(map[string]string{"busy_calls": "1", "ring_ms": "500", "hangup_ms": "14000"})
	e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "1000"})
	e.ready("1001")
	st, err := e.client.RequestCallback(e.ctx, api.CallbackRequest{Queue: "general", Number: number, Mode: "customer-first"})
	if err != nil {
		t.Fatal(err)
	}
	sched := e.callbackRow(st.ID, "scheduled")
	if sched.Attempts != 1 || sched.Outcome != "busy" || !sched.NextAttemptAt.Valid {
		t.Fatalf("callback %+v, want scheduled after one busy attempt", sched)
	}
	if wait := sched.NextAttemptAt.Time.Sub(sched.UpdatedAt); wait < interval-time.Second || wait > interval+time.Second {
		t.Fatalf("next attempt %s after the busy one, want the queue's interval %s", wait, interval)
	}
	done := e.callbackRow(st.ID, "completed", "failed", "cancelled")
	if done.Status != "completed" || done.Outcome != "answered" || done.Agent.String != "1001" || done.Attempts != 1 {
		t.Fatalf("callback %+v, want completed (answered) by 1001 after one unanswered attempt", done)
	}

	// One contact per dial, in order.
	last := e.callbackContact(number, st.ID)
	var cs []store.Contact
	if err := e.db.SelectContext(e.ctx, &cs, `SELECT * FROM contacts WHERE caller = $1 AND channel_id LIKE $2 ORDER BY id`,
		number, "cb"+strconv.FormatInt(st.ID, 10)+"-%"); err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[1].ID != last.ID {
		t.Fatalf("callback contacts %+v, want two: the busy dial and the answered one", cs)
	}
	busy, answered := cs[0], cs[1]
	prefix := func(attempt int) string {
		return "cb" + strconv.FormatInt(st.ID, 10) + "-" + strconv.Itoa(attempt) + "-"
	}
	if !strings.HasPrefix(busy.ChannelID, prefix(1)) || !strings.HasPrefix(answered.ChannelID, prefix(2)) {
		t.Fatalf("dial channels %s, %s, want attempts 1 and 2", busy.ChannelID, answered.ChannelID)
	}
	if busy.Disposition.String != store.DispCallbackUnanswered || busy.HangupBy.String != "system" || busy.AnsweredAt.Valid || busy.OfferedAt.Valid {
		t.Fatalf("busy dial's contact %+v, want callback_unanswered, never offered to the agent", busy)
	}
	var outcome string
	if err := e.db.GetContext(e.ctx, &outcome, `SELECT data->>'outcome' FROM contact_events WHERE contact_id = $1 AND kind = 'callback_result'`, busy.ID); err != nil || outcome != "busy" {
		t.Fatalf("busy dial's callback_result outcome %q (%v), want busy", outcome, err)
	}
	if gap := answered.ArrivedAt.Sub(busy.EndedAt.Time); gap < interval-time.Second {
		t.Fatalf("redialled %s after the busy dial, before the %s interval", gap, interval)
	}
	if answered.Disposition.String != store.DispAnswered || answered.AgentID.String != "1001" || answered.HangupBy.String != "caller" {
		t.Fatalf("answered dial's contact %+v, want answered by 1001, ended by the customer", answered)
	}
	e.recorded(answered, 3)
	kinds := strings.Join(e.eventKinds(answered.ID), ",")
	if i, j := strings.Index(kinds, "customer_answered"), strings.Index(kinds, "offered"); i < 0 || j < 0 || i > j {
		t.Fatalf("answered dial's log %s: the customer must answer before the agent is offered", kinds)
	}

	// The busy dial reserved the agent and let it go without ringing.
	e.waitAgent("1001", "READY")
	if got, want := e.states("1001"), "NOT_READY,READY,RESERVED,READY,RESERVED,RINGING,ON_CALL,AFTER_CALL_WORK,READY"; got != want {
		t.Fatalf("agent 1001 went %s, want %s", got, want)
	}
	res, _ := customer.Stop(2 * time.Second)
	if res.Events["busy"] != 1 || res.Events["answered"] != 1 || res.Events["near-bye"] != 1 {
		t.Fatalf("customer's phone: %s, want one call refused busy, then one answered that it ended", res.Summary())
	}
}

// A customer-first callback's customer who answered is not held for
// ever when the agent reserved does not answer and no other is free:
// after the queue's callback.hold_max they hear they will be called
// again and are hung up, and the callback counts the attempt. The
// agent's missed offer is filed under the dial's own contact.
func TestCallbackCustomerIsNotHeldForEver(t *testing.T) {
	e := start(t, acdOpts(1, func(c *config.Config) {
		c.Queues[0].RingTimeout = 3 * time.Second
		c.Queues[0].Callback = config.QueueCallback{Attempts: 3, Interval: time.Minute, DialTimeout: time.Minute,
			Dial: "PJSIP/{number}@pstn", HoldMax: 12 * time.Second}
	}))
	const number = "13800000033"
	customer := e.customerPhone(map[string]string{"ring_ms": "300", "hangup_ms": "60000"})
	e.phone(1, "agent-uas-noanswer.xml", nil)
	e.ready("1001")
	st, err := e.client.RequestCallback(e.ctx, api.CallbackRequest{Queue: "general", Number: number, Mode: "customer-first"})
	if err != nil {
		t.Fatal(err)
	}
	sched := e.callbackRow(st.ID, "scheduled")
	if sched.Attempts != 1 || sched.Outcome != "no-agent" {
		t.Fatalf("callback %+v, want scheduled after one attempt no agent took", sched)
	}
	c := e.callbackContact(number, st.ID)
	if c.Disposition.String != store.DispCallbackUnanswered || c.HangupBy.String != "system" {
		t.Fatalf("callback contact %+v, want callback_unanswered, hung up by hotline", c)
	}
	if held := c.EndedAt.Time.Sub(c.QueuedAt.Time); held < 12*time.Second || held > 30*time.Second {
		t.Fatalf("customer held %s, want the 12 s hold_max plus the goodbye", held)
	}
	if tr := e.trail(c.ID); !has(tr, "callback/prompt/sound:hotline/callback-again") {
		t.Fatalf("trail:\n%s", strings.Join(tr, "\n"))
	}
	var missed []int64
	if err := e.db.SelectContext(e.ctx, &missed, `SELECT contact_id FROM agent_state_history WHERE agent_id = '1001' AND state = 'NOT_READY' AND reason = 'no answer'`); err != nil {
		t.Fatal(err)
	}
	if len(missed) != 1 || missed[0] != c.ID {
		t.Fatalf("agent's missed offer filed under contacts %v, want the dial's contact %d", missed, c.ID)
	}
	if got := e.states("1001"); !strings.Contains(got, "RESERVED,RINGING,NOT_READY") {
		t.Errorf("agent went %s, want its phone to have rung (RINGING) before NOT_READY", got)
	}
	res, _ := customer.Stop(2 * time.Second)
	if res.Events["answered"] != 1 || res.Events["far-bye"] != 1 {
		t.Fatalf("customer's phone: %s, want one answered call that hotline ended", res.Summary())
	}
}
