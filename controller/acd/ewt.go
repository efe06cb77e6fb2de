package acd

import (
	"math"
	"time"
)

// EWT estimates a waiting caller's expected wait from what the centre is
// doing now: the live service rate per agent (from recent handle times),
// the live abandonment rate (from recent waits), the agents on duty and
// the caller's place in line.
//
// With k calls ahead of it and all n agents busy, the caller moves up one
// place when an agent frees up (rate n·μ) or when one of the j calls still
// ahead of it gives up (rate j·θ). The expected time to reach an agent is
// then
//
//	EWT = Σ_{j=0..k} 1 / (n·μ + j·θ)
//
// which is exact for exponential handle times and patience (the Erlang A
// model) and a good estimate otherwise. It is not safe for concurrent use
// (in the ACD it belongs to the ACD goroutine).
type EWT struct {
	alpha float64 // weight of a new observation

	handle float64 // smoothed busy time per call, seconds
	waited float64 // smoothed time callers spent in line, seconds
	gaveUp float64 // smoothed count of callers who abandoned
}

// NewEWT returns an estimator that starts from aht as the handle time and
// follows roughly the last memory calls (0 means 200).
func NewEWT(aht time.Duration, memory int) *EWT {
	if memory <= 0 {
		memory = 200
	}
	return &EWT{alpha: 1 / float64(memory), handle: aht.Seconds()}
}

// Handled records the time an agent was busy with one call (talk, hold and
// after-call work).
func (e *EWT) Handled(d time.Duration) {
	e.handle += e.alpha * (d.Seconds() - e.handle)
}

// Left records a caller leaving the line after waiting d, answered or
// abandoned. Abandonments over total time waited is the (maximum
// likelihood) estimate of the abandonment rate θ.
func (e *EWT) Left(d time.Duration, abandoned bool) {
	e.waited = (1-e.alpha)*e.waited + d.Seconds()
	e.gaveUp = (1 - e.alpha) * e.gaveUp
	if abandoned {
		e.gaveUp++
	}
}

// ServiceRate is μ, calls per second one agent completes.
func (e *EWT) ServiceRate() float64 {
	if e.handle <= 0 {
		return 0
	}
	return 1 / e.handle
}

// Handle is the smoothed busy time per call, 1/μ.
func (e *EWT) Handle() time.Duration { return time.Duration(e.handle * float64(time.Second)) }

// AbandonRate is θ, the rate per second at which a waiting caller gives up
// (1 / mean patience).
func (e *EWT) AbandonRate() float64 {
	if e.waited <= 0 {
		return 0
	}
	return e.gaveUp / e.waited
}

// Estimate is the expected wait of a caller with ahead calls in front of
// it, when onDuty agents take calls of its kind and free of them are
// READY now. It returns 0 when an agent will be free for it at once and
// math.MaxInt64 when no agent is on duty.
func (e *EWT) Estimate(ahead, onDuty, free int) time.Duration {
	k := ahead - free
	if k < 0 {
		return 0
	}
	if onDuty <= 0 {
		return math.MaxInt64
	}
	nmu, theta := float64(onDuty)*e.ServiceRate(), e.AbandonRate()
	if nmu <= 0 {
		return math.MaxInt64
	}
	s := 0.0
	for j := 0; j <= k; j++ {
		s += 1 / (nmu + float64(j)*theta)
	}
	return time.Duration(s * float64(time.Second))
}

// NaiveEstimate is the rule of thumb EWT is compared with: (ahead+1) ×
// handle time / agents on duty, ignoring abandonment.
func (e *EWT) NaiveEstimate(ahead, onDuty, free int) time.Duration {
	k := ahead - free
	if k < 0 {
		return 0
	}
	if onDuty <= 0 {
		return math.MaxInt64
	}
	return time.Duration(float64(k+1) * e.handle / float64(onDuty) * float64(time.Second))
}
