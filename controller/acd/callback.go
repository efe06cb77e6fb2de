package acd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A callback is a place in line without a caller on the line: a customer
// asked (on the web, or by a key in the queue) to be called back. It waits
// in its queue's line like a call, from its original place. When it
// reaches the front and an agent is free, the ACD reserves the agent
// (RESERVED) and hands an Offer carrying the callback to the handler the
// server registered (SetCallbackHandler). The call side dials, moves the
// agent on with Ringing, Answered (or NoAnswer) and Ended under the
// callback's CallID (CallbackCallID), and reports the dial's outcome with
// CallbackResult: answered completes it; anything else counts as an
// attempt and the callback is retried after the queue's interval, up to
// its number of attempts.

// CallbackMode says whom the call side dials first.
type CallbackMode string

// The callback modes.
const (
	// CustomerFirst: dial the customer; when they answer, ring the agent.
	CustomerFirst CallbackMode = "customer-first"
	// AgentFirst: ring the agent; when the agent answers, dial the customer.
	AgentFirst CallbackMode = "agent-first"
)

// CallbackState is where a callback is.
type CallbackState string

// The callback states (the status column of the callbacks table).
const (
	CallbackPending   CallbackState = "pending"   // in line
	CallbackOffered   CallbackState = "offered"   // an agent is reserved; being dialled
	CallbackScheduled CallbackState = "scheduled" // waiting for its next attempt
	CallbackCompleted CallbackState = "completed" // the customer answered
	CallbackFailed    CallbackState = "failed"    // out of attempts
	CallbackCancelled CallbackState = "cancelled"
)

// CallbackOutcome is the result of one callback dial.
type CallbackOutcome string

// The outcomes CallbackResult accepts.
const (
	OutcomeAnswered CallbackOutcome = "answered"
	OutcomeNoAnswer CallbackOutcome = "no-answer"
	OutcomeBusy     CallbackOutcome = "busy"
	OutcomeFailed   CallbackOutcome = "failed" // the dial could not be placed
	// OutcomeNoAgent: the customer answered but no agent took the call
	// within the queue's hold limit.
	OutcomeNoAgent CallbackOutcome = "no-agent"
)

// Callback is a callback request handed to EnqueueCallback.
type Callback struct {
	ID     int64 // the store's id (callbacks.id)
	Queue  QueueID
	Number string // digits, optionally a leading +; 1-20 digits
	// EnqueuedAt is the place in line: the time the caller joined the
	// queue (a phone callback keeps it) or the web request's time.
	EnqueuedAt time.Time
	Priority   int
	Mode       CallbackMode // "" means CustomerFirst
	Skills     map[string]int
	ContactID  int64
	// Attempts already made (a restored callback), and when the next one
	// is due (zero: now).
	Attempts      int
	NextAttemptAt time.Time
}

// CallbackOffer is the callback an Offer carries.
type CallbackOffer struct {
	ID        int64
	Number    string
	Mode      CallbackMode
	Attempt   int // 1 for the first dial
	ContactID int64
}

// CallbackPolicy is a queue's retry policy for callbacks.
type CallbackPolicy struct {
	Attempts int           // dials before the callback fails (default 3)
	Interval time.Duration // between attempts (default 5 min)
	// DialTimeout bounds how long an agent stays reserved for a callback
	// dial without Ringing, Answered, NoAnswer or CallbackResult (default
	// 2 min); then the agent is READY again and the dial counts as failed.
	DialTimeout time.Duration
}

// Callback policy defaults.
const (
	DefaultCallbackAttempts    = 3
	DefaultCallbackInterval    = 5 * time.Minute
	DefaultCallbackDialTimeout = 2 * time.Minute
)

func (p CallbackPolicy) withDefaults() CallbackPolicy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultCallbackAttempts
	}
	if p.Interval <= 0 {
		p.Interval = DefaultCallbackInterval
	}
	if p.DialTimeout <= 0 {
		p.DialTimeout = DefaultCallbackDialTimeout
	}
	return p
}

// CallbackChange is one change of a callback, handed to the
// CallbackJournal in order.
type CallbackChange struct {
	ID            int64
	Queue         QueueID
	State         CallbackState
	Attempts      int
	NextAttemptAt time.Time // for CallbackScheduled
	Outcome       string    // the last dial's outcome
	Agent         AgentID   // the agent reserved or who took it
	At            time.Time
}

