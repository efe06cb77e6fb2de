package acd

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

// pooled makes n agents in state st serving queues, with skills.
func pooled(prefix string, n int, st State, skills map[string]int, queues ...QueueID) []*Agent {
	var out []*Agent
	for i := range n {
		a := liveAgent(fmt.Sprintf("%s%02d", prefix, i), t0, skills, queues...)
		a.State = st
		out = append(out, &a)
	}
	return out
}

// callsOf is n calls of queue q (with these required skills), each
// keeping an agent h.
func callsOf(n int, q QueueID, h time.Duration, need ...SkillNeed) []Contender {
	var out []Contender
	for range n {
		out = append(out, Contender{Alts: []Request{{Queue: q, Requires: need}}, Handle: h})
	}
	return out
}

func nearly(t *testing.T, what string, got time.Duration, wantSeconds float64) {
	t.Helper()
	if math.Abs(got.Seconds()-wantSeconds) > 1e-6*max(1, wantSeconds) {
		t.Errorf("%s: %.6f s, want %.6f s", what, got.Seconds(), wantSeconds)
	}
}

// With one queue the estimate over the backlog is EWT.Estimate with the
// calls ahead, the agents on duty who may take the call and those of
// them READY, whatever else the centre holds (agents off duty, of other
// queues, calls of other queues).
func TestBacklogIsEWTEstimateForOneQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		n, free, k := 1+rng.IntN(30), 0, rng.IntN(60)
		if rng.IntN(3) == 0 {
			free = rng.IntN(n + 1)
		}
		e := NewEWT(time.Duration(30+rng.IntN(300))*time.Second, 50)
		for range rng.IntN(50) {
			e.Left(time.Duration(rng.IntN(200))*time.Second, rng.IntN(3) == 0)
		}
		agents := pooled("q", free, Ready, nil, "q")
		agents = append(agents, pooled("b", n-free, OnCall, nil, "q")...)
		agents = append(agents, pooled("off", 3, NotReady, nil, "q")...)
		agents = append(agents, pooled("out", 2, LoggedOut, nil, "q")...)
		agents = append(agents, pooled("o", 4, OnCall, nil, "other")...)
		rng.Shuffle(len(agents), func(i, j int) { agents[i], agents[j] = agents[j], agents[i] })
		ahead := callsOf(k, "q", e.Handle())
		for i := range rng.IntN(5) {
			ahead = append(ahead[:i], append(callsOf(1, "other", time.Hour), ahead[i:]...)...)
		}
		got := NewBacklog(agents).Estimate(Contender{Alts: []Request{{Queue: "q"}}, Handle: e.Handle()}, ahead, e.AbandonRate())
		want := e.Estimate(k, n, free)
		if math.Abs(got.Seconds()-want.Seconds()) > 1e-6*max(1, want.Seconds()) {
			t.Fatalf("%d ahead, %d on duty, %d free, θ %g: backlog %v, EWT.Estimate %v", k, n, free, e.AbandonRate(), got, want)
		}
	}
}

// Queues sharing every agent are one line: a call of another queue ahead
// holds up the caller as one of its own does, for its own queue's handle
// time. 3 sales calls (60 s) and 2 billing calls (180 s) ahead keep 4
// agents busy 540/4 s; the caller then has the first of them to free, at
// the rate of the calls they are on by then (108 s on average): 108/4 s.
func TestBacklogPooledQueuesShareOneLine(t *testing.T) {
	agents := pooled("a", 4, OnCall, nil, "billing", "sales")
	ahead := append(callsOf(3, "sales", 60*time.Second), callsOf(2, "billing", 180*time.Second)...)
	b := NewBacklog(agents)
	got := b.Estimate(Contender{Alts: []Request{{Queue: "billing"}}, Handle: 180 * time.Second}, ahead, 0)
	nearly(t, "billing caller behind 3 sales and 2 billing calls on 4 agents", got, 540/4.0+108/4.0)
	if k := b.Ahead(); k != 5 {
		t.Errorf("%g calls effectively ahead, want 5", k)
	}
	// Fewer calls ahead than agents: those not taken by a call ahead are
	// on calls of the caller's own handle time, as far as it knows.
	got = b.Estimate(Contender{Alts: []Request{{Queue: "billing"}}, Handle: 180 * time.Second}, callsOf(2, "sales", 60*time.Second), 0)
	nearly(t, "billing caller behind 2 sales calls on 4 agents", got, 120/4.0+(120+2*180)/4.0/4)
}

