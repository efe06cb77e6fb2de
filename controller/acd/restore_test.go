package acd

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// Today's counters restored at start count only if they were last
// updated today in the ACD's local time, whatever zone the store handed
// the time back in: a restart after midnight must not hold yesterday's
// work against an agent (fewest-calls) nor for it.
func TestRestoredCountersCountOnlyIfUpdatedToday(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Date(2000, 1, 3, 10, 0, 0, 0, time.Local)
		time.Sleep(time.Until(now))
		midnight := time.Date(2000, 1, 3, 0, 0, 0, 0, time.Local)
		_, off := midnight.Zone()
		// The same instants written in zones where their dates differ from
		// the local ones: the local date is what counts.
		ahead := time.FixedZone("ahead", off+2*3600)   // a second before midnight is already "today" here
		behind := time.FixedZone("behind", off-2*3600) // a second after midnight is still "yesterday" here

		yesterday := liveAgent("a1", now.Add(-time.Minute), nil, "q")
		yesterday.CallsToday, yesterday.TalkToday = 40, 3*time.Hour
		yesterday.CountersAt = midnight.Add(-time.Second).In(ahead)
		today := liveAgent("a2", now.Add(-2*time.Minute), nil, "q")
		today.CallsToday, today.TalkToday = 5, 20*time.Minute
		today.CountersAt = midnight.Add(time.Second).In(behind)
		given := liveAgent("a3", now.Add(-3*time.Minute), nil, "q") // counters handed in with no date: today's
		given.CallsToday, given.TalkToday = 7, 30*time.Minute

		a, _ := runQueues(t, []QueueConfig{{ID: "q", Router: FewestCallsRouter{}, RingTimeout: 10 * time.Second}}, yesterday, today, given)
		for id, want := range map[AgentID]struct {
			calls int
			talk  time.Duration
		}{"a1": {0, 0}, "a2": {5, 20 * time.Minute}, "a3": {7, 30 * time.Minute}} {
			if ag := stateOf(t, a, id); ag.CallsToday != want.calls || ag.TalkToday != want.talk {
				t.Errorf("%s restored with %d calls, %s talk today; want %d, %s", id, ag.CallsToday, ag.TalkToday, want.calls, want.talk)
			}
		}
		// a1 worked 40 calls yesterday but none today: fewest-calls gives
		// it the call, although it has been idle the shortest.
		var got offers
		if err := a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: now, Offer: got.put}); err != nil {
			t.Fatal(err)
		}
		if o := got.take(); len(o) != 1 || o[0].Agent != "a1" {
			t.Fatalf("offers %+v, want c1 to a1 (no calls today)", o)
		}
	})
}

// An agent restored on a call that survived the restart (AdoptCall)
// counts the call's talk time from the restored state's start, or from
// midnight for a call begun yesterday, and every journalled change
// carries the counters the store keeps for the next restart.
func TestAdoptedCallCountsItsTalkTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Date(2000, 1, 3, 0, 2, 0, 0, time.Local)
		time.Sleep(time.Until(now))

		early := agent("a1", OnCall, now.Add(-time.Hour))
		early.Call, early.Since = "c1", now.Add(-90*time.Second)
		early.CallsToday, early.TalkToday, early.CountersAt = 3, 10*time.Minute, now.Add(-90*time.Second)
		late := agent("a2", OnHold, now.Add(-time.Hour))
		late.Call, late.Since = "c2", now.Add(-10*time.Minute) // on hold since 23:52 yesterday
		late.CallsToday, late.TalkToday, late.CountersAt = 9, time.Hour, now.Add(-10*time.Minute)
		a, j, _ := run(t, early, late)

		for _, c := range []struct {
			call  CallID
			agent AgentID
		}{{"c1", "a1"}, {"c2", "a2"}} {
			if err := a.AdoptCall(ctx, c.call, c.agent, 0); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Minute)
		if err := a.Unhold(ctx, "a2"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			call  CallID
			agent AgentID
		}{{"c1", "a1"}, {"c2", "a2"}} {
			if err := a.Ended(ctx, c.call, c.agent, 0); err != nil {
				t.Fatal(err)
			}
		}
		// a1: 90 s before the restart and 60 s after; a2: from midnight
		// (3 min), yesterday's hour and calls not restored.
		for id, want := range map[AgentID]struct {
			calls int
			talk  time.Duration
		}{"a1": {3, 10*time.Minute + 150*time.Second}, "a2": {0, 3 * time.Minute}} {
			if ag := stateOf(t, a, id); ag.CallsToday != want.calls || ag.TalkToday != want.talk {
				t.Errorf("%s: %d calls, %s talk today; want %d, %s", id, ag.CallsToday, ag.TalkToday, want.calls, want.talk)
			}
			var last AgentChange
			j.mu.Lock()
			for _, c := range j.changes {
				if c.Agent == id {
					last = c
				}
			}
			j.mu.Unlock()
			if last.To != AfterCallWork || last.CallsToday != want.calls || last.TalkToday != want.talk {
				t.Errorf("%s: last journalled change %+v; want to AFTER_CALL_WORK with %d calls, %s talk", id, last, want.calls, want.talk)
			}
		}
	})
}

// Answering a call is journalled with the day's call count including it.
func TestJournalCarriesTodayCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a, j, offers := run(t, agent("a1", Ready, time.Now()))
		if err := a.Enqueue(ctx, Waiting{Call: "c1", Queue: "q", EnqueuedAt: time.Now(), Offer: func(o Offer) { offers <- o }}); err != nil {
			t.Fatal(err)
		}
		<-offers
		if err := a.Answered(ctx, "c1", "a1"); err != nil {
			t.Fatal(err)
		}
		j.mu.Lock()
		last := j.changes[len(j.changes)-1]
		j.mu.Unlock()
		if last.To != OnCall || last.CallsToday != 1 || last.TalkToday != 0 {
			t.Fatalf("answer journalled as %+v; want ON_CALL with 1 call today", last)
		}
	})
}