// CallbackJournal makes callback changes durable. RecordCallback is called
// on the ACD goroutine, in order, and must not block for long.
type CallbackJournal interface {
	RecordCallback(CallbackChange)
}

// CallbackInfo is a live callback as CallbackStatus reports it.
type CallbackInfo struct {
	ID            int64
	Queue         QueueID
	State         CallbackState
	Position      int // 1-based among its queue's line; 0 when not in line
	Attempts      int
	NextAttemptAt time.Time
	Agent         AgentID
	EnqueuedAt    time.Time
}

// ErrUnknownCallback is returned for a callback the ACD does not hold
// (never enqueued, or already completed, failed or cancelled).
var ErrUnknownCallback = errors.New("unknown callback")

// ErrInvalidCallback is wrapped by EnqueueCallback's error for a bad
// request (number, mode, queue, id, skills).
var ErrInvalidCallback = errors.New("invalid callback")

var reCallbackNumber = regexp.MustCompile(`^\+?[0-9]{1,20}$`)

// ValidCallbackNumber says whether a number may be dialled back: digits,
// optionally one leading +, 1-20 digits.
func ValidCallbackNumber(n string) bool { return reCallbackNumber.MatchString(n) }

// CallbackCallID is the CallID a callback has in line and in the agent
// calls (Ringing, Answered, NoAnswer, Ended).
func CallbackCallID(id int64) CallID { return CallID("callback-" + strconv.FormatInt(id, 10)) }

