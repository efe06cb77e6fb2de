package pbx

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Backoff is the reconnect schedule every driver uses: exponential from
// Min, capped at Max, with the upper half of each wait jittered so many
// controllers do not reconnect in step.
type Backoff struct {
	Min, Max time.Duration
}

// Defaults fills a zero Min (100 ms) or Max (5 s) and rejects a Max below
// Min, naming the driver.
func (b Backoff) Defaults(driver string) (Backoff, error) {
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Second
	}
	if b.Max < b.Min {
		return b, fmt.Errorf("%s: MaxBackoff %s is below MinBackoff %s", driver, b.Max, b.Min)
	}
	return b, nil
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

// DefaultCommandTimeout is how long a driver waits for the switch's reply
// to a command unless configured (less if the command's context ends
// sooner).
const DefaultCommandTimeout = 10 * time.Second

// CommandTimeout returns d, or DefaultCommandTimeout for a d not above 0.
func CommandTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultCommandTimeout
	}
	return d
}
