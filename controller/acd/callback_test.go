package acd

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type memCallbacks struct {
	mu      sync.Mutex
	changes []CallbackChange
}

func (m *memCallbacks) RecordCallback(c CallbackChange) {
	m.mu.Lock()
	m.changes = append(m.changes, c)
	m.mu.Unlock()
}

func (m *memCallbacks) states(id int64) []CallbackState {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []CallbackState
	for _, c := range m.changes {
		if c.ID == id {
			out = append(out, c.State)
		}
	}
	return out
}

// A callback keeps the caller's original place ahead of callers who joined
// later, reserves the agent, and completes through the normal agent calls.
func TestCallbackKeepsPlaceAndCompletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		t0 := time.Now()
		idle := liveAgent("a1", t0, nil, "q")
		idle.State = NotReady
		j := &memJournal{}
		a := New([]QueueConfig{{ID: "q", RingTimeout: 10 * time.Second}}, []Agent{idle}, j, quiet())
		cbj := &memCallbacks{}
		a.SetCallbackJournal(cbj)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = a.Run(runCtx) }()
		defer func() { cancel(); <-done }()

		var calls, dials offers
		time.Sleep(time.Minute)
		_ = a.Enqueue(ctx, Waiting{Call: "later", Queue: "q", EnqueuedAt: time.Now(), Offer: calls.put})
		// The caller joined at t0 and asked for a callback a minute later.
		pos, err := a.EnqueueCallback(ctx, Callback{ID: 42, Queue: "q", Number: "+8613800000000", EnqueuedAt: t0, Mode: AgentFirst})
		if err != nil || pos != 1 {
			t.Fatalf("EnqueueCallback: position %d, %v; want 1", pos, err)
		}
		if w, _ := a.Waiting(ctx, "q"); !slices.Equal(w, []CallID{CallbackCallID(42), "later"}) {
			t.Fatalf("line %v", w)
		}
		a.SetCallbackHandler(dials.put)
		_ = a.Ready(ctx, "a1")
		d := dials.take()
		if len(d) != 1 || d[0].Callback == nil || d[0].Agent != "a1" || d[0].Call != CallbackCallID(42) {
			t.Fatalf("callback offers %+v", d)
		}
		if cb := d[0].Callback; cb.ID != 42 || cb.Number != "+8613800000000" || cb.Mode != AgentFirst || cb.Attempt != 1 {
			t.Fatalf("callback offer %+v", cb)
		}
		if o := calls.take(); len(o) != 0 {
			t.Fatalf("the later caller was offered %+v", o)
		}
		if s := stateOf(t, a, "a1"); s.State != Reserved {
			t.Fatalf("agent %s, want RESERVED", s.State)
		}
		info, err := a.CallbackStatus(ctx, 42)
		if err != nil || info.State != CallbackOffered || info.Agent != "a1" || info.Position != 1 {
			t.Fatalf("status %+v %v", info, err)
		}
		// The dial's contact: the agent's states from now on are filed
		// under it.
		if err := a.DialContact(ctx, 42, 900); err != nil {
			t.Fatal(err)
		}
		// Agent first: the agent's phone rings, the agent answers, then the
		// customer answers.
		if err := a.Ringing(ctx, CallbackCallID(42), "a1"); err != nil {
			t.Fatal(err)
		}
		if err := a.Answered(ctx, CallbackCallID(42), "a1"); err != nil {
			t.Fatal(err)
		}
		if err := a.CallbackResult(ctx, 42, "a1", OutcomeAnswered); err != nil {
			t.Fatal(err)
		}
		if _, err := a.CallbackStatus(ctx, 42); !errors.Is(err, ErrUnknownCallback) {
			t.Fatalf("completed callback still live: %v", err)
		}
		if err := a.Ended(ctx, CallbackCallID(42), "a1", 0); err != nil {
			t.Fatal(err)
		}
		if got, want := cbj.states(42), []CallbackState{CallbackPending, CallbackOffered, CallbackCompleted}; !slices.Equal(got, want) {
			t.Fatalf("callback journal %v, want %v", got, want)
		}
		if got, want := j.states("a1"), []State{Ready, Reserved, Ringing, OnCall, AfterCallWork}; !equal(got, want) {
			t.Fatalf("agent journal %v, want %v", got, want)
		}
		if err := a.CallbackResult(ctx, 42, "a1", OutcomeAnswered); !errors.Is(err, ErrUnknownCallback) {
			t.Fatalf("second result: %v", err)
		}
		j.mu.Lock()
		for _, c := range j.changes {
			if (c.To == Ringing || c.To == OnCall) && c.ContactID != 900 {
				t.Errorf("agent %s under contact %d, want the dial's contact 900", c.To, c.ContactID)
			}
		}
		j.mu.Unlock()
		if err := a.DialContact(ctx, 42, 901); !errors.Is(err, ErrUnknownCallback) {
			t.Fatalf("dial contact of a finished callback: %v", err)
		}
	})
}

