package call

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// writer is the ordered write-behind queue for call records: a call hands
// it its writes (trail steps, state changes, contact log) and goes on with
// the call at once, so Postgres is never between a caller's key and the
// agent's phone. One goroutine writes them in the order they came. While
// Postgres is away the writes wait in memory and are retried, so calls go
// on and nothing is lost (short of the process dying meanwhile).
type writer struct {
	log *slog.Logger

	mu      sync.Mutex
	q       []write
	signal  chan struct{}
	done    chan struct{}
	backoff pbx.Backoff
}

type write struct {
	what string
	f    func(context.Context) error
}

func newWriter(log *slog.Logger) *writer {
	return &writer{log: log, signal: make(chan struct{}, 1), done: make(chan struct{}),
		backoff: pbx.Backoff{Min: 200 * time.Millisecond, Max: 5 * time.Second}}
}

// add queues one write; it never blocks.
func (w *writer) add(what string, f func(context.Context) error) {
	w.mu.Lock()
	w.q = append(w.q, write{what, f})
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// pending returns how many writes wait.
func (w *writer) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.q)
}

// run writes until ctx ends, then drains what is queued (bounded by
// drain) and closes done.
func (w *writer) run(ctx context.Context, drain time.Duration) {
	defer close(w.done)
	for {
		w.flush(ctx)
		select {
		case <-w.signal:
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
			w.flush(dctx)
			cancel()
			if n := w.pending(); n > 0 {
				w.log.Error("call records not written at shutdown", "count", n)
			}
			return
		}
	}
}

func (w *writer) flush(ctx context.Context) {
	failures := 0
	for {
		w.mu.Lock()
		if len(w.q) == 0 {
			w.mu.Unlock()
			return
		}
		next := w.q[0]
		w.mu.Unlock()
		err := next.f(ctx)
		if err != nil && transient(err) && ctx.Err() == nil {
			if failures == 0 {
				w.log.Error("postgres unavailable: call records wait in memory and are retried", "waiting", w.pending(), "err", err)
			}
			if pbx.Sleep(ctx, w.backoff.Wait(failures)) != nil {
				return
			}
			failures++
			continue
		}
		if err != nil {
			w.log.Error("could not record "+next.what, "err", err)
		} else if failures > 0 {
			w.log.Info("postgres back: writing the waiting call records", "waiting", w.pending())
			failures = 0
		}
		w.mu.Lock()
		w.q[0] = write{}
		w.q = w.q[1:]
		w.mu.Unlock()
	}
}

// transient reports whether a write failed for want of a database
// connection (worth retrying), not because of what it wrote.
func transient(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		class := string(pqErr.Code)[:2]
		return class == "08" || class == "57" || class == "53" // connection, operator intervention, resources
	}
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
