package acd

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// runQueues starts an ACD with these queues in a synctest bubble.
func runQueues(t *testing.T, queues []QueueConfig, agents ...Agent) (*ACD, *memJournal) {
	t.Helper()
	j := &memJournal{}
	a := New(queues, agents, j, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return a, j
}

// offers collects Offers (and other notices) handed over on the ACD
// goroutine.
type offers struct {
	mu   sync.Mutex
	list []Offer
}

func (o *offers) put(x Offer) { o.mu.Lock(); o.list = append(o.list, x); o.mu.Unlock() }

func (o *offers) take() []Offer {
	o.mu.Lock()
	defer o.mu.Unlock()
	l := o.list
	o.list = nil
	return l
}

func liveAgent(id string, idle time.Time, skills map[string]int, queues ...QueueID) Agent {
	ag := Agent{ID: AgentID(id), Endpoint: "PJSIP/" + id, State: Ready, IdleSince: idle, Queues: map[QueueID]bool{}, Skills: skills}
	for _, q := range queues {
		ag.Queues[q] = true
	}
	return ag
}

func stateOf(t *testing.T, a *ACD, id AgentID) Agent {
	t.Helper()
	ags, err := a.Agents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ag := range ags {
		if ag.ID == id {
			return ag
		}
	}
	t.Fatalf("no agent %s", id)
	return Agent{}
}

// Every named strategy, used live through Enqueue, offers the call only
// to agents of the queue who have the queue's required skill at its level,
// and among them picks what the strategy says (the old Strategy funcs are
// the oracle where one exists).
func TestDispatchBySkillsForEveryStrategy(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	mk := func() []Agent {
		ags := []Agent{
			liveAgent("a1", t0.Add(-10*time.Minute), map[string]int{"billing": 3}, "q"), // idle longest: level too low
			liveAgent("a2", t0.Add(-5*time.Minute), map[string]int{"billing": 6}, "q"),
			liveAgent("a3", t0.Add(-1*time.Minute), map[string]int{"billing": 9}, "q"),
			liveAgent("a4", t0.Add(-2*time.Minute), map[string]int{"billing": 7, "broadband": 2}, "q"),
			liveAgent("a5", t0.Add(-20*time.Minute), nil, "q"),                               // no skill
			liveAgent("a6", t0.Add(-30*time.Minute), map[string]int{"billing": 10}, "other"), // other queue
		}
		ags[1].CallsToday, ags[1].TalkToday = 5, 50*time.Minute
		ags[2].CallsToday, ags[2].TalkToday = 1, 60*time.Minute
		ags[3].CallsToday, ags[3].TalkToday = 3, 10*time.Minute
		return ags
	}
	eligible := map[AgentID]bool{"a2": true, "a3": true, "a4": true}
	want := map[string]AgentID{
		"longest-idle":      "a2",
		"fewest-calls":      "a3",
		"least-talk-time":   "a4",
		"skill-level-first": "a3",
		// a2: 0.6 + 1 (idle 5 min, full weight); a3: 0.9 + 0.2; a4: 0.7 + 0.4
		"weighted-skill-idle": "a2",
		"round-robin":         "a2", // no memory yet: lowest ID
	}
	oracle := map[string]Strategy{"longest-idle": LongestIdle, "fewest-calls": FewestCalls, "least-talk-time": LeastTalkTime}
	for _, name := range RouterNames() {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				time.Sleep(time.Until(t0)) // the bubble's clock to t0
				router, ok := RouterByName(name, 7)
				if !ok {
					t.Fatalf("no router %q", name)
				}
				agents := mk()
				a, _ := runQueues(t, []QueueConfig{{ID: "q", Router: router, RingTimeout: 10 * time.Second, Skills: map[string]int{"billing": 5}}}, agents...)
				var got offers
				if err := a.Enqueue(context.Background(), Waiting{Call: "c1", Queue: "q", EnqueuedAt: t0, Offer: got.put}); err != nil {
					t.Fatal(err)
				}
				o := got.take()
				if len(o) != 1 || !eligible[o[0].Agent] {
					t.Fatalf("offers %+v: want one, to an agent of q with billing ≥ 5", o)
				}
				if w, ok := want[name]; ok && o[0].Agent != w {
					t.Errorf("%s offered to %s, want %s", name, o[0].Agent, w)
				}
				if f := oracle[name]; f != nil {
					var elig []*Agent
					for i := range agents {
						if eligible[agents[i].ID] {
							elig = append(elig, &agents[i])
						}
					}
					if w := f("q", elig); w.ID != o[0].Agent {
						t.Errorf("live %s picked %s, the Strategy oracle %s", name, o[0].Agent, w.ID)
					}
				}
				if s := stateOf(t, a, o[0].Agent); s.State != Reserved || s.Call != "c1" {
					t.Errorf("picked agent is %s for %q, want RESERVED for c1", s.State, s.Call)
				}
			})
		})
	}
}

