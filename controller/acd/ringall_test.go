package acd

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// offered lists the agents one offer rings.
func offered(o Offer) []AgentID {
	ids := []AgentID{o.Agent}
	for _, x := range o.Also {
		ids = append(ids, x.Agent)
	}
	return ids
}

// A ring-all queue rings every eligible READY agent with one offer; the
// first to answer takes the call and the others go back to READY, not
// NOT_READY: they did nothing wrong.
func TestRingAllFirstAnswerTakesTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		ctx := context.Background()
		a, j := runQueues(t, []QueueConfig{{ID: "q", RingAll: true, RingTimeout: 10 * time.Second, Skills: map[string]int{"billing": 5}}},
			liveAgent("a1", t0.Add(-time.Minute), map[string]int{"billing": 6}, "q"),
			liveAgent("a2", t0.Add(-2*time.Minute), map[string]int{"billing": 9}, "q"),
			liveAgent("a3", t0.Add(-3*time.Minute), map[string]int{"billing": 2}, "q"), // level too low
			liveAgent("a4", t0.Add(-4*time.Minute), map[string]int{"billing": 9}, "other"),
			liveAgent("a5", t0.Add(-5*time.Minute), map[string]int{"billing": 7}, "q"))
		var got offers
		if err := a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", ContactID: 7, EnqueuedAt: t0, Offer: got.put}); err != nil {
			t.Fatal(err)
		}
		o := got.take()
		if len(o) != 1 || !slices.Equal(offered(o[0]), []AgentID{"a1", "a2", "a5"}) {
			t.Fatalf("offers %+v: want one ringing a1, a2 and a5", o)
		}
		if o[0].Also[1].Endpoint != "PJSIP/a5" {
			t.Fatalf("offer %+v: each agent's endpoint", o[0])
		}
		for _, id := range []AgentID{"a1", "a2", "a5"} {
			if s := stateOf(t, a, id); s.State != Reserved || s.Call != "c1" {
				t.Fatalf("%s is %s for %q, want RESERVED for c1", id, s.State, s.Call)
			}
		}
		if err := a.Ringing(ctx, "c1", "a2"); err != nil {
			t.Fatal(err)
		}
		if err := a.Ringing(ctx, "c1", "a5"); err != nil {
			t.Fatal(err)
		}
		if err := a.Answered(ctx, "c1", "a5"); err != nil {
			t.Fatal(err)
		}
		if s := stateOf(t, a, "a5"); s.State != OnCall || s.CallsToday != 1 {
			t.Fatalf("a5 is %s with %d calls, want ON_CALL with 1", s.State, s.CallsToday)
		}
		for _, id := range []AgentID{"a1", "a2"} {
			if s := stateOf(t, a, id); s.State != Ready || s.CallsToday != 0 {
				t.Fatalf("%s is %s (%d calls), want READY again", id, s.State, s.CallsToday)
			}
		}
		if w, _ := a.Waiting(ctx, "q"); len(w) != 0 {
			t.Fatalf("still waiting: %v", w)
		}
		// Every change is journalled with the contact: a2 rang, then was
		// released.
		if a2 := j.states("a2"); !slices.Equal(a2, []State{Reserved, Ringing, Ready}) {
			t.Fatalf("a2's changes %v", a2)
		}
	})
}

// An agent of a ring-all who does not answer leaves the offer (and goes
// NOT_READY as any agent who lets an offer ring out); the others ring
// on. When the last has not answered, the call is offered again to
// whoever is READY then, keeping its place.
func TestRingAllNoAnswerAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		ctx := context.Background()
		a, _ := runQueues(t, []QueueConfig{{ID: "q", RingAll: true, RingTimeout: 10 * time.Second}},
			liveAgent("a1", t0, nil, "q"), liveAgent("a2", t0, nil, "q"))
		var got offers
		if err := a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: t0, Offer: got.put}); err != nil {
			t.Fatal(err)
		}
		if o := got.take(); len(o) != 1 || len(offered(o[0])) != 2 {
			t.Fatalf("offers %+v", o)
		}
		if err := a.NoAnswer(ctx, "c1", "a1", ReasonNoAnswer); err != nil {
			t.Fatal(err)
		}
		if s := stateOf(t, a, "a1"); s.State != NotReady {
			t.Fatalf("a1 is %s, want NOT_READY", s.State)
		}
		if s := stateOf(t, a, "a2"); s.State != Reserved {
			t.Fatalf("a2 is %s, want still RESERVED (ringing on)", s.State)
		}
		if o := got.take(); len(o) != 0 {
			t.Fatalf("re-offered while a2 still rings: %+v", o)
		}
		// a1 comes back; a2 lets it ring out: the call is offered to a1.
		if err := a.Ready(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if o := got.take(); len(o) != 0 {
			t.Fatalf("offered to a1 while a2 still rings: %+v", o)
		}
		if err := a.NoAnswer(ctx, "c1", "a2", ReasonNoAnswer); err != nil {
			t.Fatal(err)
		}
		o := got.take()
		if len(o) != 1 || !slices.Equal(offered(o[0]), []AgentID{"a1"}) {
			t.Fatalf("offers %+v: want the call offered again, to a1", o)
		}
		// The caller hangs up while a1 rings: a1 is READY again.
		if err := a.Cancel(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if s := stateOf(t, a, "a1"); s.State != Ready {
			t.Fatalf("a1 is %s after the caller left, want READY", s.State)
		}
	})
}
