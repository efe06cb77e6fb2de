package acd

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Offer asks a call to ring an agent: the agent is RESERVED for it. For a
// callback, Callback is set and the offer goes to the callback handler
// (SetCallbackHandler) instead of a Waiting's Offer.
type Offer struct {
	Call        CallID
	Queue       QueueID
	Agent       AgentID
	AgentName   string
	Endpoint    string
	RingTimeout time.Duration
	Callback    *CallbackOffer
	// Also are the other agents reserved for the call at the same time
	// (a ring-all queue): all ring, the first to answer takes the call
	// (Answered releases the rest).
	Also []OfferAgent
}

// OfferAgent is one more agent a ring-all offer rings.
type OfferAgent struct {
	Agent    AgentID
	Name     string
	Endpoint string
}

// Waiting is a call waiting in a queue.
type Waiting struct {
	Call       CallID
	Queue      QueueID
	ContactID  int64
	Priority   int       // higher goes first
	EnqueuedAt time.Time // the place in line; kept across re-queues, overflow and restarts
	// Skills the call itself requires, skill → minimum level (1-10), on
	// top of its queue's (the higher level wins). The IVR may set them.
	Skills map[string]int
	// Offer is called on the ACD goroutine when an agent is reserved for
	// the call. It must not block.
	Offer func(Offer)
	// OnMaxWait, if set, is called on the ACD goroutine when the call has
	// waited its queue's max_wait. It must not block. Without it nothing
	// happens at max_wait.
	OnMaxWait func(MaxWaitNotice)
	// OnOverflow, if set, is called on the ACD goroutine for every
	// overflow step applied to the call. It must not block.
	OnOverflow func(OverflowNotice)

	offering AgentID
	also     []AgentID // ring-all: the other agents reserved with offering
	seq      uint64    // order of Enqueue: the last tie-break in line
	alts     []Request // who may take the call: alts[0], else any other
	step     int       // next overflow step of the call's current queue
	minLevel int       // overflow's cap on required levels (0: none)
	added    map[string]int
	visited  []QueueID // queues the call overflowed from
	gen      uint64    // bumped when the call's timers are rescheduled
	maxDone  bool      // max_wait announced
	leaving  bool      // max_wait released it: no more offers
	cb       *callbackState
	offerGen uint64 // bumped on every offer (callback dial deadline)
}

// QueueConfig is one queue's routing configuration.
type QueueConfig struct {
	ID QueueID
	// Router picks the agent (nil: longest idle).
	Router Router
	// RingAll rings every eligible READY agent at once instead (Router is
	// then unused); the first to answer takes the call. Callbacks still
	// go to one agent, picked by longest idle.
	RingAll     bool
	RingTimeout time.Duration
	WrapUp      time.Duration
	// WrapUpMaxExtension is how much after-call work an agent may add,
	// in all, after a call of this queue (0: none).
	WrapUpMaxExtension time.Duration
	// Skills every call of the queue requires: skill → minimum level.
	Skills map[string]int
	// Overflow steps by time in queue, After strictly increasing.
	Overflow []OverflowStep
	// MaxWait, if set, is the longest a caller waits before the call is
	// told (Waiting.OnMaxWait) what to do instead.
	MaxWait *MaxWait
	// Callback is the retry policy for callbacks of the queue.
	Callback CallbackPolicy
	// AHT is the handle time the queue's expected-wait estimate starts
	// from (0: DefaultAHT; the configuration's queues[].initial_aht);
	// live calls refine it (Estimate).
	AHT time.Duration
}

