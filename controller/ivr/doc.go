// Package ivr runs a caller's self-service flow: prompts, keys, look-ups,
// with the operator's rules built in (no key for the no-input time →
// goodbye and release; invalid key → error prompt and retry, retry limit →
// agent; the zero-out key reaches an agent from anywhere). Every prompt
// and key goes to the call's trail.
//
// The flow talks to the call only through Session, so it runs the same
// on a live switch, in the simulator and in tests on a fake clock.
package ivr
