package acd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type memJournal struct {
	mu      sync.Mutex
	changes []AgentChange
}

func (j *memJournal) Record(c AgentChange) {
	j.mu.Lock()
	j.changes = append(j.changes, c)
	j.mu.Unlock()
}

func (j *memJournal) states(agent AgentID) []State {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []State
	for _, c := range j.changes {
		if c.Agent == agent {
			out = append(out, c.To)
		}
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func agent(id string, state State, idle time.Time) Agent {
	return Agent{ID: AgentID(id), Endpoint: "PJSIP/" + id, State: state, IdleSince: idle, Queues: map[QueueID]bool{"q": true}}
}

func TestLongestIdlePicksTheAgentIdleLongest(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a1 := agent("a1", Ready, t0.Add(2*time.Minute))
	a2 := agent("a2", Ready, t0)
	a3 := agent("a3", NotReady, t0.Add(-time.Hour)) // idle longer, but not ready
	a4 := agent("a4", Ready, t0.Add(-time.Hour))
	a4.Queues = map[QueueID]bool{"other": true} // idle longest, wrong queue
	got := LongestIdle("q", []*Agent{&a1, &a2, &a3, &a4})
	if got == nil || got.ID != "a2" {
		t.Fatalf("LongestIdle = %v, want a2", got)
	}
	if LongestIdle("none", []*Agent{&a1, &a2}) != nil {
		t.Fatal("an agent was chosen for a queue nobody serves")
	}
	// Ties go to the lower ID, so the choice does not depend on map order.
	b1, b2 := agent("b2", Ready, t0), agent("b1", Ready, t0)
	if got := LongestIdle("q", []*Agent{&b1, &b2}); got.ID != "b1" {
		t.Fatalf("tie went to %s, want b1", got.ID)
	}
}

func TestTransitions(t *testing.T) {
	ok := [][2]State{{LoggedOut, Ready}, {Ready, Reserved}, {Reserved, Ringing}, {Reserved, OnCall}, {Reserved, NotReady}, {Reserved, Ready},
		{Ringing, OnCall}, {OnCall, OnHold}, {OnHold, OnCall}, {OnHold, AfterCallWork}, {OnCall, AfterCallWork}, {AfterCallWork, Ready}, {Ringing, NotReady}}
	for _, tr := range ok {
		if err := CheckTransition(tr[0], tr[1]); err != nil {
			t.Errorf("%s → %s rejected: %v", tr[0], tr[1], err)
		}
	}
	bad := [][2]State{{LoggedOut, OnCall}, {OnCall, Ready}, {OnCall, LoggedOut}, {NotReady, OnCall}, {AfterCallWork, OnCall},
		{Ready, Ringing}, {Ready, OnCall}, {Ready, OnHold}, {NotReady, Reserved}, {OnHold, Ready}, {OnHold, LoggedOut}, {Ringing, OnHold}, {AfterCallWork, OnHold}}
	for _, tr := range bad {
		err := CheckTransition(tr[0], tr[1])
		if !errors.Is(err, ErrIllegal) {
			t.Errorf("%s → %s allowed", tr[0], tr[1])
		} else if want := string(tr[0]) + " → " + string(tr[1]); !contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// run starts an ACD in a synctest bubble and returns it with its journal.
func run(t *testing.T, agents ...Agent) (*ACD, *memJournal, chan Offer) {
	t.Helper()
	j := &memJournal{}
	a := New([]QueueConfig{{ID: "q", RingTimeout: 10 * time.Second, WrapUp: 5 * time.Second}}, agents, j, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return a, j, make(chan Offer, 16)
}

func TestCallsAreOfferedInLineOrderAndRequeuedAfterNoAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		t0 := time.Now()
		a, j, offers := run(t, agent("a1", LoggedOut, t0), agent("a2", LoggedOut, t0))
		enqueue := func(call string, at time.Time) {
			if err := a.Enqueue(ctx, Waiting{Call: CallID(call), Queue: "q", EnqueuedAt: at, Offer: func(o Offer) { offers <- o }}); err != nil {
				t.Fatal(err)
			}
		}
		// c2 joined after c1, but is enqueued first (as after a restart).
		enqueue("c2", t0.Add(2*time.Second))
		enqueue("c1", t0.Add(time.Second))
		if w, _ := a.Waiting(ctx, "q"); len(w) != 2 || w[0] != "c1" {
			t.Fatalf("line = %v, want c1 first", w)
		}
		if err := a.Login(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if err := a.Ready(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		o := <-offers
		if o.Call != "c1" || o.Agent != "a1" || o.RingTimeout != 10*time.Second {
			t.Fatalf("offer %+v, want c1 to a1", o)
		}
		// a1 does not answer: NOT_READY "no answer", c1 keeps its place.
		if err := a.NoAnswer(ctx, "c1", "a1", ReasonNoAnswer); err != nil {
			t.Fatal(err)
		}
		_ = a.Login(ctx, "a2")
		_ = a.Ready(ctx, "a2")
		o = <-offers
		if o.Call != "c1" || o.Agent != "a2" {
			t.Fatalf("offer %+v, want c1 again, to a2", o)
		}
		if err := a.Answered(ctx, "c1", "a2"); err != nil {
			t.Fatal(err)
		}
		ags, _ := a.Agents(ctx)
		if ags[0].State != NotReady || ags[0].Reason != ReasonNoAnswer {
			t.Fatalf("a1 = %s %q, want NOT_READY no answer", ags[0].State, ags[0].Reason)
		}
		// Hang-up: after-call work, then READY when wrap-up is over, and
		// then c2 is offered to a2.
		if err := a.Ended(ctx, "c1", "a2", 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second)
		synctest.Wait()
		select {
		case o := <-offers:
			t.Fatalf("offered %+v during wrap-up", o)
		default:
		}
		time.Sleep(2 * time.Second)
		o = <-offers
		if o.Call != "c2" || o.Agent != "a2" {
			t.Fatalf("offer %+v, want c2 to a2", o)
		}
		want := []State{NotReady, Ready, Reserved, OnCall, AfterCallWork, Ready, Reserved}
		if got := j.states("a2"); !equal(got, want) {
			t.Fatalf("a2 journal %v, want %v", got, want)
		}
	})
}

func TestCancelWhileRingingFreesTheAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, _, offers := run(t, agent("a1", Ready, time.Now()))
		_ = a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: time.Now(), Offer: func(o Offer) { offers <- o }})
		<-offers
		if err := a.Cancel(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		ags, _ := a.Agents(ctx)
		if ags[0].State != Ready {
			t.Fatalf("agent %s after the caller left, want READY", ags[0].State)
		}
		if w, _ := a.Waiting(ctx, "q"); len(w) != 0 {
			t.Fatalf("line %v after cancel", w)
		}
	})
}

func TestIllegalRequestsAreRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, _, _ := run(t, agent("a1", OnCall, time.Now()))
		if err := a.Logout(ctx, "a1"); !errors.Is(err, ErrIllegal) {
			t.Fatalf("logout on call: %v, want ErrIllegal", err)
		}
		if err := a.Ready(ctx, "nobody"); !errors.Is(err, ErrUnknownAgent) {
			t.Fatalf("unknown agent: %v", err)
		}
		if err := a.Enqueue(ctx, Waiting{Call: "c", Queue: "nope", Offer: func(Offer) {}}); err == nil {
			t.Fatal("unknown queue accepted")
		}
	})
}

func TestReleaseOrphansAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, _, _ := run(t, agent("ringing", Ringing, time.Now()), agent("talking", OnCall, time.Now()), agent("gone", OnCall, time.Now()))
		if err := a.ReleaseOrphans(ctx, map[AgentID]bool{"talking": true}); err != nil {
			t.Fatal(err)
		}
		ags, _ := a.Agents(ctx)
		got := map[AgentID]State{}
		for _, ag := range ags {
			got[ag.ID] = ag.State
		}
		if got["ringing"] != Ready || got["talking"] != OnCall || got["gone"] != AfterCallWork {
			t.Fatalf("after reconciliation: %v", got)
		}
	})
}