// AgentChange is one agent state change, handed to the Journal in the
// order the ACD made them. From → To is always a legal transition.
type AgentChange struct {
	Agent     AgentID
	From, To  State
	Reason    string
	At        time.Time
	IdleSince time.Time
	ContactID int64
	// The agent's today counters as of At (the store keeps them, with At,
	// so that a restart the same day restores them: New).
	CallsToday int
	TalkToday  time.Duration
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
	// day is the local date the agents' today counters count
	// (CallsToday, TalkToday); owned by the Run goroutine.
	day int

	cbHandler atomic.Pointer[func(Offer)]

	// owned by the Run goroutine
	queues      map[QueueID]*queue
	agents      map[AgentID]*Agent
	order       []*Agent // stable iteration order for listings
	pool        *Pool    // the READY agents, indexed for routing
	aging       Aging    // line order: priority callers go ahead, nobody starves
	journal     Journal
	cbJournal   CallbackJournal
	line        []*Waiting // every queue's calls, first in line first
	seq         uint64
	byCall      map[CallID]*Waiting // calls in line
	callbacks   map[int64]*Waiting  // live callbacks, in line or not
	timers      timerHeap
	timerSeq    uint64
	ewts        map[QueueID]*EWT              // per queue, fed by live events (estimate.go)
	backlog     *Backlog                      // the expected-wait estimate over every queue (estimate.go)
	ahead       []Contender                   // its scratch list of calls ahead
	joiners     []Joiner                      // and of callers expected to join ahead
	arrivals    map[arrivalClass]*ArrivalRate // callers with a head start, per queue and priority (estimate.go)
	arrivalKeys []arrivalClass                // joinersAhead's scratch
	ringBuf     []*Agent                      // dispatch's scratch list for ring-all
}

type queue struct {
	cfg QueueConfig
}

// New creates an ACD with its queues and agents (as restored from the
// store: their states survive a restart). An agent's today counters are
// kept only when they were last updated today (Agent.CountersAt); an
// agent restored on a call counts its talk time from the restored
// state's Since (from midnight, for a call begun yesterday).
func New(queues []QueueConfig, agents []Agent, journal Journal, log *slog.Logger) *ACD {
	a := &ACD{
		reqs:      make(chan func(), 256),
		stopped:   make(chan struct{}),
		log:       log,
		now:       time.Now,
		queues:    map[QueueID]*queue{},
		agents:    map[AgentID]*Agent{},
		journal:   journal,
		byCall:    map[CallID]*Waiting{},
		callbacks: map[int64]*Waiting{},
		aging:     DefaultAging(),
	}
	for _, q := range queues {
		if q.Router == nil {
			q.Router = LongestIdleRouter{}
		}
		q.Callback = q.Callback.withDefaults()
		a.queues[q.ID] = &queue{cfg: q}
	}
	now := a.now()
	a.day = dayOf(now)
	var stale []AgentID
	for i := range agents {
		ag := agents[i]
		if ag.Queues == nil {
			ag.Queues = map[QueueID]bool{}
		}
		ag.Queues = maps.Clone(ag.Queues)
		ag.Skills = maps.Clone(ag.Skills)
		if !ag.CountersAt.IsZero() && dayOf(ag.CountersAt.In(now.Location())) != a.day && (ag.CallsToday != 0 || ag.TalkToday != 0) {
			stale = append(stale, ag.ID)
			ag.CallsToday, ag.TalkToday = 0, 0
		}
		if ag.State == OnCall || ag.State == OnHold {
			ag.talkSince = ag.Since
			if ag.talkSince.IsZero() || ag.talkSince.After(now) {
				ag.talkSince = now
			}
			if midnight := startOfDay(now); ag.talkSince.Before(midnight) {
				ag.talkSince = midnight
			}
		}
		a.agents[ag.ID] = &ag
		a.order = append(a.order, &ag)
	}
	slices.SortFunc(a.order, func(x, y *Agent) int { return strings.Compare(string(x.ID), string(y.ID)) })
	a.pool = NewPool(a.order...)
	if len(stale) > 0 {
		slices.Sort(stale)
		a.log.Info("agents' today counters from an earlier day not restored", "day", a.day, "agents", stale)
	}
	return a
}

