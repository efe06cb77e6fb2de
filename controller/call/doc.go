// Package call runs every live call: one goroutine per call owns that
// call's state and nothing else. A call enters here (Manager.Run reads the
// driver's events and starts a Call for each new inbound channel), runs
// its IVR flow, asks the ACD for an agent, rings the agent, bridges and
// records, and writes the contact record when it ends.
//
// The Manager never blocks on a call: each call has an unbounded mailbox,
// so one slow call cannot hold up the events of the others, and the
// events of each call stay in wire order.
//
// After a restart the Manager adopts the calls the switch still carries
// (adopt.go): bridged calls keep talking, queued callers return to their
// place in line.
package call