// Without a registered dialler no agent is reserved for a callback; calls
// behind it are served.
func TestCallbackWithoutHandlerWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, j := runQueues(t, []QueueConfig{{ID: "q"}}, liveAgent("a1", time.Now(), nil, "q"))
		var calls offers
		if _, err := a.EnqueueCallback(ctx, Callback{ID: 1, Queue: "q", Number: "10086", EnqueuedAt: time.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		_ = a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: time.Now(), Offer: calls.put})
		if o := calls.take(); len(o) != 1 || o[0].Call != "c1" {
			t.Fatalf("offers %+v", o)
		}
		if got := j.states("a1"); !equal(got, []State{Reserved}) {
			t.Fatalf("journal %v", got)
		}
	})
}

// A callback nobody answers is retried after the queue's interval from its
// original place, and fails for good after the last attempt.
func TestCallbackRetriesThenFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a := New([]QueueConfig{{ID: "q", Callback: CallbackPolicy{Attempts: 2, Interval: time.Minute, DialTimeout: 30 * time.Second}}},
			[]Agent{liveAgent("a1", time.Now(), nil, "q")}, &memJournal{}, quiet())
		cbj := &memCallbacks{}
		a.SetCallbackJournal(cbj)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = a.Run(runCtx) }()
		defer func() { cancel(); <-done }()
		var dials, calls offers
		a.SetCallbackHandler(dials.put)
		t0 := time.Now()
		if _, err := a.EnqueueCallback(ctx, Callback{ID: 7, Queue: "q", Number: "10086", EnqueuedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if d := dials.take(); len(d) != 1 || d[0].Callback.Attempt != 1 || d[0].Callback.Mode != CustomerFirst {
			t.Fatalf("dials %+v", d)
		}
		if err := a.CallbackResult(ctx, 7, "a1", OutcomeBusy); err != nil {
			t.Fatal(err)
		}
		if s := stateOf(t, a, "a1"); s.State != Ready {
			t.Fatalf("agent %s after a busy customer, want READY", s.State)
		}
		info, _ := a.CallbackStatus(ctx, 7)
		if info.State != CallbackScheduled || info.Position != 0 || info.Attempts != 1 || !info.NextAttemptAt.Equal(time.Now().Add(time.Minute)) {
			t.Fatalf("status %+v", info)
		}
		// A caller joins meanwhile; the agent takes and finishes it.
		time.Sleep(30 * time.Second)
		_ = a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: time.Now(), Offer: calls.put})
		_ = a.Answered(ctx, "c1", "a1")
		_ = a.Enqueue(ctx, Waiting{Call: "c2", Queue: "q", EnqueuedAt: time.Now(), Offer: calls.put})
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if w, _ := a.Waiting(ctx, "q"); !slices.Equal(w, []CallID{CallbackCallID(7), "c2"}) {
			t.Fatalf("line after the interval %v, want the callback back at its place before c2", w)
		}
		_ = a.Ended(ctx, "c1", "a1", 0) // wrap-up 0: READY, the callback goes first
		synctest.Wait()
		d := dials.take()
		if len(d) != 1 || d[0].Callback.Attempt != 2 {
			t.Fatalf("second dial %+v", d)
		}
		// The dialler never reports: the dial deadline frees the agent and
		// counts the attempt, the last one.
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if _, err := a.CallbackStatus(ctx, 7); !errors.Is(err, ErrUnknownCallback) {
			t.Fatalf("callback still live after its last attempt: %v", err)
		}
		want := []CallbackState{CallbackPending, CallbackOffered, CallbackScheduled, CallbackPending, CallbackOffered, CallbackFailed}
		if got := cbj.states(7); !slices.Equal(got, want) {
			t.Fatalf("callback journal %v, want %v", got, want)
		}
		if o := calls.take(); len(o) != 2 || o[1].Call != "c2" || o[1].Agent != "a1" {
			t.Fatalf("after the deadline the agent should take c2: %+v", o)
		}
		cbj.mu.Lock()
		last := cbj.changes[len(cbj.changes)-1]
		cbj.mu.Unlock()
		if last.Attempts != 2 || last.Outcome != "dial timeout" {
			t.Fatalf("final record %+v", last)
		}
	})
}

