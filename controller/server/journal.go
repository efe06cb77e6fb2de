package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/store"
)

// journal makes the ACD's agent state changes durable, in order, without
// making the ACD wait for Postgres: Record appends to an unbounded queue
// that one goroutine writes out, retrying while Postgres is away.
type journal struct {
	st  *store.Store
	log *slog.Logger

	mu     sync.Mutex
	q      []acd.AgentChange
	signal chan struct{}
}

func newJournal(st *store.Store, log *slog.Logger) *journal {
	return &journal{st: st, log: log, signal: make(chan struct{}, 1)}
}

// Record implements acd.Journal.
func (j *journal) Record(c acd.AgentChange) {
	j.mu.Lock()
	j.q = append(j.q, c)
	j.mu.Unlock()
	select {
	case j.signal <- struct{}{}:
	default:
	}
}

func (j *journal) run(ctx context.Context) error {
	for {
		j.mu.Lock()
		batch := j.q
		j.q = nil
		j.mu.Unlock()
		for i := 0; i < len(batch); {
			c := batch[i]
			err := j.st.SaveAgentState(context.WithoutCancel(ctx), store.AgentState{AgentID: string(c.Agent), State: string(c.To),
				Reason: c.Reason, At: c.At, IdleSince: c.IdleSince, ContactID: c.ContactID})
			if err == nil {
				i++
				continue
			}
			j.log.Error("agent state not saved yet, retrying", "agent", c.Agent, "state", c.To, "err", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				j.log.Error("agent states not saved at shutdown", "count", len(batch)-i)
				return nil
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-j.signal:
		case <-ctx.Done():
			return nil
		}
	}
}
