package acd

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
)

// Offer asks a call to ring an agent.
type Offer struct {
	Call        CallID
	Agent       AgentID
	AgentName   string
	Endpoint    string
	RingTimeout time.Duration
}

// Waiting is a call waiting in a queue.
type Waiting struct {
	Call       CallID
	Queue      QueueID
	ContactID  int64
	Priority   int       // higher goes first
	EnqueuedAt time.Time // the place in line; kept across re-queues and restarts
	// Offer is called on the ACD goroutine when an agent is reserved for
	// the call. It must not block.
	Offer func(Offer)

	offering AgentID
}

// QueueConfig is one queue's routing configuration.
type QueueConfig struct {
	ID QueueID
	// Router picks the agent (nil: longest idle).
	Router      Router
	RingTimeout time.Duration
	WrapUp      time.Duration
}

// AgentChange is one agent state change, handed to the Journal in the
// order the ACD made them.
type AgentChange struct {
	Agent     AgentID
	From, To  State
	Reason    string
	At        time.Time
	IdleSince time.Time
	ContactID int64
}

// Journal makes agent state changes durable. Record is called on the ACD
// goroutine, in order, and must not block for long.
type Journal interface {
	Record(AgentChange)
}

// ACD owns queues and agents. Create it with New and start Run.
type ACD struct {
	reqs    chan func()
	stopped chan struct{} // closed when Run returns
	log     *slog.Logger
	now     func() time.Time

	// owned by the Run goroutine
	queues  map[QueueID]*queue
	agents  map[AgentID]*Agent
	order   []*Agent // stable iteration order for listings
	pool    *Pool    // the READY agents, indexed for routing
	aging   Aging    // line order: priority callers go ahead, nobody starves
	journal Journal
	byCall  map[CallID]*Waiting
}

type queue struct {
	cfg     QueueConfig
	waiting []*Waiting
}

// New creates an ACD with its queues and agents (as restored from the
// store: their states survive a restart).
func New(queues []QueueConfig, agents []Agent, journal Journal, log *slog.Logger) *ACD {
	a := &ACD{
		reqs:    make(chan func(), 256),
		stopped: make(chan struct{}),
		log:     log,
		now:     time.Now,
		queues:  map[QueueID]*queue{},
		agents:  map[AgentID]*Agent{},
		journal: journal,
		byCall:  map[CallID]*Waiting{},
		aging:   DefaultAging(),
	}
	for _, q := range queues {
		if q.Router == nil {
			q.Router = LongestIdleRouter{}
		}
		a.queues[q.ID] = &queue{cfg: q}
	}
	for i := range agents {
		ag := agents[i]
		if ag.Queues == nil {
			ag.Queues = map[QueueID]bool{}
		}
		a.agents[ag.ID] = &ag
		a.order = append(a.order, &ag)
	}
	slices.SortFunc(a.order, func(x, y *Agent) int { return strings.Compare(string(x.ID), string(y.ID)) })
	a.pool = NewPool(a.order...)
	return a
}

// Run owns the ACD state until ctx ends.
func (a *ACD) Run(ctx context.Context) error {
	defer close(a.stopped)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-a.reqs:
			f()
		}
	}
}

// do runs f on the ACD goroutine and waits for it.
func (a *ACD) do(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	select {
	case a.reqs <- func() { done <- f() }:
	case <-ctx.Done():
		return ctx.Err()
	case <-a.stopped:
		return ErrStopped
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-a.stopped:
		return ErrStopped
	}
}

// Enqueue puts a call in line. It is offered to agents as they free up.
func (a *ACD) Enqueue(ctx context.Context, w Waiting) error {
	return a.do(ctx, func() error {
		q := a.queues[w.Queue]
		if q == nil {
			return fmt.Errorf("acd: unknown queue %q", w.Queue)
		}
		if _, dup := a.byCall[w.Call]; dup {
			return fmt.Errorf("acd: call %s is already queued", w.Call)
		}
		wc := w
		wc.offering = ""
		q.waiting = append(q.waiting, &wc)
		slices.SortStableFunc(q.waiting, a.aging.Compare)
		a.byCall[w.Call] = &wc
		a.log.Info("call queued", "call", w.Call, "queue", w.Queue, "position", slices.Index(q.waiting, &wc)+1, "waiting", len(q.waiting))
		a.dispatch()
		return nil
	})
}

// Cancel takes a call out of line (the caller hung up or left). An agent
// ringing for it goes back to READY.
func (a *ACD) Cancel(ctx context.Context, call CallID) error {
	return a.do(ctx, func() error {
		w := a.remove(call)
		if w != nil && w.offering != "" {
			if ag := a.agents[w.offering]; ag != nil && ag.State == Ringing && ag.Call == call {
				a.set(ag, Ready, "", w.ContactID)
			}
		}
		a.dispatch()
		return nil
	})
}

