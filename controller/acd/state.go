package acd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// AgentID identifies an agent seat.
type AgentID string

// QueueID identifies a queue.
type QueueID string

// CallID identifies a waiting call (its caller channel, or for a callback
// CallbackCallID of its ID).
type CallID string

// State is an agent's state.
type State string

// Agent states.
const (
	LoggedOut State = "LOGGED_OUT"
	Ready     State = "READY"
	NotReady  State = "NOT_READY"
	// Reserved: the ACD has picked the agent for a call (or a callback)
	// and the agent's phone is not ringing yet.
	Reserved      State = "RESERVED"
	Ringing       State = "RINGING"
	OnCall        State = "ON_CALL"
	OnHold        State = "ON_HOLD"
	AfterCallWork State = "AFTER_CALL_WORK"
)

// States lists every agent state, in the order of the state table.
func States() []State {
	return []State{LoggedOut, Ready, NotReady, Reserved, Ringing, OnCall, OnHold, AfterCallWork}
}

// Reasons the ACD itself puts an agent NOT_READY for. They are not in the
// reason table: an agent cannot choose them.
const (
	ReasonNoAnswer    = "no answer"
	ReasonUnreachable = "unreachable"
)

// Reason is one not-ready reason an agent may choose: from the desk
// phone as *24 followed by Digit, or by Name through the API and CLI.
type Reason struct {
	Code  int    // stable code for reports
	Digit string // dialled after *24
	Name  string // what the ACD, the API and the contact log carry
}

// Reasons returns the not-ready reason table (a fresh copy).
func Reasons() []Reason {
	return []Reason{
		{1, "1", "meal"},
		{2, "2", "meeting"},
		{3, "3", "training"},
		{4, "4", "break"},
		{5, "5", "after-call paperwork"},
	}
}

// ReasonByDigit returns the reason an agent dials after *24.
func ReasonByDigit(digit string) (Reason, bool) {
	for _, r := range Reasons() {
		if r.Digit == digit {
			return r, true
		}
	}
	return Reason{}, false
}

// ErrUnknownReason is wrapped by ParseReason's error (and so by NotReady's)
// for a reason that is not in the table.
var ErrUnknownReason = errors.New("unknown not-ready reason")

// ParseReason returns the table's reason named by s: its name (any case)
// or its digit.
func ParseReason(s string) (Reason, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, r := range Reasons() {
		if t == r.Name || t == r.Digit {
			return r, nil
		}
	}
	names := make([]string, 0, 5)
	for _, r := range Reasons() {
		names = append(names, r.Digit+" "+r.Name)
	}
	return Reason{}, fmt.Errorf("%w %s (one of: %s)", ErrUnknownReason, strconv.Quote(s), strings.Join(names, ", "))
}

// ErrIllegal is wrapped by every rejected state change.
var ErrIllegal = errors.New("illegal agent state change")

// ErrStopped is returned once the ACD has stopped.
var ErrStopped = errors.New("acd: stopped")

// ErrUnknownAgent is returned for an agent ID the ACD does not know.
var ErrUnknownAgent = errors.New("unknown agent")

// legal lists, per state, the states an agent may move to (the table in
// docs/acd.md). Every change the ACD makes and journals is one of these.
var legal = map[State][]State{
	LoggedOut: {Ready, NotReady},
	Ready:     {NotReady, Reserved, LoggedOut},
	NotReady:  {Ready, NotReady, LoggedOut},
	// From RESERVED straight to ON_CALL (or NOT_READY) for switches, and
	// callback dials, that never report the agent's phone ringing.
	Reserved:      {Ringing, OnCall, Ready, NotReady},
	Ringing:       {OnCall, Ready, NotReady},
	OnCall:        {OnHold, AfterCallWork},
	OnHold:        {OnCall, AfterCallWork},
	AfterCallWork: {Ready, NotReady, LoggedOut},
}

// CheckTransition says whether an agent may go from one state to another;
// the error wraps ErrIllegal and names both states.
func CheckTransition(from, to State) error {
	for _, s := range legal[from] {
		if s == to {
			return nil
		}
	}
	return fmt.Errorf("%w: %s → %s", ErrIllegal, from, to)
}

// pathTo is the shortest sequence of legal states leading from one state
// to another (excluding from), or nil when there is none or from == to.
func pathTo(from, to State) []State {
	if from == to {
		return nil
	}
	prev := map[State]State{from: from}
	queue := []State{from}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, n := range legal[s] {
			if _, seen := prev[n]; seen {
				continue
			}
			prev[n] = s
			if n == to {
				var path []State
				for x := to; x != from; x = prev[x] {
					path = append([]State{x}, path...)
				}
				return path
			}
			queue = append(queue, n)
		}
	}
	return nil
}
