package server

import (
	"context"
	"sync"
	"time"
)

// recent keeps a value for ttl: the queue view costs the ACD goroutine one
// expected-wait estimate per queue, and Postgres a query, so any number
// of wallboards polling it cost that at most once per ttl. Callers who
// ask while it is being computed wait for that result.
type recent[T any] struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	at time.Time // when v was computed; zero: never
	v  T
}

// get returns the value computed less than ttl ago, else computes it with
// f (an error is returned and not kept).
func (r *recent[T]) get(ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); !r.at.IsZero() && now.Sub(r.at) < r.ttl && !now.Before(r.at) {
		return r.v, nil
	}
	v, err := f(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	r.v, r.at = v, r.now()
	return v, nil
}
