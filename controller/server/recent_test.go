package server

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The value is computed once per ttl however often it is asked for; an
// error is not kept; a clock set back computes afresh.
func TestRecentComputesOncePerTTL(t *testing.T) {
	now := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	r := &recent[int]{ttl: time.Second, now: func() time.Time { return now }}
	n := 0
	f := func(context.Context) (int, error) { n++; return n, nil }
	ctx := context.Background()
	get := func() int {
		t.Helper()
		v, err := r.get(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := get(); v != 1 {
		t.Fatalf("first get %d, want 1", v)
	}
	now = now.Add(999 * time.Millisecond)
	if v := get(); v != 1 || n != 1 {
		t.Fatalf("within the ttl: %d (computed %d times), want the kept 1", v, n)
	}
	now = now.Add(time.Millisecond)
	if v := get(); v != 2 {
		t.Fatalf("after the ttl: %d, want a fresh 2", v)
	}
	boom := errors.New("boom")
	now = now.Add(time.Second)
	if _, err := r.get(ctx, func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
	if v := get(); v != 3 {
		t.Fatalf("after an error: %d, want a fresh 3 (the error is not kept)", v)
	}
	now = now.Add(-time.Hour)
	if v := get(); v != 4 {
		t.Fatalf("clock set back: %d, want a fresh 4", v)
	}
}