// An offer made just before the call reported its result (the customer
// reached callback.hold_max as an agent freed up) no longer stands: the
// result released the agent, and a dial with that offer would book the
// agent twice.
func TestCallbackOfferStandsUntilTheResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, _ := runQueues(t, []QueueConfig{{ID: "q", Callback: CallbackPolicy{Attempts: 3, Interval: time.Minute, DialTimeout: 30 * time.Second}}},
			liveAgent("a1", time.Now(), nil, "q"))
		var dials, calls offers
		a.SetCallbackHandler(dials.put)
		if _, err := a.EnqueueCallback(ctx, Callback{ID: 9, Queue: "q", Number: "10086", EnqueuedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		d := dials.take()
		if len(d) != 1 {
			t.Fatalf("dials %+v", d)
		}
		if ok, err := a.OfferStands(ctx, d[0]); !ok || err != nil {
			t.Fatalf("a fresh offer: stands %v, %v", ok, err)
		}
		// The call gives up before it has read the offer.
		if err := a.CallbackResult(ctx, 9, "", OutcomeNoAgent); err != nil {
			t.Fatal(err)
		}
		if ok, err := a.OfferStands(ctx, d[0]); ok || err != nil {
			t.Fatalf("after the result: stands %v, %v; want false", ok, err)
		}
		// The released agent takes the next caller; the stale offer still
		// does not stand, though the agent is RESERVED again.
		_ = a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: time.Now(), Offer: calls.put})
		if o := calls.take(); len(o) != 1 || o[0].Agent != "a1" {
			t.Fatalf("the next caller was not offered to a1: %+v", o)
		}
		if ok, _ := a.OfferStands(ctx, d[0]); ok {
			t.Fatal("the stale callback offer stands while a1 is reserved for c1")
		}
		if ok, _ := a.OfferStands(ctx, Offer{Call: "c1", Agent: "a1"}); !ok {
			t.Fatal("c1's offer does not stand")
		}
	})
}

func TestCallbackValidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, _ := runQueues(t, []QueueConfig{{ID: "q"}})
		now := time.Now()
		for _, c := range []Callback{
			{ID: 1, Queue: "q", Number: "12ab", EnqueuedAt: now},
			{ID: 1, Queue: "q", Number: "", EnqueuedAt: now},
			{ID: 1, Queue: "q", Number: "123456789012345678901", EnqueuedAt: now},
			{ID: 1, Queue: "q", Number: "1+2", EnqueuedAt: now},
			{ID: 1, Queue: "nope", Number: "10086", EnqueuedAt: now},
			{ID: 0, Queue: "q", Number: "10086", EnqueuedAt: now},
			{ID: 1, Queue: "q", Number: "10086", EnqueuedAt: now, Mode: "whenever"},
			{ID: 1, Queue: "q", Number: "10086"},
		} {
			if _, err := a.EnqueueCallback(ctx, c); !errors.Is(err, ErrInvalidCallback) {
				t.Errorf("%+v: %v, want ErrInvalidCallback", c, err)
			}
		}
		if _, err := a.EnqueueCallback(ctx, Callback{ID: 1, Queue: "q", Number: "+12345678901234567890", EnqueuedAt: now}); err != nil {
			t.Fatalf("20 digits with +: %v", err)
		}
		if _, err := a.EnqueueCallback(ctx, Callback{ID: 1, Queue: "q", Number: "1", EnqueuedAt: now}); !errors.Is(err, ErrInvalidCallback) {
			t.Fatalf("duplicate id: %v", err)
		}
		if err := a.CallbackResult(ctx, 1, "", "maybe"); !errors.Is(err, ErrInvalidCallback) {
			t.Fatalf("bad outcome: %v", err)
		}
		if err := a.CancelCallback(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if w, _ := a.Waiting(ctx, "q"); len(w) != 0 {
			t.Fatalf("line after cancel %v", w)
		}
	})
}