// ParseCallbackCallID returns the callback ID of a CallbackCallID.
func ParseCallbackCallID(c CallID) (int64, bool) {
	s, ok := strings.CutPrefix(string(c), "callback-")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

type callbackState struct {
	cb         Callback
	state      CallbackState
	outcome    string
	agent      AgentID
	answeredBy AgentID
	// dialContact is the contact of the dial under way (DialContact);
	// the agent's states during it are filed under it.
	dialContact int64
}

// OfferStands reports whether o's agent is still reserved for o's call.
// An offer that reached a call after the call had reported its result
// (its customer gave up waiting at callback.hold_max just as an agent
// freed up) does not: reporting the result released the agent, who may
// already be serving someone else, so the offer must not be dialled.
func (a *ACD) OfferStands(ctx context.Context, o Offer) (bool, error) {
	var ok bool
	err := a.do(ctx, func() error {
		ag := a.agents[o.Agent]
		ok = ag != nil && ag.State == Reserved && ag.Call == o.Call
		return nil
	})
	return ok, err
}

// DialContact tells the ACD the contact of a callback's dial, once the
// call side has created it: from then on the states of the agents
// reserved for the dial (RINGING, ON_CALL) are filed under it, not under
// the callback's original contact.
func (a *ACD) DialContact(ctx context.Context, id int64, contact int64) error {
	return a.do(ctx, func() error {
		w := a.callbacks[id]
		if w == nil {
			return fmt.Errorf("acd: callback %d: %w", id, ErrUnknownCallback)
		}
		w.cb.dialContact = contact
		for _, agent := range append([]AgentID{w.offering}, w.also...) {
			if ag := a.agents[agent]; ag != nil && ag.Call == w.Call && (ag.State == Reserved || ag.State == Ringing) {
				ag.contact = contact
			}
		}
		return nil
	})
}

// SetCallbackJournal sets where callback changes are made durable. Call
// it before Run.
func (a *ACD) SetCallbackJournal(j CallbackJournal) { a.cbJournal = j }

// SetCallbackHandler registers the function that dials callbacks: it is
// called on the ACD goroutine, with the agent already RESERVED, and must
// not block. Until one is registered callbacks wait in line and no agent
// is reserved for them. It may be called at any time.
func (a *ACD) SetCallbackHandler(f func(Offer)) {
	if f == nil {
		a.cbHandler.Store(nil)
		return
	}
	a.cbHandler.Store(&f)
	select {
	case a.reqs <- a.dispatch:
	case <-a.stopped:
	}
}

// EnqueueCallback puts a callback in line at its place (or schedules it,
// when its next attempt is in the future) and returns its 1-based
// position in its queue's line (0 when scheduled).
func (a *ACD) EnqueueCallback(ctx context.Context, c Callback) (int, error) {
	if c.Mode == "" {
		c.Mode = CustomerFirst
	}
	switch {
	case c.ID <= 0:
		return 0, fmt.Errorf("acd: callback id %d is not positive: %w", c.ID, ErrInvalidCallback)
	case !ValidCallbackNumber(c.Number):
		return 0, fmt.Errorf("acd: callback %d: number %q is not 1-20 digits with an optional leading +: %w", c.ID, c.Number, ErrInvalidCallback)
	case c.Mode != CustomerFirst && c.Mode != AgentFirst:
		return 0, fmt.Errorf("acd: callback %d: mode %q is not %s or %s: %w", c.ID, c.Mode, CustomerFirst, AgentFirst, ErrInvalidCallback)
	case c.EnqueuedAt.IsZero():
		return 0, fmt.Errorf("acd: callback %d has no place in line (EnqueuedAt): %w", c.ID, ErrInvalidCallback)
	}
	if err := checkSkills(c.Skills); err != nil {
		return 0, fmt.Errorf("acd: callback %d: %w: %w", c.ID, err, ErrInvalidCallback)
	}
	pos := 0
	err := a.do(ctx, func() error {
		if a.queues[c.Queue] == nil {
			return fmt.Errorf("acd: callback %d: unknown queue %q: %w", c.ID, c.Queue, ErrInvalidCallback)
		}
		if a.callbacks[c.ID] != nil {
			return fmt.Errorf("acd: callback %d is already queued: %w", c.ID, ErrInvalidCallback)
		}
		w := &Waiting{Call: CallbackCallID(c.ID), Queue: c.Queue, ContactID: c.ContactID, Priority: c.Priority,
			EnqueuedAt: c.EnqueuedAt, Skills: maps.Clone(c.Skills), cb: &callbackState{cb: c}}
		a.callbacks[c.ID] = w
		if c.NextAttemptAt.After(a.now()) {
			a.scheduleRetry(w, c.NextAttemptAt)
			return nil
		}
		a.insert(w)
		a.setCallbackState(w, CallbackPending, "")
		pos = a.position(w)
		a.log.Info("callback queued", "callback", c.ID, "queue", c.Queue, "position", pos, "mode", c.Mode, "attempts", c.Attempts)
		a.dispatch()
		return nil
	})
	return pos, err
}

// CallbackStatus reports a live callback.
func (a *ACD) CallbackStatus(ctx context.Context, id int64) (CallbackInfo, error) {
	var info CallbackInfo
	err := a.do(ctx, func() error {
		w := a.callbacks[id]
		if w == nil {
			return fmt.Errorf("acd: callback %d: %w", id, ErrUnknownCallback)
		}
		info = CallbackInfo{ID: id, Queue: w.Queue, State: w.cb.state, Attempts: w.cb.cb.Attempts,
			NextAttemptAt: w.cb.cb.NextAttemptAt, Agent: w.cb.agent, EnqueuedAt: w.EnqueuedAt}
		if a.byCall[w.Call] == w {
			info.Position = a.position(w)
		}
		return nil
	})
	return info, err
}

// CancelCallback withdraws a callback; an agent reserved for it goes back
// to READY.
func (a *ACD) CancelCallback(ctx context.Context, id int64) error {
	return a.do(ctx, func() error {
		w := a.callbacks[id]
		if w == nil {
			return fmt.Errorf("acd: callback %d: %w", id, ErrUnknownCallback)
		}
		a.remove(w.Call)
		a.releaseOffer(w)
		a.finishCallback(w, CallbackCancelled, "cancelled")
		a.dispatch()
		return nil
	})
}

// CallbackResult reports how a callback dial ended. OutcomeAnswered
// completes the callback (the agent goes on through Ringing, Answered and
// Ended as for any call). Any other outcome counts as an attempt: the
// agent, if still RESERVED or RINGING for it, goes back to READY (it is
// not the agent's fault), and the callback is retried after the queue's
// interval, or fails when out of attempts.
func (a *ACD) CallbackResult(ctx context.Context, id int64, agent AgentID, outcome CallbackOutcome) error {
	switch outcome {
	case OutcomeAnswered, OutcomeNoAnswer, OutcomeBusy, OutcomeFailed, OutcomeNoAgent:
	default:
		return fmt.Errorf("acd: callback %d: outcome %q is not one of %s, %s, %s, %s, %s: %w", id, outcome,
			OutcomeAnswered, OutcomeNoAnswer, OutcomeBusy, OutcomeFailed, OutcomeNoAgent, ErrInvalidCallback)
	}
	return a.do(ctx, func() error {
		w := a.callbacks[id]
		if w == nil {
			return fmt.Errorf("acd: callback %d: %w", id, ErrUnknownCallback)
		}
		if agent != "" && w.offering != agent && w.cb.answeredBy != agent {
			a.log.Warn("callback result from an agent it was not offered to", "callback", id, "agent", agent, "offered", w.offering)
		}
		a.dialEnded(w, string(outcome), outcome == OutcomeAnswered)
		a.dispatch()
		return nil
	})
}

// dialEnded closes one callback dial: completed, or one attempt more.
func (a *ACD) dialEnded(w *Waiting, outcome string, answered bool) {
	a.remove(w.Call)
	if answered {
		w.offering = ""
		a.finishCallback(w, CallbackCompleted, outcome)
		return
	}
	a.releaseOffer(w)
	w.cb.cb.Attempts++
	pol := a.queues[w.Queue].cfg.Callback
	if w.cb.cb.Attempts >= pol.Attempts {
		a.log.Warn("callback failed: out of attempts", "callback", w.cb.cb.ID, "attempts", w.cb.cb.Attempts, "outcome", outcome)
		a.finishCallback(w, CallbackFailed, outcome)
		return
	}
	w.cb.outcome = outcome
	a.scheduleRetry(w, a.now().Add(pol.Interval))
}

// scheduleRetry takes w out of line until at, then puts it back at its
// original place.
func (a *ACD) scheduleRetry(w *Waiting, at time.Time) {
	w.cb.cb.NextAttemptAt = at
	w.cb.agent, w.cb.answeredBy, w.cb.dialContact = "", "", 0
	a.setCallbackState(w, CallbackScheduled, w.cb.outcome)
	a.log.Info("callback scheduled", "callback", w.cb.cb.ID, "at", at, "attempts", w.cb.cb.Attempts)
	a.at(at, func(time.Time) {
		if a.callbacks[w.cb.cb.ID] != w || w.cb.state != CallbackScheduled || !w.cb.cb.NextAttemptAt.Equal(at) {
			return
		}
		w.offering = ""
		w.cb.cb.NextAttemptAt = time.Time{}
		a.insert(w)
		a.setCallbackState(w, CallbackPending, w.cb.outcome)
	})
}

// offerCallback records that w was offered to ag and arms the dial
// deadline; it returns what the Offer carries.
func (a *ACD) offerCallback(w *Waiting, ag *Agent, q *queue) *CallbackOffer {
	w.cb.agent = ag.ID
	a.setCallbackState(w, CallbackOffered, w.cb.outcome)
	gen, agent := w.offerGen, ag.ID
	a.at(a.now().Add(q.cfg.Callback.DialTimeout), func(time.Time) {
		if a.callbacks[w.cb.cb.ID] != w || w.offering != agent || w.offerGen != gen {
			return
		}
		if ag := a.agents[agent]; ag != nil && ag.State != Reserved {
			return // the dial is under way (ringing, or talking)
		}
		a.log.Warn("callback dial: no result in time; agent released", "callback", w.cb.cb.ID, "agent", agent, "timeout", q.cfg.Callback.DialTimeout)
		a.dialEnded(w, "dial timeout", false)
	})
	return &CallbackOffer{ID: w.cb.cb.ID, Number: w.cb.cb.Number, Mode: w.cb.cb.Mode, Attempt: w.cb.cb.Attempts + 1, ContactID: w.ContactID}
}

// finishCallback ends a callback for good.
func (a *ACD) finishCallback(w *Waiting, st CallbackState, outcome string) {
	a.setCallbackState(w, st, outcome)
	delete(a.callbacks, w.cb.cb.ID)
	a.log.Info("callback finished", "callback", w.cb.cb.ID, "state", st, "outcome", outcome, "attempts", w.cb.cb.Attempts)
}

func (a *ACD) setCallbackState(w *Waiting, st CallbackState, outcome string) {
	w.cb.state, w.cb.outcome = st, outcome
	if a.cbJournal == nil {
		return
	}
	agent := w.cb.agent
	if w.cb.answeredBy != "" {
		agent = w.cb.answeredBy
	}
	var next time.Time
	if st == CallbackScheduled {
		next = w.cb.cb.NextAttemptAt
	}
	a.cbJournal.RecordCallback(CallbackChange{ID: w.cb.cb.ID, Queue: w.Queue, State: st, Attempts: w.cb.cb.Attempts,
		NextAttemptAt: next, Outcome: outcome, Agent: agent, At: a.now()})
}