func equal(a, b []State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPriorityCallerGoesAheadWithoutStarvingOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		t0 := time.Now()
		a, _, offers := run(t, agent("a1", LoggedOut, t0))
		offer := func(o Offer) { offers <- o }
		// A normal caller who has waited 5 minutes, one who has waited
		// 10 s, and a VIP who just joined (120 s head start).
		_ = a.Enqueue(ctx, Waiting{Call: "old", Queue: "q", EnqueuedAt: t0.Add(-5 * time.Minute), Offer: offer})
		_ = a.Enqueue(ctx, Waiting{Call: "recent", Queue: "q", EnqueuedAt: t0.Add(-10 * time.Second), Offer: offer})
		_ = a.Enqueue(ctx, Waiting{Call: "vip", Queue: "q", EnqueuedAt: t0, Priority: PriorityVIP, Offer: offer})
		w, _ := a.Waiting(ctx, "q")
		if got := fmt.Sprint(w); got != "[old vip recent]" {
			t.Fatalf("line %s, want [old vip recent]", got)
		}
		_ = a.Login(ctx, "a1")
		_ = a.Ready(ctx, "a1")
		if o := <-offers; o.Call != "old" {
			t.Fatalf("first offer to %s, want the caller waiting 5 minutes", o.Call)
		}
	})
}

func TestReconcileFreesAgentsOfVanishedCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, _, offers := run(t, agent("a1", Ready, time.Now()), agent("a2", Ready, time.Now().Add(time.Second)))
		offer := func(o Offer) { offers <- o }
		_ = a.Enqueue(ctx, Waiting{Call: "talking", Queue: "q", EnqueuedAt: time.Now(), Offer: offer})
		<-offers
		_ = a.Answered(ctx, "talking", "a1")
		_ = a.Enqueue(ctx, Waiting{Call: "ringing", Queue: "q", EnqueuedAt: time.Now(), Offer: offer})
		<-offers
		// Both calls vanished without their hang-up reaching the ACD.
		n, err := a.Reconcile(ctx, func(CallID) bool { return false })
		if err != nil || n != 2 {
			t.Fatalf("Reconcile corrected %d agents (%v), want 2", n, err)
		}
		ags, _ := a.Agents(ctx)
		// a2 is freed; the caller it rang for is still in line, so it is
		// offered again, to the only free agent.
		if o := <-offers; o.Call != "ringing" || o.Agent != "a2" {
			t.Fatalf("re-offer %+v", o)
		}
		if ags[0].State != AfterCallWork {
			t.Fatalf("after reconcile: a1 %s, want AFTER_CALL_WORK", ags[0].State)
		}
		// A live call is left alone.
		if n, _ := a.Reconcile(ctx, func(CallID) bool { return true }); n != 0 {
			t.Fatalf("corrected %d agents on live calls", n)
		}
		time.Sleep(6 * time.Second) // wrap-up is 5 s
		synctest.Wait()
		if ags, _ := a.Agents(ctx); ags[0].State != Ready {
			t.Fatalf("a1 %s after wrap-up, want READY", ags[0].State)
		}
	})
}

// Today's counters start afresh at midnight (local time): fewest-calls
// must not hold yesterday's work against an agent.
func TestTodayCountersResetAtMidnight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		t0 := time.Now()
		busy := agent("a1", Ready, t0)
		busy.CallsToday, busy.TalkToday = 40, 3*time.Hour
		a, _, _ := run(t, busy)
		counters := func() (int, time.Duration) {
			ags, err := a.Agents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return ags[0].CallsToday, ags[0].TalkToday
		}
		if n, talk := counters(); n != 40 || talk != 3*time.Hour {
			t.Fatalf("same day: %d calls, %s talk; want 40, 3h", n, talk)
		}
		y, m, d := time.Now().Date()
		time.Sleep(time.Date(y, m, d+1, 0, 0, 1, 0, time.Local).Sub(time.Now()))
		if n, talk := counters(); n != 0 || talk != 0 {
			t.Fatalf("after midnight: %d calls, %s talk; want 0, 0", n, talk)
		}
	})
}