// A call's own skills (set by the IVR) add to its queue's; the higher
// level wins. Agents not in the queue are never offered it.
func TestDispatchUsesTheCallsOwnSkills(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		a, _ := runQueues(t, []QueueConfig{{ID: "q", Skills: map[string]int{"billing": 2}}},
			liveAgent("b1", t0.Add(-time.Hour), map[string]int{"billing": 9, "broadband": 2}, "q"),
			liveAgent("b2", t0.Add(-time.Minute), map[string]int{"billing": 2, "broadband": 5}, "q"),
			liveAgent("b3", t0.Add(-2*time.Hour), map[string]int{"billing": 9, "broadband": 9}, "other"))
		var got offers
		ctx := context.Background()
		if err := a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: t0, Skills: map[string]int{"broadband": 4}, Offer: got.put}); err != nil {
			t.Fatal(err)
		}
		if o := got.take(); len(o) != 1 || o[0].Agent != "b2" {
			t.Fatalf("offers %+v, want c1 to b2 (the only agent of q with broadband ≥ 4)", o)
		}
		// billing 3 from the call beats the queue's 2 and excludes b2.
		if err := a.Enqueue(ctx, Waiting{Call: "c2", Queue: "q", EnqueuedAt: t0, Skills: map[string]int{"billing": 3, "broadband": 1}, Offer: got.put}); err != nil {
			t.Fatal(err)
		}
		if o := got.take(); len(o) != 1 || o[0].Agent != "b1" {
			t.Fatalf("offers %+v, want c2 to b1", o)
		}
		err := a.Enqueue(ctx, Waiting{Call: "c3", Queue: "q", EnqueuedAt: t0, Skills: map[string]int{"billing": 11}, Offer: got.put})
		if err == nil || !strings.Contains(err.Error(), "skill billing: level 11 is not 1-10") {
			t.Fatalf("level 11 accepted: %v", err)
		}
	})
}

// RESERVED → RINGING → ON_CALL ⇄ ON_HOLD → AFTER_CALL_WORK, with every
// step in the journal, and what is illegal refused with the agent and
// both states named.
func TestReservedRingingHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, j := runQueues(t, []QueueConfig{{ID: "q", WrapUp: 5 * time.Second}}, liveAgent("a1", time.Now(), nil, "q"), liveAgent("a2", time.Now().Add(time.Second), nil, "q"))
		var got offers
		_ = a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: time.Now(), Offer: got.put})
		if o := got.take(); len(o) != 1 || o[0].Agent != "a1" {
			t.Fatalf("offers %+v", o)
		}
		if err := a.Ringing(ctx, "other", "a1"); !errors.Is(err, ErrIllegal) {
			t.Fatalf("ringing for another call: %v", err)
		}
		if err := a.Hold(ctx, "a1"); !errors.Is(err, ErrIllegal) || !strings.Contains(err.Error(), "a1") || !strings.Contains(err.Error(), "RESERVED → ON_HOLD") {
			t.Fatalf("hold while reserved: %v, want an error naming a1 and RESERVED → ON_HOLD", err)
		}
		if err := a.Ringing(ctx, "c1", "a1"); err != nil {
			t.Fatal(err)
		}
		if err := a.Ringing(ctx, "c1", "a1"); err != nil {
			t.Fatalf("ringing reported twice: %v", err)
		}
		if err := a.Ready(ctx, "a1"); !errors.Is(err, ErrIllegal) {
			t.Fatalf("ready while ringing: %v", err)
		}
		if err := a.Answered(ctx, "c1", "a1"); err != nil {
			t.Fatal(err)
		}
		if err := a.Unhold(ctx, "a1"); !errors.Is(err, ErrIllegal) || !strings.Contains(err.Error(), "ON_CALL → ON_CALL") {
			t.Fatalf("unhold on call: %v", err)
		}
		if err := a.Hold(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if err := a.Logout(ctx, "a1"); !errors.Is(err, ErrIllegal) || !strings.Contains(err.Error(), "ON_HOLD → LOGGED_OUT") {
			t.Fatalf("logout on hold: %v", err)
		}
		if err := a.Unhold(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		_ = a.Hold(ctx, "a1")
		if err := a.Ended(ctx, "c1", "a1", 7); err != nil {
			t.Fatal(err)
		}
		want := []State{Reserved, Ringing, OnCall, OnHold, OnCall, OnHold, AfterCallWork}
		if got := j.states("a1"); !equal(got, want) {
			t.Fatalf("journal %v, want %v", got, want)
		}
		// A switch that never reports ringing: RESERVED → ON_CALL.
		_ = a.Enqueue(ctx, Waiting{Call: "c2", Queue: "q", EnqueuedAt: time.Now(), Offer: got.put})
		if o := got.take(); len(o) != 1 || o[0].Agent != "a2" {
			t.Fatalf("offers %+v", o)
		}
		if err := a.Answered(ctx, "c2", "a2"); err != nil {
			t.Fatalf("answered from RESERVED: %v", err)
		}
		// And no answer from RESERVED: NOT_READY, the call offered again.
		_ = a.Ended(ctx, "c2", "a2", 0)
		time.Sleep(6 * time.Second)
		synctest.Wait()
		_ = a.Enqueue(ctx, Waiting{Call: "c3", Queue: "q", EnqueuedAt: time.Now(), Offer: got.put})
		first := got.take()
		if len(first) != 1 {
			t.Fatalf("offers %+v", first)
		}
		if err := a.NoAnswer(ctx, "c3", first[0].Agent, ReasonUnreachable); err != nil {
			t.Fatal(err)
		}
		if s := stateOf(t, a, first[0].Agent); s.State != NotReady || s.Reason != ReasonUnreachable {
			t.Fatalf("after no answer from RESERVED: %s %q", s.State, s.Reason)
		}
		if o := got.take(); len(o) != 1 || o[0].Agent == first[0].Agent || o[0].Call != "c3" {
			t.Fatalf("re-offer %+v", o)
		}
		for _, c := range j.changes {
			if err := CheckTransition(c.From, c.To); err != nil {
				t.Errorf("journal holds an illegal change: %v", err)
			}
		}
	})
}

