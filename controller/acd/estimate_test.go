package acd

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

// The live estimate counts only the agents on duty who may take the call,
// learns waits from Answered and Cancel and handle times from Ended, on
// the ACD's own (here fake) clock.
func TestEstimateIsFedByLiveEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		t0 := time.Now()
		a, _ := runQueues(t, []QueueConfig{
			{ID: "q", RingTimeout: 10 * time.Second, WrapUp: 10 * time.Second, AHT: 100 * time.Second, Skills: map[string]int{"billing": 5}},
			{ID: "empty"},
		},
			liveAgent("a1", t0.Add(-time.Minute), map[string]int{"billing": 6}, "q"),
			liveAgent("a2", t0.Add(-2*time.Minute), nil, "q"), // READY but lacks the skill: not on duty for q
			func() Agent {
				ag := liveAgent("a3", t0, map[string]int{"billing": 9}, "q")
				ag.State = LoggedOut
				return ag
			}(),
		)
		var got offers
		enqueue := func(call CallID) {
			t.Helper()
			if err := a.Enqueue(ctx, Waiting{Call: call, Queue: "q", EnqueuedAt: time.Now(), Offer: got.put}); err != nil {
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
		near := func(what string, got time.Duration, wantSeconds float64) {
			t.Helper()
			if math.Abs(got.Seconds()-wantSeconds) > 0.001 {
				t.Errorf("%s: EWT %.3f s, want %.3f s", what, got.Seconds(), wantSeconds)
			}
		}

		enqueue("c1")
		if o := got.take(); len(o) != 1 || o[0].Agent != "a1" {
			t.Fatalf("offers %+v, want c1 to a1", o)
		}
		time.Sleep(20 * time.Second)
		if err := a.Answered(ctx, "c1", "a1"); err != nil { // waited 20 s, answered
			t.Fatal(err)
		}
		enqueue("c2")
		enqueue("c3")
		// One agent on duty (a1, on a call), handle time 100 s, nobody has
		// given up yet: one handle time per place.
		if pos, ewt := estimate("c2"); pos != 1 {
			t.Errorf("c2 at %d, want 1", pos)
		} else {
			near("c2, first", ewt, 100)
		}
		if pos, ewt := estimate("c3"); pos != 2 {
			t.Errorf("c3 at %d, want 2", pos)
		} else {
			near("c3, second", ewt, 200)
		}

		time.Sleep(30 * time.Second)
		if err := a.Cancel(ctx, "c2"); err != nil { // gave up after 30 s
			t.Fatal(err)
		}
		enqueue("c4")
		// θ = abandons / time waited = 1 / (20·(1-1/200) + 30).
		theta := 1 / (20*(1-1.0/200) + 30)
		if pos, ewt := estimate("c4"); pos != 2 {
			t.Errorf("c4 at %d, want 2", pos)
		} else {
			near("c4 behind c3, with abandonment", ewt, 100+1/(1.0/100+theta))
		}

		time.Sleep(20 * time.Second)
		if err := a.Ended(ctx, "c1", "a1", 0); err != nil { // talked 50 s, wrap-up 10 s
			t.Fatal(err)
		}
		// a1 is in after-call work: still on duty. handle = 100 + (60-100)/200.
		handle := 100 + (60-100)/200.0
		_, ewt := estimate("c4")
		near("c4 after one handled call", ewt, handle+1/(1/handle+theta))

		if _, _, ok, err := a.Estimate(ctx, "c2"); ok || err != nil {
			t.Errorf("a call no longer in line: ok %v, %v", ok, err)
		}
		if err := a.Enqueue(ctx, Waiting{Call: "lonely", Queue: "empty", EnqueuedAt: time.Now(), Offer: got.put}); err != nil {
			t.Fatal(err)
		}
		if pos, ewt := estimate("lonely"); pos != 1 || ewt != NoEstimate {
			t.Errorf("queue without agents: position %d, EWT %v; want 1, NoEstimate", pos, ewt)
		}
	})
}

