// Package acd owns the live queues and agents and decides which agent
// gets which call.
//
// One goroutine (ACD.Run) owns all live state; everything else talks to
// it through requests on a channel, so there is no lock and no race. The
// choice of agent is a pure function of that state (a Router over the
// index of READY agents, strategies.go), testable and benchmarkable
// without a switch. Every agent state change is legal
// per the state machine in state.go and is handed, in order, to a
// Journal that makes it durable.
package acd
