package acd

import (
	"cmp"
	"context"
	"maps"
	"math"
	"slices"
	"time"
)

// DefaultAHT is the handle time a queue's expected-wait estimate starts
// from (QueueConfig.AHT left zero), until the queue's own calls teach it
// better.
const DefaultAHT = 3 * time.Minute

// NoEstimate is the expected wait Estimate gives when no agent who may
// take the call is on duty: the wait cannot be estimated.
const NoEstimate = time.Duration(math.MaxInt64)

// The live ACD keeps one EWT per queue and feeds it as calls go:
//
//   - Answered: the caller's wait, answered (Left(waited, false));
//   - Cancel: the caller's wait, given up (Left(waited, true)); a caller
//     who leaves the line at max_wait counts too: it no longer holds up
//     those behind it;
//   - Ended: the agent's busy time for the call, talk and hold from the
//     answer plus the queue's wrap-up (Handled).
//
// Callbacks are not fed in: their time in line is not a caller's wait.

// ewtOf returns queue q's estimator, creating it on first use.
func (a *ACD) ewtOf(q QueueID) *EWT {
	if e := a.ewts[q]; e != nil {
		return e
	}
	aht := DefaultAHT
	if qq := a.queues[q]; qq != nil && qq.cfg.AHT > 0 {
		aht = qq.cfg.AHT
	}
	if a.ewts == nil {
		a.ewts = map[QueueID]*EWT{}
	}
	e := NewEWT(aht, 0)
	a.ewts[q] = e
	return e
}

// leftLine feeds a caller's departure from the line into its queue's EWT.
func (a *ACD) leftLine(w *Waiting, abandoned bool) {
	if w == nil || w.cb != nil {
		return
	}
	a.ewtOf(w.Queue).Left(max(a.now().Sub(w.EnqueuedAt), 0), abandoned)
}

// handled feeds an agent's busy time for the call that just ended.
func (a *ACD) handled(ag *Agent) {
	q := a.queues[ag.queue]
	if q == nil || ag.talkSince.IsZero() {
		return
	}
	a.ewtOf(ag.queue).Handled(max(a.now().Sub(ag.talkSince), 0) + q.cfg.WrapUp)
}

// Estimate returns a waiting call's 1-based position among its queue's
// calls and its expected wait: Backlog.Estimate over the calls ahead of
// it in line in every queue (the line is one, ordered by priority with
// aging), each weighing on the agents who may take it for its queue's
// handle time, and the agents on duty, with the abandonment rate of the
// call's queue. When every call ahead may go to every agent who may take
// the call (one queue without skills that divide it), that is
// EWT.Estimate with the calls ahead, the agents on duty who may take it
// and those of them READY; calls that none of its agents may take, even
// indirectly, do not count. An agent is on duty when logged in and not
// NOT_READY: READY, reserved, ringing, on a call, holding one or in
// after-call work. Calls that will take no agent from the line (being
// offered to one already, released at max_wait) are left out. ewt is
// NoEstimate when no agent who may take the call is on duty; ok is false
// when the call is not in line.
func (a *ACD) Estimate(ctx context.Context, call CallID) (position int, ewt time.Duration, ok bool, err error) {
	err = a.do(ctx, func() error {
		w := a.byCall[call]
		if w == nil {
			return nil
		}
		position, ok = a.position(w), true
		ewt = a.estimate(w)
		return nil
	})
	return position, ewt, ok, err
}

// estimate is w's expected wait (Estimate).
func (a *ACD) estimate(w *Waiting) time.Duration {
	if a.backlog == nil {
		a.backlog = NewBacklog(a.order)
	}
	handler := a.cbHandler.Load()
	ahead := a.ahead[:0]
	for _, x := range a.line {
		if x == w {
			break
		}
		if x.offering != "" || x.leaving || (x.cb != nil && handler == nil) {
			continue // as dispatch: it takes no agent from the line
		}
		ahead = append(ahead, Contender{Alts: x.alts, Handle: a.ewtOf(x.Queue).Handle()})
	}
	e := a.ewtOf(w.Queue)
	joiners := a.joinersAhead(w)
	ewt := a.backlog.EstimateJoining(Contender{Alts: w.alts, Handle: e.Handle()}, ahead, e.AbandonRate(), joiners)
	clear(ahead) // keeps no call's requirements alive
	a.ahead = ahead[:0]
	return ewt
}

// arrivalTau is the memory of ArrivalRate: arrivals decay with this
// time constant.
const arrivalTau = 30 * time.Minute

// minArrivalSpan is how long a class must have been seen before its rate
// counts: one VIP in the first seconds is no rate.
const minArrivalSpan = time.Minute

// arrivalClass is callers of one queue and priority.
type arrivalClass struct {
	queue    QueueID
	priority int
}

// ArrivalRate follows a class of callers' arrivals per second,
// exponentially weighted over 30 minutes, and who may take their calls
// (the last one's alternatives). The zero value is ready to use.
type ArrivalRate struct {
	alts        []Request
	count       float64 // arrivals, each decayed since it came
	first, last time.Time
}

// Add counts an arrival at now of a call these alternatives may take.
func (r *ArrivalRate) Add(now time.Time, alts []Request) {
	if r.first.IsZero() {
		r.first, r.last = now, now
	}
	r.count = r.count*math.Exp(-now.Sub(r.last).Seconds()/arrivalTau.Seconds()) + 1
	r.last = now
	r.alts = append(r.alts[:0], alts...)
}