// Answered: the agent answered the offer; the call leaves the queue.
func (a *ACD) Answered(ctx context.Context, call CallID, agent AgentID) error {
	return a.do(ctx, func() error {
		ag := a.agents[agent]
		if ag == nil {
			return fmt.Errorf("acd: %w %q", ErrUnknownAgent, agent)
		}
		if ag.State != Ringing || ag.Call != call {
			return fmt.Errorf("acd: agent %s answered call %s but is %s for %q: %w", agent, call, ag.State, ag.Call, ErrIllegal)
		}
		var contact int64
		if w := a.remove(call); w != nil {
			contact = w.ContactID
		}
		ag.CallsToday++
		a.set(ag, OnCall, "", contact)
		return nil
	})
}

// NoAnswer: the agent did not answer (or could not be reached). The agent
// goes NOT_READY with the reason and the call is offered to the next
// agent, keeping its place in line.
func (a *ACD) NoAnswer(ctx context.Context, call CallID, agent AgentID, reason string) error {
	return a.do(ctx, func() error {
		ag := a.agents[agent]
		w := a.byCall[call]
		var contact int64
		if w != nil {
			contact = w.ContactID
			if w.offering == agent {
				w.offering = ""
			}
		}
		if ag != nil && ag.State == Ringing && ag.Call == call {
			a.set(ag, NotReady, reason, contact)
		}
		a.dispatch()
		return nil
	})
}

// Ended: the agent's call is over; after-call work, then READY when the
// queue's wrap-up time has passed.
func (a *ACD) Ended(ctx context.Context, call CallID, agent AgentID, contactID int64) error {
	return a.do(ctx, func() error {
		ag := a.agents[agent]
		if ag == nil {
			return fmt.Errorf("acd: %w %q", ErrUnknownAgent, agent)
		}
		if ag.Call != call || ag.State != OnCall {
			return nil // already moved on (forced state, restart)
		}
		ag.TalkToday += a.now().Sub(ag.Since)
		a.set(ag, AfterCallWork, "", contactID)
		a.startWrapUp(ag, contactID)
		return nil
	})
}

func (a *ACD) startWrapUp(ag *Agent, contactID int64) {
	wrap := time.Duration(0)
	for q := range ag.Queues {
		if qq := a.queues[q]; qq != nil && qq.cfg.WrapUp > wrap {
			wrap = qq.cfg.WrapUp
		}
	}
	since := ag.Since
	time.AfterFunc(wrap, func() {
		select {
		case a.reqs <- func() {
			if ag.State == AfterCallWork && ag.Since.Equal(since) {
				a.set(ag, Ready, "", contactID)
				a.dispatch()
			}
		}:
		case <-a.stopped:
		}
	})
}

// AdoptCall tells the ACD, after a restart, that an agent is on a call
// that survived it.
func (a *ACD) AdoptCall(ctx context.Context, call CallID, agent AgentID, contactID int64) error {
	return a.do(ctx, func() error {
		ag := a.agents[agent]
		if ag == nil {
			return fmt.Errorf("acd: %w %q", ErrUnknownAgent, agent)
		}
		ag.Call = call
		if ag.State != OnCall {
			a.set(ag, OnCall, "", contactID)
		}
		return nil
	})
}

// ReleaseOrphans puts right, after a restart, agents whose call did not
// survive it: an agent ringing for an offer that died goes back to READY,
// an agent on a call that is gone goes to after-call work. onCall lists
// the agents whose calls were adopted.
func (a *ACD) ReleaseOrphans(ctx context.Context, onCall map[AgentID]bool) error {
	return a.do(ctx, func() error {
		for _, ag := range a.order {
			switch {
			case ag.State == Ringing:
				a.set(ag, Ready, "", 0)
			case ag.State == OnCall && !onCall[ag.ID]:
				a.set(ag, AfterCallWork, "", 0)
				a.startWrapUp(ag, 0)
			}
		}
		a.dispatch()
		return nil
	})
}

// Reconcile puts right agents the ACD believes busy with a call that no
// longer exists (a hang-up event missed, a call goroutine gone): an agent
// ringing for it goes back to READY, one on it goes to after-call work.
// live says which calls exist. It returns how many agents it corrected.
func (a *ACD) Reconcile(ctx context.Context, live func(CallID) bool) (int, error) {
	n := 0
	err := a.do(ctx, func() error {
		for _, ag := range a.order {
			if (ag.State != Ringing && ag.State != OnCall) || live(ag.Call) {
				continue
			}
			a.log.Warn("agent busy with a call that is gone; correcting", "agent", ag.ID, "state", ag.State, "call", ag.Call)
			n++
			if ag.State == Ringing {
				if w := a.byCall[ag.Call]; w != nil && w.offering == ag.ID {
					w.offering = ""
				}
				a.set(ag, Ready, "", 0)
				continue
			}
			a.set(ag, AfterCallWork, "", 0)
			a.startWrapUp(ag, 0)
		}
		a.dispatch()
		return nil
	})
	return n, err
}