// Queues sharing some agents: a call of another queue weighs on the
// caller's agents only as far as its own other agents are busy before
// them, which depends on the order of the line. Billing has 2 agents of
// its own that sales may also use; sales has 8 more (handle time 100 s,
// nobody abandons).
func TestBacklogPartlySharedAgentsFollowLineOrder(t *testing.T) {
	agents := append(pooled("shared", 2, OnCall, nil, "billing", "sales"), pooled("sales", 8, OnCall, nil, "sales")...)
	h := 100 * time.Second
	billing := Contender{Alts: []Request{{Queue: "billing"}}, Handle: h}
	sales := Contender{Alts: []Request{{Queue: "sales"}}, Handle: h}
	b := NewBacklog(agents)

	// 10 sales calls ahead, then 2 billing calls: the sales calls fill all
	// 10 agents to 100 s, the billing ones the 2 shared to 200 s, and the
	// caller is next on them: 250 s. Counting only billing's calls would
	// say 150 s; counting every call ahead as billing's, 650 s.
	salesFirst := append(callsOf(10, "sales", h), callsOf(2, "billing", h)...)
	nearly(t, "billing caller, sales calls first", b.Estimate(billing, salesFirst, 0), 250)
	if k := b.Ahead(); k != 4 {
		t.Errorf("%g calls effectively ahead of the billing caller, want 4 (billing's 2 and the shared agents' 2 of sales' 10)", k)
	}
	// The same calls, billing's first: the shared agents work them off
	// (100 s) while the sales agents take sales calls; the remaining 200 s
	// of sales calls spread over all 10 (120 s), then the caller: 170 s.
	billingFirst := append(callsOf(2, "billing", h), callsOf(10, "sales", h)...)
	nearly(t, "billing caller, billing calls first", b.Estimate(billing, billingFirst, 0), 170)
	// A sales caller behind them has all 10 agents: 120 + 10 s.
	nearly(t, "sales caller", b.Estimate(sales, billingFirst, 0), 130)
}

// A share of a call ahead counts as such, abandonment included: one
// sales call ahead splits between the shared agent and sales' own, so
// the billing caller has half a call ahead of it on its one agent:
// 1/μ + ½/(μ+θ).
func TestBacklogShareOfACallAhead(t *testing.T) {
	agents := append(pooled("shared", 1, OnCall, nil, "billing", "sales"), pooled("sales", 1, OnCall, nil, "sales")...)
	got := NewBacklog(agents).Estimate(Contender{Alts: []Request{{Queue: "billing"}}, Handle: 100 * time.Second},
		callsOf(1, "sales", 100*time.Second), 0.01)
	nearly(t, "half a call ahead", got, 100+0.5/(0.01+0.01))
}

// Calls ahead that none of the caller's agents may take, directly or by
// keeping the caller's agents' other work waiting, do not hold it up;
// calls nobody on duty may take do not either.
func TestBacklogSkillsDecideWhoCompetes(t *testing.T) {
	agents := append(pooled("en", 3, OnCall, map[string]int{"english": 6}, "q"), pooled("fr", 1, OnCall, map[string]int{"french": 4}, "q")...)
	agents = append(agents, pooled("de", 2, NotReady, map[string]int{"german": 9}, "q")...)
	h := 120 * time.Second
	ahead := append(callsOf(5, "q", h, SkillNeed{"english", 5}), callsOf(3, "q", h, SkillNeed{"german", 1})...)
	ahead = append(ahead, callsOf(1, "q", h, SkillNeed{"french", 4})...)
	b := NewBacklog(agents)
	nearly(t, "french caller behind english and german calls", b.Estimate(Contender{Alts: []Request{{Queue: "q", Requires: []SkillNeed{{"french", 3}}}}, Handle: h}, ahead, 0), 240)
	if k := b.Ahead(); k != 1 {
		t.Errorf("%g calls effectively ahead of the french caller, want 1", k)
	}
	// An overflow alternative (any agent of the queue with english) opens
	// the english agents to the caller. They are busy with english calls
	// until 200 s, the french one until 120 s: the caller gets whichever
	// is free first, the french agent alone until 200 s (rate 1/120 s),
	// all four after: 120 + 120·(1 − e^(−80/120)) + e^(−80/120)·120/4.
	wider := Contender{Alts: []Request{{Queue: "q", Requires: []SkillNeed{{"french", 3}}}, {Queue: "q", Requires: []SkillNeed{{"english", 1}}}}, Handle: h}
	left := math.Exp(-80.0 / 120)
	nearly(t, "with the english alternative", b.Estimate(wider, ahead, 0), 120+120*(1-left)+left*120/4)
	if k := b.Ahead(); k != 6 {
		t.Errorf("%g calls effectively ahead with the english alternative, want 6 (5 english, 1 french)", k)
	}
	if got := b.Estimate(Contender{Alts: []Request{{Queue: "q", Requires: []SkillNeed{{"german", 1}}}}, Handle: h}, nil, 0); got != NoEstimate {
		t.Errorf("no german agent on duty: %v, want NoEstimate", got)
	}
}

// A READY agent takes a call ahead outright; one left over takes the
// caller at once.
func TestBacklogReadyAgents(t *testing.T) {
	agents := append(pooled("r", 2, Ready, nil, "q"), pooled("b", 2, OnCall, nil, "q")...)
	b := NewBacklog(agents)
	self := Contender{Alts: []Request{{Queue: "q"}}, Handle: 60 * time.Second}
	if got := b.Estimate(self, callsOf(1, "q", time.Hour), 0); got != 0 {
		t.Errorf("1 call ahead, 2 READY: %v, want 0", got)
	}
	nearly(t, "3 calls ahead, 2 READY", b.Estimate(self, callsOf(3, "q", 60*time.Second), 0), 2*60/4.0)
}