// Rate is the arrivals per second at now: the decayed count over the
// decayed time the class was seen, τ(1 − e^(−span/τ)). It is 0 until the
// class has been seen for a minute.
func (r *ArrivalRate) Rate(now time.Time) float64 {
	span := now.Sub(r.first)
	if r.first.IsZero() || span < minArrivalSpan {
		return 0
	}
	tau := arrivalTau.Seconds()
	c := r.count * math.Exp(-now.Sub(r.last).Seconds()/tau)
	return c / (tau * (1 - math.Exp(-span.Seconds()/tau)))
}

// Joiner returns the class, callers of the given priority, as callers
// who, joining from now on, go ahead of a caller of priority p who joined
// at enqueued (their head start beats p's by more than that caller has
// waited); ok is false if none would.
func (r *ArrivalRate) Joiner(aging Aging, priority int, now time.Time, p int, enqueued time.Time, handle time.Duration) (Joiner, bool) {
	window := enqueued.Add(aging.HeadStart[priority] - aging.HeadStart[p]).Sub(now)
	if window <= 0 {
		return Joiner{}, false
	}
	rate := r.Rate(now)
	if rate <= 0 {
		return Joiner{}, false
	}
	return Joiner{Alts: r.alts, Handle: handle, Rate: rate, Window: window}, true
}

// arrived counts a call joining the line, if its priority has a head
// start: only such callers can join later and still go ahead of others.
func (a *ACD) arrived(w *Waiting) {
	if a.aging.HeadStart[w.Priority] <= 0 {
		return
	}
	k := arrivalClass{w.Queue, w.Priority}
	r := a.arrivals[k]
	if r == nil {
		if a.arrivals == nil {
			a.arrivals = map[arrivalClass]*ArrivalRate{}
		}
		r = &ArrivalRate{}
		a.arrivals[k] = r
	}
	r.Add(a.now(), w.alts)
}

// joinersAhead lists the classes of callers who, joining from now on,
// would still go ahead of w, in a fixed order (the estimate is a pure
// function of the ACD's state).
func (a *ACD) joinersAhead(w *Waiting) []Joiner {
	js := a.joiners[:0]
	now := a.now()
	keys := a.arrivalKeys[:0]
	for k := range a.arrivals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y arrivalClass) int {
		if c := cmp.Compare(y.priority, x.priority); c != 0 {
			return c
		}
		return cmp.Compare(x.queue, y.queue)
	})
	a.arrivalKeys = keys
	for _, k := range keys {
		if j, ok := a.arrivals[k].Joiner(a.aging, k.priority, now, w.Priority, w.EnqueuedAt, a.ewtOf(k.queue).Handle()); ok {
			js = append(js, j)
		}
	}
	a.joiners = js
	return js
}

// mayTake says whether ag, were it READY, may take a call with these
// alternatives: it serves the queue of one of them ("" any queue) and has
// its skills.
func mayTake(ag *Agent, alts []Request) bool {
	for i := range alts {
		if r := &alts[i]; (r.Queue == "" || ag.Queues[r.Queue]) && meets(ag, r.Requires) {
			return true
		}
	}
	return false
}

// meets says whether an agent has every skill of need at its level.
func meets(ag *Agent, need []SkillNeed) bool {
	for _, n := range need {
		if lvl, ok := ag.Skills[n.Skill]; !ok || lvl < n.Level {
			return false
		}
	}
	return true
}

// QueueStatus is a queue's live state, as a wallboard or a workforce
// manager reads it.
type QueueStatus struct {
	Queue QueueID
	// Waiting is the calls in line for the queue, callbacks among them;
	// Callbacks counts those.
	Waiting, Callbacks int
	// LongestWait is how long the caller who has waited longest has
	// waited so far (callbacks left out; 0: no caller waits).
	LongestWait time.Duration
	// EWT is the wait a caller of normal priority joining now would be
	// told (Estimate, behind every call in line); NoEstimate when no
	// agent who may take the queue's calls is on duty.
	EWT time.Duration
	// Agents counts the agents who serve the queue, by state (logged-out
	// agents left out).
	Agents map[State]int
}

// Queues returns every queue's live state, by queue ID.
func (a *ACD) Queues(ctx context.Context) ([]QueueStatus, error) {
	var out []QueueStatus
	err := a.do(ctx, func() error {
		now := a.now()
		for _, id := range slices.Sorted(maps.Keys(a.queues)) {
			s := QueueStatus{Queue: id, Agents: map[State]int{}}
			for _, w := range a.line {
				if w.Queue != id {
					continue
				}
				s.Waiting++
				if w.cb != nil {
					s.Callbacks++
				} else {
					s.LongestWait = max(s.LongestWait, now.Sub(w.EnqueuedAt), time.Nanosecond)
				}
			}
			for _, ag := range a.order {
				if ag.Queues[id] && ag.State != LoggedOut {
					s.Agents[ag.State]++
				}
			}
			// A caller joining now: behind every call in line (it has
			// waited least), with the queue's own requirements.
			newcomer := &Waiting{Queue: id, Priority: PriorityNormal, EnqueuedAt: now}
			a.rebuild(newcomer)
			s.EWT = a.estimate(newcomer)
			out = append(out, s)
		}
		return nil
	})
	return out, err
}
