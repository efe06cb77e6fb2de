package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/store"
)

// writeBehind makes changes durable in Postgres, in order, without making
// their producer (the ACD's goroutine) wait: add appends to an unbounded
// queue that one goroutine writes out with save, retrying every second
// while Postgres is away. save returns nil for a change it decided to
// drop (and logged).
type writeBehind[T any] struct {
	log  *slog.Logger
	what string // "agent state", "callback change": for the log
	save func(context.Context, T) error

	mu     sync.Mutex
	q      []T
	signal chan struct{}
}

func newWriteBehind[T any](log *slog.Logger, what string, save func(context.Context, T) error) *writeBehind[T] {
	return &writeBehind[T]{log: log, what: what, save: save, signal: make(chan struct{}, 1)}
}

func (w *writeBehind[T]) add(v T) {
	w.mu.Lock()
	w.q = append(w.q, v)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

func (w *writeBehind[T]) run(ctx context.Context) error {
	for {
		w.mu.Lock()
		batch := w.q
		w.q = nil
		w.mu.Unlock()
		for i := 0; i < len(batch); {
			err := w.save(context.WithoutCancel(ctx), batch[i])
			if err == nil {
				i++
				continue
			}
			w.log.Error(w.what+" not saved yet, retrying", "change", batch[i], "err", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				w.log.Error(w.what+"s not saved at shutdown", "count", len(batch)-i)
				return nil
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-w.signal:
		case <-ctx.Done():
			return nil
		}
	}
}

// journal makes the ACD's agent state changes durable (acd.Journal).
type journal struct{ *writeBehind[acd.AgentChange] }

func newJournal(st *store.Store, log *slog.Logger) journal {
	return journal{newWriteBehind(log, "agent state", func(ctx context.Context, c acd.AgentChange) error {
		return st.SaveAgentState(ctx, store.AgentState{AgentID: string(c.Agent), State: string(c.To),
			Reason: c.Reason, At: c.At, IdleSince: c.IdleSince, ContactID: c.ContactID, CallsToday: c.CallsToday, TalkToday: c.TalkToday})
	})}
}

// Record implements acd.Journal.
func (j journal) Record(c acd.AgentChange) { j.add(c) }
