package acd

import (
	"context"
	"math"
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
	ewt := a.backlog.Estimate(Contender{Alts: w.alts, Handle: e.Handle()}, ahead, e.AbandonRate())
	clear(ahead) // keeps no call's requirements alive
	a.ahead = ahead[:0]
	return ewt
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
