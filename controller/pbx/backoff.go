package pbx

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the reconnect schedule every driver uses: exponential from
// Min, capped at Max, with the upper half of each wait jittered so many
// controllers do not reconnect in step.
type Backoff struct {
	Min, Max time.Duration
}

// Wait is the wait before reconnect attempt n (from 0).
func (b Backoff) Wait(n int) time.Duration {
	d := b.Min
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + rand.N(half+1)
}

// Sleep waits d or until ctx ends, returning ctx's error then.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
