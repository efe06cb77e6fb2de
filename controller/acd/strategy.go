package acd

import "time"

// Agent is the ACD's live view of one agent.
type Agent struct {
	ID         AgentID
	Name       string
	Endpoint   string
	Queues     map[QueueID]bool
	State      State
	Reason     string
	Since      time.Time
	IdleSince  time.Time // when the agent last became READY
	CallsToday int
	Call       CallID // the call the agent is ringing for or talking on

	// TalkToday is the agent's talk time so far today (least-talk-time).
	TalkToday time.Duration
	// CountersAt is when CallsToday and TalkToday were last updated. For
	// agents restored from the store, New keeps the counters only when
	// that was today in the ACD's local time (the time zone of the daily
	// reset): counters written before midnight are yesterday's. Zero means
	// the counters given are today's.
	CountersAt time.Time
	// Skills maps a skill to the agent's level in it, 1 (novice) to 10
	// (expert). Routers in strategies.go match it against a Request.
	Skills map[string]int
	// WrapUpEnds is when the agent's after-call work ends (zero when the
	// agent is not in it).
	WrapUpEnds time.Time

	contact      int64         // the contact of Call
	queue        QueueID       // the queue of the agent's latest call
	talkSince    time.Time     // when the current call was answered
	wrapExtended time.Duration // after-call work added to this call's
}

// Strategy picks an agent for a queue from those available. It must be a
// pure function of its arguments and return nil when none fits.
type Strategy func(q QueueID, agents []*Agent) *Agent

// LongestIdle picks the READY agent of the queue who has been idle the
// longest; ties go to the lower agent ID so the choice is deterministic.
func LongestIdle(q QueueID, agents []*Agent) *Agent {
	var best *Agent
	for _, a := range agents {
		if a.State != Ready || !a.Queues[q] {
			continue
		}
		if best == nil || a.IdleSince.Before(best.IdleSince) ||
			(a.IdleSince.Equal(best.IdleSince) && a.ID < best.ID) {
			best = a
		}
	}
	return best
}

// StrategyByName returns the strategy a configuration names.
func StrategyByName(name string) (Strategy, bool) {
	switch name {
	case "longest-idle", "":
		return LongestIdle, true
	case "fewest-calls":
		return FewestCalls, true
	case "least-talk-time":
		return LeastTalkTime, true
	}
	return nil, false
}
