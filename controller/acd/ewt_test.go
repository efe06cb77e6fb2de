package acd

import (
	"math"
	"testing"
	"time"
)

func TestEWTEstimate(t *testing.T) {
	e := NewEWT(100*time.Second, 50)
	// No abandonment seen: k+1 service completions of 10 agents at 1/100 s.
	if got := e.Estimate(4, 10, 0); got != 50*time.Second {
		t.Errorf("Estimate(4 ahead, 10 agents) = %v, want 50s", got)
	}
	if got := e.NaiveEstimate(4, 10, 0); got != 50*time.Second {
		t.Errorf("NaiveEstimate = %v, want 50s", got)
	}
	if e.Estimate(2, 10, 3) != 0 || e.Estimate(0, 0, 0) != math.MaxInt64 {
		t.Error("a free agent should mean no wait, and no agent on duty an endless one")
	}
	// Every caller gives up after 100 s: θ = 1/100 s exactly (the ratio of
	// two sums that decay alike).
	for range 500 {
		e.Left(100*time.Second, true)
	}
	if got := e.AbandonRate(); math.Abs(got-0.01) > 1e-12 {
		t.Fatalf("AbandonRate = %g, want 0.01", got)
	}
	// One ahead: 1/(nμ + θ) + 1/nμ = 1/0.11 + 1/0.1 s.
	secs := 1/0.11 + 1/0.1
	want := time.Duration(secs * float64(time.Second))
	if got := e.Estimate(1, 10, 0); (got - want).Abs() > time.Millisecond {
		t.Errorf("Estimate(1 ahead) = %v, want %v", got, want)
	}
	// The handle time follows what agents do.
	for range 1000 {
		e.Handled(200 * time.Second)
	}
	if got := 1 / e.ServiceRate(); math.Abs(got-200) > 0.01 {
		t.Errorf("handle time %.2f s, want 200", got)
	}
}

func TestNextForServesQueueOnlyCalls(t *testing.T) {
	l := NewLine(Aging{})
	plain := &Entry{Call: "plain", EnqueuedAt: t0, Req: Request{Queue: "q"}}
	other := &Entry{Call: "other", EnqueuedAt: t0.Add(-time.Second), Req: Request{Queue: "r"}}
	anyQ := &Entry{Call: "any", EnqueuedAt: t0.Add(time.Second)}
	l.Add(plain)
	l.Add(other)
	l.Add(anyQ)
	a := skilled("a", 0, nil) // serves q only
	if got := l.NextFor(a); got != plain {
		t.Fatalf("NextFor = %v, want the call of its queue", got)
	}
	l.Remove(plain)
	if got := l.NextFor(a); got != anyQ {
		t.Fatalf("NextFor = %v, want the call for any queue", got)
	}
}