// Login, Ready, NotReady and Logout change an agent's state on request.
func (a *ACD) Login(ctx context.Context, agent AgentID) error {
	return a.request(ctx, agent, func(ag *Agent) error {
		if ag.State != LoggedOut {
			return fmt.Errorf("acd: agent %s is already logged in (%s): %w", agent, ag.State, ErrIllegal)
		}
		return a.change(ag, NotReady, "login")
	})
}

// Ready makes an agent available.
func (a *ACD) Ready(ctx context.Context, agent AgentID) error {
	return a.request(ctx, agent, func(ag *Agent) error { return a.change(ag, Ready, "") })
}

// NotReady makes an agent unavailable for a reason.
func (a *ACD) NotReady(ctx context.Context, agent AgentID, reason string) error {
	if reason == "" {
		return fmt.Errorf("acd: not ready needs a reason")
	}
	return a.request(ctx, agent, func(ag *Agent) error { return a.change(ag, NotReady, reason) })
}

// Logout logs an agent out.
func (a *ACD) Logout(ctx context.Context, agent AgentID) error {
	return a.request(ctx, agent, func(ag *Agent) error { return a.change(ag, LoggedOut, "") })
}

func (a *ACD) request(ctx context.Context, agent AgentID, f func(*Agent) error) error {
	return a.do(ctx, func() error {
		ag := a.agents[agent]
		if ag == nil {
			return fmt.Errorf("acd: %w %q", ErrUnknownAgent, agent)
		}
		if err := f(ag); err != nil {
			return err
		}
		a.dispatch()
		return nil
	})
}

func (a *ACD) change(ag *Agent, to State, reason string) error {
	if err := CheckTransition(ag.State, to); err != nil {
		return fmt.Errorf("acd: agent %s: %w", ag.ID, err)
	}
	if to == Ringing || to == OnCall {
		return fmt.Errorf("acd: agent %s: only the ACD puts an agent %s: %w", ag.ID, to, ErrIllegal)
	}
	a.set(ag, to, reason, 0)
	return nil
}

// Agents returns a copy of every agent's live state.
func (a *ACD) Agents(ctx context.Context) ([]Agent, error) {
	var out []Agent
	err := a.do(ctx, func() error {
		for _, ag := range a.order {
			c := *ag
			c.Queues = maps.Clone(ag.Queues)
			c.Skills = maps.Clone(ag.Skills)
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// Waiting returns the calls waiting in a queue, first in line first.
func (a *ACD) Waiting(ctx context.Context, q QueueID) ([]CallID, error) {
	var out []CallID
	err := a.do(ctx, func() error {
		if qq := a.queues[q]; qq != nil {
			for _, w := range qq.waiting {
				out = append(out, w.Call)
			}
		}
		return nil
	})
	return out, err
}

func (a *ACD) remove(call CallID) *Waiting {
	w := a.byCall[call]
	if w == nil {
		return nil
	}
	delete(a.byCall, call)
	if q := a.queues[w.Queue]; q != nil {
		q.waiting = slices.DeleteFunc(q.waiting, func(x *Waiting) bool { return x == w })
	}
	return w
}

// set moves an agent to a state (already checked) and journals it.
func (a *ACD) set(ag *Agent, to State, reason string, contactID int64) {
	from := ag.State
	now := a.now()
	ag.State, ag.Reason, ag.Since = to, reason, now
	if to == Ready {
		ag.IdleSince = now
	}
	if to != Ringing && to != OnCall {
		ag.Call = ""
	}
	a.pool.Update(ag)
	a.log.Info("agent state", "agent", ag.ID, "from", from, "to", to, "reason", reason, "contact", contactID)
	if a.journal != nil {
		a.journal.Record(AgentChange{Agent: ag.ID, From: from, To: to, Reason: reason, At: now, IdleSince: ag.IdleSince, ContactID: contactID})
	}
}

// dispatch offers waiting calls to free agents, in line order per queue.
func (a *ACD) dispatch() {
	for _, q := range a.queues {
		for _, w := range q.waiting {
			if w.offering != "" {
				continue
			}
			ag := q.cfg.Router.Pick(Request{Queue: q.cfg.ID, Now: a.now()}, a.pool)
			if ag == nil {
				break // every call of the queue needs the same: none fits
			}
			a.set(ag, Ringing, "", w.ContactID)
			ag.Call = w.Call
			w.offering = ag.ID
			w.Offer(Offer{Call: w.Call, Agent: ag.ID, AgentName: ag.Name, Endpoint: ag.Endpoint, RingTimeout: q.cfg.RingTimeout})
		}
	}
}
