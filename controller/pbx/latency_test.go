package pbx

import (
	"testing"
	"time"
)

// The summary tells command types apart and puts the quantiles where the
// samples are, within a bucket's width (9 %).
func TestLatencyStats(t *testing.T) {
	var l Latency
	for i := 0; i < 99; i++ {
		l.Observe(Originate{}, 2*time.Millisecond)
	}
	l.Observe(Originate{}, 800*time.Millisecond)
	l.Observe(Answer{}, 50*time.Microsecond)
	st := l.Stats()
	if len(st) != 2 || st[0].Command != "Answer" || st[1].Command != "Originate" {
		t.Fatalf("stats %v", st)
	}
	o := st[1]
	if o.N != 100 || o.Max != 800*time.Millisecond {
		t.Fatalf("originate %v", o)
	}
	near := func(got, want time.Duration) bool { return got >= want && float64(got) <= float64(want)*1.1 }
	if !near(o.P50, 2*time.Millisecond) || !near(o.P99, 2*time.Millisecond) {
		t.Fatalf("originate p50/p99 %s/%s, want about 2ms (99 of 100 samples)", o.P50, o.P99)
	}
	l.Observe(Originate{}, 800*time.Millisecond)
	if o := l.Stats()[1]; o.P99 != 800*time.Millisecond {
		t.Fatalf("with 2 of 101 slow, p99 %s, want the slow one (800ms)", o.P99)
	}
}

func TestLatencyObserveDoesNotAllocate(t *testing.T) {
	var l Latency
	cmd := Command(Play{})
	l.Observe(cmd, time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { l.Observe(cmd, time.Millisecond) }); n != 0 {
		t.Fatalf("Observe allocates %.0f times", n)
	}
}