// VIPs who have been joining foresee more ahead of a normal caller: those
// who join within their head start over it go ahead. Once the caller has
// waited longer than that head start, no later VIP passes it and the
// estimate counts only the calls in line.
func TestEstimateForeseesVIPsJoiningAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, _ := runQueues(t, []QueueConfig{{ID: "q", RingTimeout: 10 * time.Second, AHT: 100 * time.Second}},
			liveAgent("a1", time.Now(), nil, "q"))
		var got offers
		enqueue := func(call CallID, priority int) {
			t.Helper()
			if err := a.Enqueue(ctx, Waiting{Call: call, Queue: "q", Priority: priority, EnqueuedAt: time.Now(), Offer: got.put}); err != nil {
				t.Fatal(err)
			}
		}
		enqueue("c0", PriorityNormal)
		if err := a.Answered(ctx, "c0", "a1"); err != nil { // a1 is busy from now on
			t.Fatal(err)
		}
		// Three VIPs in 61 s: about 0.05 a second.
		enqueue("v1", PriorityVIP)
		time.Sleep(30 * time.Second)
		enqueue("v2", PriorityVIP)
		time.Sleep(31 * time.Second)
		enqueue("v3", PriorityVIP)
		enqueue("n1", PriorityNormal)
		_, foreseen, _, err := a.Estimate(ctx, "n1")
		if err != nil {
			t.Fatal(err)
		}
		// Three VIPs and n1 on one agent, 100 s each, nobody abandons: 400 s
		// for the calls in line alone.
		if foreseen <= 500*time.Second {
			t.Errorf("n1's estimate %v with VIPs joining at 0.05/s for its next 120 s, want well above the 400 s of the calls in line", foreseen)
		}
		time.Sleep(121 * time.Second)
		_, inLine, _, _ := a.Estimate(ctx, "n1")
		if math.Abs(inLine.Seconds()-400) > 0.001 {
			t.Errorf("n1's estimate %v after its 120 s, want 400 s: no VIP joining now goes ahead of it", inLine)
		}
	})
}

// Queues reports each queue's line, longest wait, agents by state and
// the wait a caller joining now would be told: the same number Estimate
// gives the last caller in line once it has joined.
func TestQueuesReportsTheLiveState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		t0 := time.Now()
		a, _ := runQueues(t, []QueueConfig{
			{ID: "q", RingTimeout: 10 * time.Second, WrapUp: 10 * time.Second, AHT: 100 * time.Second},
			{ID: "idle", AHT: 60 * time.Second},
		},
			liveAgent("a1", t0.Add(-time.Minute), nil, "q"),
			func() Agent { ag := liveAgent("a2", t0, nil, "q", "idle"); ag.State = NotReady; return ag }(),
			func() Agent { ag := liveAgent("a3", t0, nil, "q"); ag.State = LoggedOut; return ag }(),
		)
		var got offers
		enqueue := func(call CallID) {
			t.Helper()
			if err := a.Enqueue(ctx, Waiting{Call: call, Queue: "q", EnqueuedAt: time.Now(), Offer: got.put}); err != nil {
				t.Fatal(err)
			}
		}
		enqueue("c1") // to a1
		if err := a.Answered(ctx, "c1", "a1"); err != nil {
			t.Fatal(err)
		}
		enqueue("c2")
		time.Sleep(30 * time.Second)
		enqueue("c3")
		time.Sleep(5 * time.Second)

		qs, err := a.Queues(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != 2 || qs[0].Queue != "idle" || qs[1].Queue != "q" {
			t.Fatalf("queues %+v, want idle and q, by ID", qs)
		}
		idle, q := qs[0], qs[1]
		if idle.Waiting != 0 || idle.LongestWait != 0 || idle.EWT != NoEstimate || idle.Agents[NotReady] != 1 || len(idle.Agents) != 1 {
			t.Errorf("idle %+v: want nobody waiting, no agent on duty (a2 NOT_READY), so no estimate", idle)
		}
		if q.Waiting != 2 || q.Callbacks != 0 || q.LongestWait != 35*time.Second {
			t.Errorf("q %+v: want 2 waiting, the longest for 35 s", q)
		}
		if q.Agents[OnCall] != 1 || q.Agents[NotReady] != 1 || q.Agents[LoggedOut] != 0 || len(q.Agents) != 2 {
			t.Errorf("q's agents %v: want one ON_CALL, one NOT_READY, the logged-out one left out", q.Agents)
		}
		enqueue("c4")
		_, ewt, ok, err := a.Estimate(ctx, "c4")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if q.EWT != ewt || ewt < 200*time.Second {
			t.Errorf("q's EWT for a newcomer %v; the newcomer, once in line, is told %v (third behind one agent: at least 200 s)", q.EWT, ewt)
		}
	})
}
