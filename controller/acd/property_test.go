package acd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

// Random sequences of every operation (agent requests, calls, offers and
// their outcomes, hold, wrap-up, callbacks, time passing) never leave an
// agent in a state it could not legally reach, the journal holds only
// legal transitions that chain from one to the next, an agent tied to a
// call names it, and no waiting call that may be offered has a READY
// agent who may take it.
func TestStateMachineProperty(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { propertyRun(t, seed) })
		})
	}
}

func propertyRun(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 99))
	t0 := time.Now()
	queues := []QueueConfig{
		{ID: "q", WrapUp: 3 * time.Second, WrapUpMaxExtension: 5 * time.Second, Skills: map[string]int{"billing": 5},
			Overflow: []OverflowStep{{After: 10 * time.Second, MinLevel: 2}, {After: 20 * time.Second, ToQueue: "r"}},
			MaxWait:  &MaxWait{After: 40 * time.Second, Action: MaxWaitRelease},
			Callback: CallbackPolicy{Attempts: 2, Interval: 5 * time.Second, DialTimeout: 8 * time.Second}},
		{ID: "r", Router: NewRoundRobin(), WrapUp: 0},
	}
	var agents []Agent
	for i := range 5 {
		ag := liveAgent(fmt.Sprintf("a%d", i), t0, map[string]int{"billing": 1 + rng.IntN(10)}, "q")
		if i%2 == 0 {
			ag.Queues["r"] = true
		}
		ag.State = []State{LoggedOut, Ready, NotReady}[rng.IntN(3)]
		agents = append(agents, ag)
	}
	j := &memJournal{}
	a := New(queues, agents, j, quiet())
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	var offered offers
	a.SetCallbackHandler(offered.put)

	ids := []AgentID{"a0", "a1", "a2", "a3", "a4"}
	var callsMade []CallID
	nCall, nCB := 0, int64(0)
	var ag AgentID
	pickCall := func() CallID {
		if rng.IntN(10) < 7 { // mostly the call the agent is tied to
			ags, _ := a.Agents(ctx)
			for _, x := range ags {
				if x.ID == ag && x.Call != "" {
					return x.Call
				}
			}
		}
		if len(callsMade) == 0 || rng.IntN(10) == 0 {
			return "nope"
		}
		return callsMade[rng.IntN(len(callsMade))]
	}
	for step := range 300 {
		ag = ids[rng.IntN(len(ids))]
		var err error
		switch op := rng.IntN(17); op {
		case 0:
			err = a.Login(ctx, ag)
		case 1, 2:
			err = a.Ready(ctx, ag)
		case 3:
			err = a.NotReady(ctx, ag, Reasons()[rng.IntN(5)].Name)
		case 4:
			err = a.Logout(ctx, ag)
		case 5, 6:
			nCall++
			c := CallID(fmt.Sprint("c", nCall))
			callsMade = append(callsMade, c)
			err = a.Enqueue(ctx, Waiting{Call: c, Queue: []QueueID{"q", "r"}[rng.IntN(2)], EnqueuedAt: time.Now(), Priority: rng.IntN(3),
				Offer: offered.put, OnMaxWait: func(MaxWaitNotice) {}})
		case 7:
			err = a.Cancel(ctx, pickCall())
		case 8:
			err = a.Ringing(ctx, pickCall(), ag)
		case 9:
			err = a.Answered(ctx, pickCall(), ag)
		case 10:
			err = a.NoAnswer(ctx, pickCall(), ag, ReasonNoAnswer)
		case 11:
			if rng.IntN(2) == 0 {
				err = a.Hold(ctx, ag)
			} else {
				err = a.Unhold(ctx, ag)
			}
		case 12:
			err = a.Ended(ctx, pickCall(), ag, 0)
		case 13:
			if rng.IntN(2) == 0 {
				_, err = a.ExtendWrapUp(ctx, ag, time.Duration(rng.IntN(4))*time.Second)
			} else {
				err = a.EndWrapUp(ctx, ag)
			}
		case 14:
			nCB++
			callsMade = append(callsMade, CallbackCallID(nCB))
			_, err = a.EnqueueCallback(ctx, Callback{ID: nCB, Queue: "q", Number: "10086", EnqueuedAt: time.Now().Add(-time.Duration(rng.IntN(30)) * time.Second)})
		case 15:
			id, _ := ParseCallbackCallID(pickCall())
			err = a.CallbackResult(ctx, id, ag, []CallbackOutcome{OutcomeAnswered, OutcomeNoAnswer, OutcomeBusy, OutcomeFailed}[rng.IntN(4)])
		case 16:
			time.Sleep(time.Duration(rng.IntN(6000)) * time.Millisecond)
			synctest.Wait()
		}
		_ = err // refusals are expected; what matters is the state after
		offered.take()
		if rng.IntN(20) == 0 {
			_, _ = a.Reconcile(ctx, func(c CallID) bool { return rng.IntN(2) == 0 })
		}
		checkInvariants(t, a, j, step)
		if t.Failed() {
			return
		}
	}
}

func checkInvariants(t *testing.T, a *ACD, j *memJournal, step int) {
	t.Helper()
	_ = a.do(context.Background(), func() error {
		for _, ag := range a.order {
			if busy(ag.State) != (ag.Call != "") {
				t.Errorf("step %d: agent %s is %s with call %q", step, ag.ID, ag.State, ag.Call)
			}
			if (ag.State == AfterCallWork) == ag.WrapUpEnds.IsZero() {
				t.Errorf("step %d: agent %s is %s, wrap-up ends %v", step, ag.ID, ag.State, ag.WrapUpEnds)
			}
		}
		now := a.now()
		for _, w := range a.line {
			if w.offering != "" || w.leaving {
				continue
			}
			for _, ag := range a.order {
				for _, r := range w.alts {
					r.Now = now
					if Eligible(ag, &r) {
						t.Errorf("step %d: call %s waits while READY agent %s may take it", step, w.Call, ag.ID)
					}
				}
			}
		}
		return nil
	})
	j.mu.Lock()
	defer j.mu.Unlock()
	last := map[AgentID]State{}
	for _, c := range j.changes {
		if err := CheckTransition(c.From, c.To); err != nil {
			t.Errorf("step %d: journal: agent %s: %v", step, c.Agent, err)
		}
		if prev, ok := last[c.Agent]; ok && prev != c.From {
			t.Errorf("step %d: journal: agent %s went %s → %s after reaching %s", step, c.Agent, c.From, c.To, prev)
		}
		last[c.Agent] = c.To
	}
}