func TestNotReadyReasons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, _ := runQueues(t, []QueueConfig{{ID: "q"}}, liveAgent("a1", time.Now(), nil, "q"))
		err := a.NotReady(ctx, "a1", "lunch")
		if !errors.Is(err, ErrUnknownReason) || !strings.Contains(err.Error(), `"lunch"`) || !strings.Contains(err.Error(), "1 meal, 2 meeting, 3 training, 4 break, 5 after-call paperwork") {
			t.Fatalf("unknown reason: %v", err)
		}
		if s := stateOf(t, a, "a1"); s.State != Ready {
			t.Fatalf("a refused reason changed the state to %s", s.State)
		}
		for in, want := range map[string]string{"4": "break", "Meeting": "meeting", " training ": "training"} {
			if err := a.NotReady(ctx, "a1", in); err != nil {
				t.Fatalf("NotReady(%q): %v", in, err)
			}
			if s := stateOf(t, a, "a1"); s.State != NotReady || s.Reason != want {
				t.Fatalf("NotReady(%q): %s %q, want NOT_READY %q", in, s.State, s.Reason, want)
			}
		}
		if r, ok := ReasonByDigit("5"); !ok || r.Name != "after-call paperwork" || r.Code != 5 {
			t.Fatalf("ReasonByDigit(5) = %+v, %v", r, ok)
		}
		if _, ok := ReasonByDigit("9"); ok {
			t.Fatal("digit 9 has a reason")
		}
		for _, own := range []string{ReasonNoAnswer, ReasonUnreachable} {
			if _, err := ParseReason(own); err == nil {
				t.Errorf("agents may choose the ACD's own reason %q", own)
			}
		}
	})
}

func TestWrapUpExtendAndEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, j := runQueues(t, []QueueConfig{{ID: "q", WrapUp: 30 * time.Second, WrapUpMaxExtension: time.Minute}},
			liveAgent("a1", time.Now(), nil, "q"))
		var got offers
		_ = a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: time.Now(), Offer: got.put})
		_ = a.Answered(ctx, "c1", "a1")
		if _, err := a.ExtendWrapUp(ctx, "a1", time.Second); !errors.Is(err, ErrIllegal) || !strings.Contains(err.Error(), "not in after-call work") {
			t.Fatalf("extend on call: %v", err)
		}
		ended := time.Now()
		_ = a.Ended(ctx, "c1", "a1", 0)
		if s := stateOf(t, a, "a1"); !s.WrapUpEnds.Equal(ended.Add(30 * time.Second)) {
			t.Fatalf("wrap-up ends %v, want %v", s.WrapUpEnds, ended.Add(30*time.Second))
		}
		time.Sleep(10 * time.Second)
		ends, err := a.ExtendWrapUp(ctx, "a1", 40*time.Second)
		if err != nil || !ends.Equal(ended.Add(70*time.Second)) {
			t.Fatalf("extend: %v %v", ends, err)
		}
		if _, err := a.ExtendWrapUp(ctx, "a1", 30*time.Second); !errors.Is(err, ErrWrapUpLimit) || !strings.Contains(err.Error(), "20s left of the queue's 1m0s") {
			t.Fatalf("extension beyond the limit: %v", err)
		}
		if _, err := a.ExtendWrapUp(ctx, "a1", -time.Second); !errors.Is(err, ErrWrapUpLimit) {
			t.Fatalf("negative extension: %v", err)
		}
		time.Sleep(25 * time.Second) // 35 s after the end: the original wrap-up is over
		synctest.Wait()
		if s := stateOf(t, a, "a1"); s.State != AfterCallWork {
			t.Fatalf("%s at 35 s, want AFTER_CALL_WORK until 70 s", s.State)
		}
		time.Sleep(34 * time.Second)
		synctest.Wait()
		if s := stateOf(t, a, "a1"); s.State != AfterCallWork {
			t.Fatalf("%s at 69 s", s.State)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if s := stateOf(t, a, "a1"); s.State != Ready {
			t.Fatalf("%s at 70 s, want READY", s.State)
		}
		if err := a.EndWrapUp(ctx, "a1"); !errors.Is(err, ErrIllegal) {
			t.Fatalf("end wrap-up while READY: %v", err)
		}
		// Ending early: READY at once, and the call waiting is offered.
		_ = a.Enqueue(ctx, Waiting{Call: "c2", Queue: "q", EnqueuedAt: time.Now(), Offer: got.put})
		_ = a.Answered(ctx, "c2", "a1")
		_ = a.Ended(ctx, "c2", "a1", 0)
		_ = a.Enqueue(ctx, Waiting{Call: "c3", Queue: "q", EnqueuedAt: time.Now(), Offer: got.put})
		got.take()
		time.Sleep(5 * time.Second)
		if err := a.EndWrapUp(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if o := got.take(); len(o) != 1 || o[0].Call != "c3" {
			t.Fatalf("after ending wrap-up: offers %+v, want c3", o)
		}
		want := []State{Reserved, OnCall, AfterCallWork, Ready, Reserved, OnCall, AfterCallWork, Ready, Reserved}
		if got := j.states("a1"); !equal(got, want) {
			t.Fatalf("journal %v, want %v", got, want)
		}
	})
}

// A queue without an extension allowance refuses every extension.
func TestWrapUpNoExtensionAllowed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, _ := runQueues(t, []QueueConfig{{ID: "q", WrapUp: 30 * time.Second}}, liveAgent("a1", time.Now(), nil, "q"))
		var got offers
		_ = a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: time.Now(), Offer: got.put})
		_ = a.Answered(ctx, "c1", "a1")
		_ = a.Ended(ctx, "c1", "a1", 0)
		if _, err := a.ExtendWrapUp(ctx, "a1", time.Second); !errors.Is(err, ErrWrapUpLimit) {
			t.Fatalf("extension with no allowance: %v", err)
		}
	})
}

func TestOverflowSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		t0 := time.Now()
		queues := []QueueConfig{
			{ID: "billing", Skills: map[string]int{"billing": 7}, Overflow: []OverflowStep{
				{After: 30 * time.Second, MinLevel: 3},
				{After: 60 * time.Second, AddSkills: map[string]int{"general": 1}},
				{After: 120 * time.Second, ToQueue: "general"},
			}},
			{ID: "general"},
		}
		low := liveAgent("low", t0, map[string]int{"billing": 4}, "billing")
		gen := liveAgent("gen", t0, map[string]int{"general": 2}, "billing")
		other := liveAgent("other", t0, nil, "general")
		other.State = NotReady
		a, _ := runQueues(t, queues, low, gen, other)
		var got offers
		var notices []OverflowNotice
		var mu sync.Mutex
		err := a.Enqueue(ctx, Waiting{Call: "c1", Queue: "billing", EnqueuedAt: t0, Offer: got.put,
			OnOverflow: func(n OverflowNotice) { mu.Lock(); notices = append(notices, n); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(29*time.Second + 999*time.Millisecond)
		synctest.Wait()
		if o := got.take(); len(o) != 0 {
			t.Fatalf("offered %+v before the first step", o)
		}
		time.Sleep(time.Millisecond) // 30 s: levels down to 3
		synctest.Wait()
		if o := got.take(); len(o) != 1 || o[0].Agent != "low" {
			t.Fatalf("at 30 s offers %+v, want c1 to low (billing 4 ≥ 3)", o)
		}
		_ = a.NoAnswer(ctx, "c1", "low", ReasonNoAnswer)
		if o := got.take(); len(o) != 0 {
			t.Fatalf("offered %+v to an agent without billing before 60 s", o)
		}
		time.Sleep(30 * time.Second) // 60 s: agents with general may take it
		synctest.Wait()
		if o := got.take(); len(o) != 1 || o[0].Agent != "gen" {
			t.Fatalf("at 60 s offers %+v, want c1 to gen", o)
		}
		_ = a.NoAnswer(ctx, "c1", "gen", ReasonNoAnswer)
		// A caller of general who joined 100 s after c1.
		time.Sleep(40 * time.Second)
		_ = a.Enqueue(ctx, Waiting{Call: "c2", Queue: "general", EnqueuedAt: time.Now(), Offer: got.put})
		time.Sleep(20 * time.Second) // 120 s: c1 moves to general, keeping its place
		synctest.Wait()
		if w, _ := a.Waiting(ctx, "general"); !slices.Equal(w, []CallID{"c1", "c2"}) {
			t.Fatalf("general's line %v, want c1 (moved, joined first) before c2", w)
		}
		if w, _ := a.Waiting(ctx, "billing"); len(w) != 0 {
			t.Fatalf("billing's line %v after the move", w)
		}
		_ = a.Ready(ctx, "other")
		if o := got.take(); len(o) != 1 || o[0].Call != "c1" || o[0].Agent != "other" || o[0].Queue != "general" {
			t.Fatalf("offers %+v, want c1 to other in general", o)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(notices) != 3 || notices[0].MinLevel != 3 || notices[1].AddSkills["general"] != 1 || notices[2].ToQueue != "general" {
			t.Fatalf("overflow notices %+v", notices)
		}
	})
}

// A call restored with time in queue gets every step already due at once.
func TestOverflowDueStepsApplyOnEnqueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := runQueues(t, []QueueConfig{{ID: "q", Skills: map[string]int{"billing": 8}, Overflow: []OverflowStep{{After: time.Minute, MinLevel: 2}}}},
			liveAgent("a1", time.Now(), map[string]int{"billing": 2}, "q"))
		var got offers
		_ = a.Enqueue(context.Background(), Waiting{Call: "c1", Queue: "q", EnqueuedAt: time.Now().Add(-2 * time.Minute), Offer: got.put})
		if o := got.take(); len(o) != 1 || o[0].Agent != "a1" {
			t.Fatalf("offers %+v", o)
		}
	})
}

func TestMaxWait(t *testing.T) {
	for _, action := range MaxWaitActions() {
		t.Run(string(action), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				busy := liveAgent("a1", time.Now(), nil, "q")
				busy.State = NotReady
				a, _ := runQueues(t, []QueueConfig{{ID: "q", MaxWait: &MaxWait{After: 300 * time.Second, Action: action, Prompt: "sound:hotline/sorry"}}}, busy)
				var got offers
				notes := make(chan MaxWaitNotice, 4)
				_ = a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: time.Now(), Offer: got.put, OnMaxWait: func(n MaxWaitNotice) { notes <- n }})
				// A call without OnMaxWait is left alone.
				_ = a.Enqueue(ctx, Waiting{Call: "c0", Queue: "q", EnqueuedAt: time.Now().Add(time.Second), Offer: got.put})
				time.Sleep(299 * time.Second)
				synctest.Wait()
				if len(notes) != 0 {
					t.Fatal("max wait before 300 s")
				}
				time.Sleep(time.Second)
				synctest.Wait()
				if len(notes) != 1 {
					t.Fatalf("%d notices at 300 s, want 1", len(notes))
				}
				n := <-notes
				if n.Call != "c1" || n.Action != action || n.Prompt != "sound:hotline/sorry" || n.Waited != 300*time.Second {
					t.Fatalf("notice %+v", n)
				}
				_ = a.Ready(ctx, "a1")
				o := got.take()
				if len(o) != 1 {
					t.Fatalf("offers %+v", o)
				}
				if want := CallID("c0"); action != MaxWaitCallback && o[0].Call != want {
					t.Fatalf("after %s the ACD offered %s, want c0 (c1 is leaving)", action, o[0].Call)
				} else if action == MaxWaitCallback && o[0].Call != "c1" {
					t.Fatalf("with callback offered the call stays in line: offered %s", o[0].Call)
				}
				time.Sleep(time.Hour)
				synctest.Wait()
				if len(notes) != 0 {
					t.Fatal("max wait announced twice")
				}
			})
		})
	}
}