// dayOf is t's date as the integer yyyymmdd, in t's location.
func dayOf(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// startOfDay is the midnight that starts t's date, in t's location.
func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// rollDay starts the agents' today counters afresh when the local date
// changes: fewest-calls and least-talk-time compare today's work.
func (a *ACD) rollDay() {
	now := a.now()
	day := dayOf(now)
	if day == a.day {
		return
	}
	if a.day != 0 {
		for _, ag := range a.order {
			ag.CallsToday, ag.TalkToday, ag.CountersAt = 0, 0, now
			if ag.State == OnCall || ag.State == OnHold {
				ag.talkSince = now // a call across midnight counts from here
			}
		}
		a.log.Info("new day: agents' today counters reset", "day", day)
	}
	a.day = day
}

// Run owns the ACD state until ctx ends.
func (a *ACD) Run(ctx context.Context) error {
	defer close(a.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var armed time.Time // when timer is due; zero: stopped
	for {
		if next, ok := a.nextTimer(); ok {
			if !next.Equal(armed) {
				timer.Reset(max(next.Sub(a.now()), 0))
				armed = next
			}
		} else if !armed.IsZero() {
			timer.Stop()
			armed = time.Time{}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-a.reqs:
			a.rollDay()
			f()
		case <-timer.C:
			armed = time.Time{}
			a.rollDay()
			a.fireDue()
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
		if a.queues[w.Queue] == nil {
			return fmt.Errorf("acd: unknown queue %q", w.Queue)
		}
		if w.Offer == nil {
			return fmt.Errorf("acd: call %s has no Offer function", w.Call)
		}
		if _, dup := a.byCall[w.Call]; dup {
			return fmt.Errorf("acd: call %s is already queued", w.Call)
		}
		if err := checkSkills(w.Skills); err != nil {
			return fmt.Errorf("acd: call %s: %w", w.Call, err)
		}
		wc := w
		wc.Skills = maps.Clone(w.Skills)
		wc.offering, wc.cb = "", nil
		a.insert(&wc)
		a.arrived(&wc)
		a.log.Info("call queued", "call", w.Call, "queue", w.Queue, "position", a.position(&wc), "priority", w.Priority)
		a.dispatch()
		return nil
	})
}

// checkSkills rejects a skill requirement outside levels 1-10.
func checkSkills(s map[string]int) error {
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if k == "" {
			return fmt.Errorf("a required skill has no name")
		}
		if l := s[k]; l < 1 || l > maxLevel {
			return fmt.Errorf("skill %s: level %d is not 1-%d", k, l, maxLevel)
		}
	}
	return nil
}

// Cancel takes a call out of line (the caller hung up or left). An agent
// reserved or ringing for it goes back to READY.
func (a *ACD) Cancel(ctx context.Context, call CallID) error {
	return a.do(ctx, func() error {
		w := a.remove(call)
		if w != nil {
			a.leftLine(w, true)
			a.releaseOffer(w)
			if w.cb != nil {
				a.finishCallback(w, CallbackCancelled, "cancelled")
			}
		}
		a.dispatch()
		return nil
	})
}

// releaseOffer puts the agents reserved or ringing for w back to READY.
func (a *ACD) releaseOffer(w *Waiting) {
	a.releaseOthers(w, "")
	w.offering, w.also = "", nil
}

// releaseOthers puts every agent reserved or ringing for w except keep
// back to READY (ring-all: another agent answered).
func (a *ACD) releaseOthers(w *Waiting, keep AgentID) {
	release := func(id AgentID) {
		if ag := a.agents[id]; id != keep && ag != nil && (ag.State == Reserved || ag.State == Ringing) && ag.Call == w.Call {
			_ = a.set(ag, Ready, "", w.ContactID)
		}
	}
	if w.offering != "" {
		release(w.offering)
	}
	for _, id := range w.also {
		release(id)
	}
}

// dropOffer takes agent out of w's offer (the agent did not answer). It
// reports whether the agent was in it; the offer stays while other
// agents of a ring-all still ring.
func (w *Waiting) dropOffer(agent AgentID) bool {
	if i := slices.Index(w.also, agent); i >= 0 {
		w.also = slices.Delete(w.also, i, i+1)
		return true
	}
	if w.offering != agent {
		return false
	}
	w.offering = ""
	if len(w.also) > 0 {
		w.offering, w.also = w.also[0], w.also[1:]
	}
	return true
}

// Ringing: the switch reports the agent's phone ringing for the call
// (RESERVED → RINGING). Reporting it twice is harmless.
func (a *ACD) Ringing(ctx context.Context, call CallID, agent AgentID) error {
	return a.do(ctx, func() error {
		ag := a.agents[agent]
		if ag == nil {
			return fmt.Errorf("acd: %w %q", ErrUnknownAgent, agent)
		}
		if ag.State == Ringing && ag.Call == call {
			return nil
		}
		if ag.State != Reserved || ag.Call != call {
			return fmt.Errorf("acd: agent %s ringing for call %s but is %s for %q: %w: %s → %s", agent, call, ag.State, ag.Call, ErrIllegal, ag.State, Ringing)
		}
		return a.set(ag, Ringing, "", ag.contact)
	})
}

// Answered: the agent answered the offer (from RINGING, or from RESERVED
// when the switch never reported ringing); the call leaves the queue.
func (a *ACD) Answered(ctx context.Context, call CallID, agent AgentID) error {
	return a.do(ctx, func() error {
		ag := a.agents[agent]
		if ag == nil {
			return fmt.Errorf("acd: %w %q", ErrUnknownAgent, agent)
		}
		if (ag.State != Ringing && ag.State != Reserved) || ag.Call != call {
			return fmt.Errorf("acd: agent %s answered call %s but is %s for %q: %w: %s → %s", agent, call, ag.State, ag.Call, ErrIllegal, ag.State, OnCall)
		}
		contact := ag.contact
		if w := a.byCall[call]; w != nil && (w.offering != agent || len(w.also) > 0) {
			a.releaseOthers(w, agent) // ring-all: the others stop ringing
			w.offering, w.also = agent, nil
		}
		if w := a.remove(call); w != nil {
			a.leftLine(w, false)
			contact = w.ContactID
			if w.cb != nil && w.cb.dialContact != 0 {
				contact = w.cb.dialContact
			}
			if w.cb != nil {
				w.cb.agent = agent // in line until the dial's result comes
				w.cb.answeredBy = agent
			}
		}
		ag.CallsToday++
		ag.CountersAt = a.now()
		return a.set(ag, OnCall, "", contact)
	})
}

// NoAnswer: the agent did not answer (or could not be reached), from
// RESERVED or RINGING. The agent goes NOT_READY with the reason and the
// call is offered to the next agent, keeping its place in line.
func (a *ACD) NoAnswer(ctx context.Context, call CallID, agent AgentID, reason string) error {
	return a.do(ctx, func() error {
		ag := a.agents[agent]
		w := a.byCall[call]
		var contact int64
		if w != nil {
			contact = w.ContactID
			if w.cb != nil && w.cb.dialContact != 0 {
				contact = w.cb.dialContact
			}
			if w.dropOffer(agent) && w.offering == "" && w.cb != nil {
				a.setCallbackState(w, CallbackPending, "")
			}
		}
		if ag != nil && (ag.State == Ringing || ag.State == Reserved) && ag.Call == call {
			if err := a.set(ag, NotReady, reason, contact); err != nil {
				return err
			}
		}
		a.dispatch()
		return nil
	})
}

// Hold: the agent put the caller on hold (ON_CALL → ON_HOLD).
func (a *ACD) Hold(ctx context.Context, agent AgentID) error {
	return a.request(ctx, agent, func(ag *Agent) error { return a.set(ag, OnHold, "", ag.contact) })
}

// Unhold: the agent took the caller off hold (ON_HOLD → ON_CALL).
func (a *ACD) Unhold(ctx context.Context, agent AgentID) error {
	return a.request(ctx, agent, func(ag *Agent) error {
		if ag.State != OnHold {
			return fmt.Errorf("acd: agent %s: %w: %s → %s (not on hold)", ag.ID, ErrIllegal, ag.State, OnCall)
		}
		return a.set(ag, OnCall, "", ag.contact)
	})
}

// Ended: the agent's call is over (from ON_CALL or ON_HOLD); after-call
// work, then READY when the queue's wrap-up time has passed.
func (a *ACD) Ended(ctx context.Context, call CallID, agent AgentID, contactID int64) error {
	return a.do(ctx, func() error {
		ag := a.agents[agent]
		if ag == nil {
			return fmt.Errorf("acd: %w %q", ErrUnknownAgent, agent)
		}
		if ag.Call != call || (ag.State != OnCall && ag.State != OnHold) {
			return nil // already moved on (forced state, restart)
		}
		ag.TalkToday += a.now().Sub(ag.talkSince)
		ag.CountersAt = a.now()
		a.handled(ag)
		if err := a.set(ag, AfterCallWork, "", contactID); err != nil {
			return err
		}
		a.startWrapUp(ag, contactID)
		a.dispatch()
		return nil
	})
}

// AdoptCall tells the ACD, after a restart, that an agent is on a call
// that survived it. An agent whose durable state lagged behind (the
// change to ON_CALL was not written before the restart) is brought to
// ON_CALL through legal states, each journalled with reason "adopted".
func (a *ACD) AdoptCall(ctx context.Context, call CallID, agent AgentID, contactID int64) error {
	return a.do(ctx, func() error {
		ag := a.agents[agent]
		if ag == nil {
			return fmt.Errorf("acd: %w %q", ErrUnknownAgent, agent)
		}
		if ag.State != OnCall && ag.State != OnHold {
			for _, s := range pathTo(ag.State, OnCall) {
				if err := a.set(ag, s, "adopted", contactID); err != nil {
					return err
				}
			}
		}
		ag.Call, ag.contact = call, contactID
		return nil
	})
}

// ReleaseOrphans puts right, after a restart, agents whose call did not
// survive it: an agent reserved or ringing for an offer that died goes
// back to READY, an agent on a call (or holding one) that is gone goes to
// after-call work. onCall lists the agents whose calls were adopted.
func (a *ACD) ReleaseOrphans(ctx context.Context, onCall map[AgentID]bool) error {
	return a.do(ctx, func() error {
		for _, ag := range a.order {
			switch {
			case ag.State == Ringing || ag.State == Reserved:
				_ = a.set(ag, Ready, "", 0)
			case (ag.State == OnCall || ag.State == OnHold) && !onCall[ag.ID]:
				_ = a.set(ag, AfterCallWork, "", 0)
				a.startWrapUp(ag, 0)
			}
		}
		a.dispatch()
		return nil
	})
}

// Reconcile puts right agents the ACD believes busy with a call that no
// longer exists (a hang-up event missed, a call goroutine gone): an agent
// reserved or ringing for it goes back to READY, one on it (or holding
// it) goes to after-call work. live says which calls exist. Agents
// reserved for a callback still in line are left alone: the dial has its
// own deadline (CallbackPolicy.DialTimeout). It returns how many agents
// it corrected.
func (a *ACD) Reconcile(ctx context.Context, live func(CallID) bool) (int, error) {
	n := 0
	err := a.do(ctx, func() error {
		for _, ag := range a.order {
			if !busy(ag.State) || live(ag.Call) {
				continue
			}
			w := a.byCall[ag.Call]
			if w != nil && w.cb != nil && w.offering == ag.ID {
				continue
			}
			a.log.Warn("agent busy with a call that is gone; correcting", "agent", ag.ID, "state", ag.State, "call", ag.Call)
			n++
			if ag.State == Ringing || ag.State == Reserved {
				if w != nil {
					w.dropOffer(ag.ID)
				}
				_ = a.set(ag, Ready, "", 0)
				continue
			}
			_ = a.set(ag, AfterCallWork, "", 0)
			a.startWrapUp(ag, 0)
		}
		a.dispatch()
		return nil
	})
	return n, err
}

// busy says whether an agent in state s is tied to a call (Agent.Call).
func busy(s State) bool {
	return s == Reserved || s == Ringing || s == OnCall || s == OnHold
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

// NotReady makes an agent unavailable for a reason from the reason table
// (Reasons: its name or its digit); any other reason is refused with an
// error wrapping ErrUnknownReason.
func (a *ACD) NotReady(ctx context.Context, agent AgentID, reason string) error {
	r, err := ParseReason(reason)
	if err != nil {
		return fmt.Errorf("acd: agent %s: %w", agent, err)
	}
	return a.request(ctx, agent, func(ag *Agent) error { return a.change(ag, NotReady, r.Name) })
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

// change is a state change an agent (or a supervisor) asked for.
func (a *ACD) change(ag *Agent, to State, reason string) error {
	if busy(ag.State) {
		return fmt.Errorf("acd: agent %s is busy with call %s: %w: %s → %s", ag.ID, ag.Call, ErrIllegal, ag.State, to)
	}
	if busy(to) {
		return fmt.Errorf("acd: agent %s: only the ACD puts an agent %s: %w: %s → %s", ag.ID, to, ErrIllegal, ag.State, to)
	}
	return a.set(ag, to, reason, 0)
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

// Waiting returns the calls (and callbacks, as CallbackCallID) waiting in
// a queue, first in line first.
func (a *ACD) Waiting(ctx context.Context, q QueueID) ([]CallID, error) {
	var out []CallID
	err := a.do(ctx, func() error {
		for _, w := range a.line {
			if w.Queue == q {
				out = append(out, w.Call)
			}
		}
		return nil
	})
	return out, err
}

// Position returns a waiting call's queue and its 1-based place among
// that queue's calls, or ok false when it is not in line.
func (a *ACD) Position(ctx context.Context, call CallID) (q QueueID, pos int, ok bool, err error) {
	err = a.do(ctx, func() error {
		if w := a.byCall[call]; w != nil {
			q, pos, ok = w.Queue, a.position(w), true
		}
		return nil
	})
	return q, pos, ok, err
}

// lineCmp orders the line: aging, then order of Enqueue.
func (a *ACD) lineCmp(x, y *Waiting) int {
	if c := a.aging.Compare(x, y); c != 0 {
		return c
	}
	switch {
	case x.seq < y.seq:
		return -1
	case x.seq > y.seq:
		return 1
	}
	return 0
}

// insert puts w in line, builds who may take it and applies the overflow
// steps already due (a call restored or overflowed with time in queue).
func (a *ACD) insert(w *Waiting) {
	a.seq++
	w.seq = a.seq
	i := sort.Search(len(a.line), func(i int) bool { return a.lineCmp(a.line[i], w) > 0 })
	a.line = slices.Insert(a.line, i, w)
	a.byCall[w.Call] = w
	a.rebuild(w)
	a.advance(w, a.now())
}

// position is w's 1-based place among the calls of its queue.
func (a *ACD) position(w *Waiting) int {
	n := 0
	for _, x := range a.line {
		if x.Queue == w.Queue {
			n++
		}
		if x == w {
			return n
		}
	}
	return 0
}

func (a *ACD) remove(call CallID) *Waiting {
	w := a.byCall[call]
	if w == nil {
		return nil
	}
	delete(a.byCall, call)
	i := sort.Search(len(a.line), func(i int) bool { return a.lineCmp(a.line[i], w) >= 0 })
	if i < len(a.line) && a.line[i] == w {
		a.line = slices.Delete(a.line, i, i+1)
	} else {
		a.line = slices.DeleteFunc(a.line, func(x *Waiting) bool { return x == w })
	}
	w.gen++ // its timers are void
	return w
}

// set moves an agent to a state and journals it. A change the state
// table does not allow is refused (and logged): the journal only ever
// holds legal transitions.
func (a *ACD) set(ag *Agent, to State, reason string, contactID int64) error {
	from := ag.State
	if err := CheckTransition(from, to); err != nil {
		err = fmt.Errorf("acd: agent %s: %w", ag.ID, err)
		a.log.Error("agent state change refused", "agent", ag.ID, "from", from, "to", to, "err", err)
		return err
	}
	now := a.now()
	ag.State, ag.Reason, ag.Since = to, reason, now
	switch to {
	case Ready:
		ag.IdleSince = now
	case OnCall:
		if from != OnHold {
			ag.talkSince = now
		}
	}
	if !busy(to) {
		ag.Call, ag.contact = "", 0
	}
	if to != AfterCallWork {
		ag.WrapUpEnds = time.Time{}
	}
	a.pool.Update(ag)
	a.log.Info("agent state", "agent", ag.ID, "from", from, "to", to, "reason", reason, "contact", contactID)
	if a.journal != nil {
		a.journal.Record(AgentChange{Agent: ag.ID, From: from, To: to, Reason: reason, At: now, IdleSince: ag.IdleSince, ContactID: contactID,
			CallsToday: ag.CallsToday, TalkToday: ag.TalkToday})
	}
	return nil
}

// dispatch offers waiting calls to READY agents, in line order. A call
// goes to the agent its queue's router picks among those who may take it
// by its first requirement, else by any overflow alternative in order.
func (a *ACD) dispatch() {
	if a.pool.ReadyCount() == 0 || len(a.line) == 0 {
		return
	}
	now := a.now()
	handler := a.cbHandler.Load()
	for _, w := range a.line {
		if w.offering != "" || w.leaving || (w.cb != nil && handler == nil) {
			continue
		}
		if a.pool.ReadyIn(w.Queue) == 0 {
			continue
		}
		q := a.queues[w.Queue]
		if q.cfg.RingAll && w.cb == nil {
			for _, r := range w.alts {
				r.Now = now
				if a.ringBuf = RingAll(r, a.pool, a.ringBuf[:0]); len(a.ringBuf) > 0 {
					break
				}
			}
			if len(a.ringBuf) > 0 {
				a.reserveAll(w, a.ringBuf, q)
				clear(a.ringBuf)
			}
			if a.pool.ReadyCount() == 0 {
				return
			}
			continue
		}
		var ag *Agent
		for _, r := range w.alts {
			r.Now = now
			if ag = q.cfg.Router.Pick(r, a.pool); ag != nil {
				break
			}
		}
		if ag == nil {
			continue
		}
		a.reserve(w, ag, q, handler)
		if a.pool.ReadyCount() == 0 {
			return
		}
	}
}

// reserve gives w to agent ag: RESERVED, and the offer to the call (or
// the callback handler).
func (a *ACD) reserve(w *Waiting, ag *Agent, q *queue, handler *func(Offer)) {
	if err := a.set(ag, Reserved, "", w.ContactID); err != nil {
		return
	}
	ag.Call, ag.contact, ag.queue = w.Call, w.ContactID, w.Queue
	w.offering = ag.ID
	w.offerGen++
	o := Offer{Call: w.Call, Queue: w.Queue, Agent: ag.ID, AgentName: ag.Name, Endpoint: ag.Endpoint, RingTimeout: q.cfg.RingTimeout}
	if w.cb != nil {
		o.Callback = a.offerCallback(w, ag, q)
		(*handler)(o)
		return
	}
	w.Offer(o)
}

// reserveAll gives w to every agent of set at once (ring-all): all are
// RESERVED and one offer names them all.
func (a *ACD) reserveAll(w *Waiting, set []*Agent, q *queue) {
	o := Offer{Call: w.Call, Queue: w.Queue, RingTimeout: q.cfg.RingTimeout}
	w.also = w.also[:0]
	for _, ag := range set {
		if err := a.set(ag, Reserved, "", w.ContactID); err != nil {
			continue
		}
		ag.Call, ag.contact, ag.queue = w.Call, w.ContactID, w.Queue
		if o.Agent == "" {
			o.Agent, o.AgentName, o.Endpoint = ag.ID, ag.Name, ag.Endpoint
			w.offering = ag.ID
			continue
		}
		o.Also = append(o.Also, OfferAgent{Agent: ag.ID, Name: ag.Name, Endpoint: ag.Endpoint})
		w.also = append(w.also, ag.ID)
	}
	if o.Agent == "" {
		return
	}
	w.offerGen++
	w.Offer(o)
}