// Far terms of the Erlang A sum are summed as an integral: still within
// a millionth of the sum.
func TestErlangAWaitFarTerms(t *testing.T) {
	for _, theta := range []float64{0, 1e-4, 0.01} {
		nmu := 50.0 / 180
		direct := 0.0
		for j := range 20_001 {
			direct += 1 / (nmu + float64(j)*theta)
		}
		got := erlangAWait(20_000, nmu, theta).Seconds()
		if math.Abs(got/direct-1) > 1e-6 {
			t.Errorf("θ %g: %g s, sum %g s", theta, got, direct)
		}
	}
}

// The live estimate counts the calls of every queue ahead in line whose
// agents overlap the caller's: a VIP of billing who joined later is ahead
// (aging), a billing call already being offered to an agent is not.
func TestEstimateCountsOtherQueuesAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		start := time.Now()
		free := liveAgent("a1", start.Add(-time.Minute), nil, "billing", "sales")
		busy := liveAgent("a2", start.Add(-time.Minute), nil, "billing", "sales")
		busy.State, busy.Call = OnCall, "earlier"
		a, _ := runQueues(t, []QueueConfig{
			{ID: "billing", RingTimeout: 10 * time.Second, AHT: 100 * time.Second},
			{ID: "sales", RingTimeout: 10 * time.Second, AHT: 100 * time.Second},
		}, free, busy)
		var got offers
		enqueue := func(call CallID, q QueueID, prio int) {
			t.Helper()
			if err := a.Enqueue(ctx, Waiting{Call: call, Queue: q, Priority: prio, EnqueuedAt: time.Now(), Offer: got.put}); err != nil {
				t.Fatal(err)
			}
		}
		estimate := func(call CallID) (int, time.Duration) {
			t.Helper()
			pos, ewt, ok, err := a.Estimate(ctx, call)
			if err != nil || !ok {
				t.Fatalf("estimate of %s: ok %v, %v", call, ok, err)
			}
			return pos, ewt
		}

		enqueue("b0", "billing", PriorityNormal) // offered to a1 at once: stays in line, ringing
		if o := got.take(); len(o) != 1 || o[0].Agent != "a1" {
			t.Fatalf("offers %+v, want b0 to a1", o)
		}
		enqueue("s1", "sales", PriorityNormal)
		time.Sleep(10 * time.Second)
		enqueue("vip", "billing", PriorityVIP)
		time.Sleep(10 * time.Second)
		enqueue("s2", "sales", PriorityNormal)

		// Line: b0 (offered), vip (120 s head start), s1, s2; both agents busy.
		if pos, ewt := estimate("s1"); pos != 1 {
			t.Errorf("s1 at %d in sales, want 1", pos)
		} else {
			nearly(t, "s1 behind the VIP", ewt, 2*100/2.0)
		}
		if pos, ewt := estimate("s2"); pos != 2 {
			t.Errorf("s2 at %d in sales, want 2", pos)
		} else {
			nearly(t, "s2 behind the VIP and s1", ewt, 3*100/2.0)
		}
		if _, ewt := estimate("vip"); ewt != 50*time.Second {
			t.Errorf("vip: %v, want 50s (b0 already has its agent)", ewt)
		}
	})
}

// Joiners expected within the wait lengthen it: with n busy agents, k
// calls ahead and joiners at rate r for as long as the caller waits, the
// wait W = (k+1+rW)·h/n, that is (k+1)·h/(n − r·h). A window shorter than
// the wait counts only the joiners within it.
func TestEstimateJoining(t *testing.T) {
	ag := &Agent{ID: "a1", State: OnCall, Queues: map[QueueID]bool{"q": true}}
	b := NewBacklog([]*Agent{ag})
	alts := []Request{{Queue: "q"}}
	self := Contender{Alts: alts, Handle: 100 * time.Second}
	ahead := []Contender{{Alts: alts, Handle: 100 * time.Second}}
	if w := b.Estimate(self, ahead, 0); w != 200*time.Second {
		t.Fatalf("without joiners: %v, want 200 s", w)
	}
	j := Joiner{Alts: alts, Handle: 100 * time.Second, Rate: 0.002, Window: time.Hour}
	if w := b.EstimateJoining(self, ahead, 0, []Joiner{j}); math.Abs(w.Seconds()-250) > 1 {
		t.Errorf("joiners for the whole wait: %v, want about 250 s", w)
	}
	if k := b.Ahead(); k != 1 {
		t.Errorf("Ahead %v, want the 1 call in line", k)
	}
	j.Window = 50 * time.Second // 0.1 joiners expected
	if w := b.EstimateJoining(self, ahead, 0, []Joiner{j}); math.Abs(w.Seconds()-210) > 0.001 {
		t.Errorf("joiners for 50 s: %v, want 210 s", w)
	}
	j.Window = 0
	if w := b.EstimateJoining(self, ahead, 0, []Joiner{j}); w != 200*time.Second {
		t.Errorf("no window: %v, want 200 s", w)
	}
}
