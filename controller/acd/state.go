package acd

import (
	"errors"
	"fmt"
)

// AgentID identifies an agent seat.
type AgentID string

// QueueID identifies a queue.
type QueueID string

// CallID identifies a waiting call (its caller channel).
type CallID string

// State is an agent's state.
type State string

// Agent states.
const (
	LoggedOut     State = "LOGGED_OUT"
	Ready         State = "READY"
	NotReady      State = "NOT_READY"
	Ringing       State = "RINGING"
	OnCall        State = "ON_CALL"
	AfterCallWork State = "AFTER_CALL_WORK"
)

// Reasons the ACD itself puts an agent NOT_READY for.
const (
	ReasonNoAnswer    = "no answer"
	ReasonUnreachable = "unreachable"
)

// ErrIllegal is wrapped by every rejected state change.
var ErrIllegal = errors.New("illegal agent state change")

// ErrStopped is returned once the ACD has stopped.
var ErrStopped = errors.New("acd: stopped")

// ErrUnknownAgent is returned for an agent ID the ACD does not know.
var ErrUnknownAgent = errors.New("unknown agent")

// legal lists, per state, the states an agent may move to.
var legal = map[State][]State{
	LoggedOut:     {Ready, NotReady},
	Ready:         {NotReady, Ringing, LoggedOut},
	NotReady:      {Ready, LoggedOut, NotReady},
	Ringing:       {OnCall, Ready, NotReady},
	OnCall:        {AfterCallWork},
	AfterCallWork: {Ready, NotReady, LoggedOut},
}

// CheckTransition says whether an agent may go from one state to another.
func CheckTransition(from, to State) error {
	for _, s := range legal[from] {
		if s == to {
			return nil
		}
	}
	return fmt.Errorf("%w: %s → %s", ErrIllegal, from, to)
}
