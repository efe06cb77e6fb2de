package pbx

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Latency keeps, per command type, how long the switch took to reply:
// counts in logarithmic buckets (about 9 % wide, 1 µs to ~70 s), so
// Observe is a few atomic adds and never allocates once a type has been
// seen. Drivers observe every command; operators read it to tell a slow
// switch from a slow controller.
type Latency struct {
	mu     sync.RWMutex
	byKind map[string]*latencyHist
}

const (
	latencyBuckets = 200
	latencyBase    = 1.09 // bucket i holds [base^i, base^(i+1)) µs
)

type latencyHist struct {
	n       atomic.Int64
	buckets [latencyBuckets]atomic.Int64
	max     atomic.Int64 // µs
}

// Observe records that a command of the given type took d.
func (l *Latency) Observe(cmd Command, d time.Duration) {
	kind := commandKind(cmd)
	l.mu.RLock()
	h := l.byKind[kind]
	l.mu.RUnlock()
	if h == nil {
		l.mu.Lock()
		if l.byKind == nil {
			l.byKind = map[string]*latencyHist{}
		}
		if h = l.byKind[kind]; h == nil {
			h = &latencyHist{}
			l.byKind[kind] = h
		}
		l.mu.Unlock()
	}
	us := max(d.Microseconds(), 1)
	i := min(int(math.Log(float64(us))/math.Log(latencyBase)), latencyBuckets-1)
	h.buckets[i].Add(1)
	h.n.Add(1)
	for m := h.max.Load(); us > m && !h.max.CompareAndSwap(m, us); m = h.max.Load() {
	}
}

// LatencyStat summarises one command type.
type LatencyStat struct {
	Command  string
	N        int64
	P50, P99 time.Duration // upper bound of the bucket the quantile is in
	Max      time.Duration
}

func (s LatencyStat) String() string {
	return fmt.Sprintf("%s n=%d p50=%s p99=%s max=%s", s.Command, s.N,
		s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond), s.Max.Round(time.Microsecond))
}

// Stats returns a summary per command type, by name.
func (l *Latency) Stats() []LatencyStat {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []LatencyStat
	for kind, h := range l.byKind {
		s := LatencyStat{Command: kind, N: h.n.Load(), Max: time.Duration(h.max.Load()) * time.Microsecond}
		var counts [latencyBuckets]int64
		var total int64
		for i := range counts {
			counts[i] = h.buckets[i].Load()
			total += counts[i]
		}
		s.P50, s.P99 = quantile(&counts, total, 0.50), quantile(&counts, total, 0.99)
		s.P50, s.P99 = min(s.P50, s.Max), min(s.P99, s.Max)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b LatencyStat) int { return strings.Compare(a.Command, b.Command) })
	return out
}

func quantile(counts *[latencyBuckets]int64, total int64, q float64) time.Duration {
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return time.Duration(math.Pow(latencyBase, float64(i+1))) * time.Microsecond
		}
	}
	return 0
}

// commandKind names a command by its type: "Originate", "Play".
func commandKind(cmd Command) string {
	if cmd == nil {
		return "nil"
	}
	t := reflect.TypeOf(cmd)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
