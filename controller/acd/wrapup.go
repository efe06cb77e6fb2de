package acd

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrWrapUpLimit is wrapped by ExtendWrapUp's error when the extension is
// not positive or goes beyond the queue's WrapUpMaxExtension.
var ErrWrapUpLimit = errors.New("after-call work extension refused")

// wrapUpFor is the after-call work time and extension limit that apply to
// an agent: those of the queue of its latest call, else the longest of
// its queues'.
func (a *ACD) wrapUpFor(ag *Agent) (wrap, maxExt time.Duration) {
	if q := a.queues[ag.queue]; q != nil {
		return q.cfg.WrapUp, q.cfg.WrapUpMaxExtension
	}
	for id := range ag.Queues {
		if q := a.queues[id]; q != nil {
			wrap = max(wrap, q.cfg.WrapUp)
			maxExt = max(maxExt, q.cfg.WrapUpMaxExtension)
		}
	}
	return wrap, maxExt
}

// startWrapUp starts an agent's after-call work (the agent is already
// AFTER_CALL_WORK): READY when it ends.
func (a *ACD) startWrapUp(ag *Agent, contactID int64) {
	wrap, _ := a.wrapUpFor(ag)
	ag.wrapExtended = 0
	ag.WrapUpEnds = a.now().Add(wrap)
	a.armWrapUp(ag, contactID)
}

func (a *ACD) armWrapUp(ag *Agent, contactID int64) {
	ends := ag.WrapUpEnds
	a.at(ends, func(time.Time) {
		if ag.State == AfterCallWork && ag.WrapUpEnds.Equal(ends) {
			_ = a.set(ag, Ready, "", contactID)
		}
	})
}

// ExtendWrapUp adds d to the agent's after-call work. The agent must be
// in after-call work, d must be positive, and all extensions of one
// call's after-call work together may not exceed the queue's
// WrapUpMaxExtension (an error wrapping ErrWrapUpLimit says how much is
// left). It returns when the after-call work now ends.
func (a *ACD) ExtendWrapUp(ctx context.Context, agent AgentID, d time.Duration) (time.Time, error) {
	var ends time.Time
	err := a.request(ctx, agent, func(ag *Agent) error {
		if ag.State != AfterCallWork {
			return fmt.Errorf("acd: agent %s is %s, not in after-call work: %w", agent, ag.State, ErrIllegal)
		}
		_, maxExt := a.wrapUpFor(ag)
		left := maxExt - ag.wrapExtended
		switch {
		case d <= 0:
			return fmt.Errorf("acd: agent %s: extension %s is not positive: %w", agent, d, ErrWrapUpLimit)
		case d > left:
			return fmt.Errorf("acd: agent %s: extension %s is more than the %s left of the queue's %s: %w", agent, d, left, maxExt, ErrWrapUpLimit)
		}
		ag.wrapExtended += d
		ag.WrapUpEnds = ag.WrapUpEnds.Add(d)
		ends = ag.WrapUpEnds
		a.log.Info("after-call work extended", "agent", agent, "by", d, "ends", ends, "extended", ag.wrapExtended)
		a.armWrapUp(ag, ag.contact)
		return nil
	})
	return ends, err
}

// EndWrapUp ends the agent's after-call work now: READY.
func (a *ACD) EndWrapUp(ctx context.Context, agent AgentID) error {
	return a.request(ctx, agent, func(ag *Agent) error {
		if ag.State != AfterCallWork {
			return fmt.Errorf("acd: agent %s is %s, not in after-call work: %w: %s → %s", agent, ag.State, ErrIllegal, ag.State, Ready)
		}
		return a.set(ag, Ready, "", 0)
	})
}
