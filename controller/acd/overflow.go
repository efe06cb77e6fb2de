package acd

import (
	"maps"
	"slices"
	"time"
)

// OverflowStep is one step of a queue's overflow rules, applied to a call
// once it has been in queue for After (counted from its place in line,
// EnqueuedAt, so a restored or moved call keeps its time). A step may do
// any of:
//
//   - MinLevel: lower every required skill level to at most MinLevel;
//   - AddSkills: widen who may take the call: an agent of the queue with
//     any one of these skills (at its level) may, when no agent qualified
//     by the call's own requirements is READY;
//   - ToQueue: move the call to another queue, keeping its place (time
//     and priority); the new queue's requirements replace the old
//     queue's, and its own steps then apply by the same time in queue.
type OverflowStep struct {
	After     time.Duration
	MinLevel  int
	AddSkills map[string]int
	ToQueue   QueueID
}

// MaxWaitAction is what happens to a call that waited a queue's max_wait.
type MaxWaitAction string

// The max_wait actions.
const (
	// MaxWaitCallback: offer the caller a callback instead of waiting; the
	// call stays in line (and may still be offered to an agent) until the
	// caller takes the callback or leaves.
	MaxWaitCallback MaxWaitAction = "callback"
	// MaxWaitVoicemail: the caller leaves a message; the ACD offers the
	// call to no more agents.
	MaxWaitVoicemail MaxWaitAction = "voicemail"
	// MaxWaitRelease: an announcement, then release; the ACD offers the
	// call to no more agents.
	MaxWaitRelease MaxWaitAction = "release"
)

// MaxWaitActions lists the max_wait actions.
func MaxWaitActions() []MaxWaitAction {
	return []MaxWaitAction{MaxWaitCallback, MaxWaitVoicemail, MaxWaitRelease}
}

// MaxWait is a queue's limit on waiting.
type MaxWait struct {
	After  time.Duration
	Action MaxWaitAction
	Prompt string // announcement before the action (e.g. sound:...); may be empty
}

// MaxWaitNotice tells a call (Waiting.OnMaxWait) that it has waited its
// queue's max_wait. The call side plays Prompt and carries out Action; it
// calls Cancel when the caller leaves the line.
type MaxWaitNotice struct {
	Call   CallID
	Queue  QueueID
	Action MaxWaitAction
	Prompt string
	Waited time.Duration
}

// OverflowNotice tells a call (Waiting.OnOverflow) that an overflow step
// was applied to it.
type OverflowNotice struct {
	Call      CallID
	Queue     QueueID // the queue the step belongs to
	Step      int     // index in the queue's Overflow
	MinLevel  int
	AddSkills map[string]int
	ToQueue   QueueID // set when the call moved
}

// rebuild recomputes who may take w: alts[0] is the queue's and the
// call's own requirements, capped at the overflow level; each further
// alternative is one skill an overflow step added.
func (a *ACD) rebuild(w *Waiting) {
	q := a.queues[w.Queue]
	need := maps.Clone(q.cfg.Skills)
	if need == nil {
		need = map[string]int{}
	}
	for s, l := range w.Skills {
		need[s] = max(need[s], l)
	}
	capLevel := func(l int) int {
		if w.minLevel > 0 {
			return min(l, w.minLevel)
		}
		return l
	}
	primary := Request{Queue: w.Queue}
	for _, s := range slices.Sorted(maps.Keys(need)) {
		primary.Requires = append(primary.Requires, SkillNeed{Skill: s, Level: capLevel(need[s])})
	}
	w.alts = append(w.alts[:0], primary)
	for _, s := range slices.Sorted(maps.Keys(w.added)) {
		w.alts = append(w.alts, Request{Queue: w.Queue, Requires: []SkillNeed{{Skill: s, Level: capLevel(w.added[s])}}})
	}
}

// advance applies to w every overflow step (and the max_wait) due by now,
// then schedules the next one.
func (a *ACD) advance(w *Waiting, now time.Time) {
	waited := now.Sub(w.EnqueuedAt)
	for moved := true; moved; {
		moved = false
		q := a.queues[w.Queue]
		for w.step < len(q.cfg.Overflow) && q.cfg.Overflow[w.step].After <= waited {
			st := q.cfg.Overflow[w.step]
			n := OverflowNotice{Call: w.Call, Queue: w.Queue, Step: w.step, MinLevel: st.MinLevel, AddSkills: maps.Clone(st.AddSkills)}
			w.step++
			if st.MinLevel > 0 && (w.minLevel == 0 || st.MinLevel < w.minLevel) {
				w.minLevel = st.MinLevel
			}
			for s, l := range st.AddSkills {
				if w.added == nil {
					w.added = map[string]int{}
				}
				if old, ok := w.added[s]; !ok || l < old {
					w.added[s] = l
				}
			}
			if t := st.ToQueue; t != "" {
				switch {
				case a.queues[t] == nil:
					a.log.Warn("overflow to an unknown queue ignored", "call", w.Call, "queue", w.Queue, "to", t)
				case t == w.Queue || slices.Contains(w.visited, t):
					a.log.Warn("overflow back to a queue the call came from ignored", "call", w.Call, "queue", w.Queue, "to", t)
				default:
					n.ToQueue = t
					w.visited = append(w.visited, w.Queue)
					w.Queue, w.step, w.minLevel, w.added = t, 0, 0, nil
					moved = true
				}
			}
			a.rebuild(w)
			a.log.Info("overflow step", "call", w.Call, "queue", n.Queue, "step", n.Step, "waited", waited,
				"min_level", st.MinLevel, "add_skills", st.AddSkills, "to_queue", n.ToQueue)
			if w.OnOverflow != nil {
				w.OnOverflow(n)
			}
			if moved {
				break
			}
		}
	}
	q := a.queues[w.Queue]
	if mw := q.cfg.MaxWait; mw != nil && !w.maxDone && w.cb == nil && w.OnMaxWait != nil && mw.After <= waited {
		w.maxDone = true
		if mw.Action != MaxWaitCallback {
			w.leaving = true
		}
		a.log.Info("call waited the queue's maximum", "call", w.Call, "queue", w.Queue, "waited", waited, "action", mw.Action)
		w.OnMaxWait(MaxWaitNotice{Call: w.Call, Queue: w.Queue, Action: mw.Action, Prompt: mw.Prompt, Waited: waited})
	}
	a.scheduleOverflow(w)
}

// scheduleOverflow arms the timer for w's next overflow step or max_wait.
func (a *ACD) scheduleOverflow(w *Waiting) {
	q := a.queues[w.Queue]
	var next time.Time
	if w.step < len(q.cfg.Overflow) {
		next = w.EnqueuedAt.Add(q.cfg.Overflow[w.step].After)
	}
	if mw := q.cfg.MaxWait; mw != nil && !w.maxDone && w.cb == nil && w.OnMaxWait != nil {
		if t := w.EnqueuedAt.Add(mw.After); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	w.gen++
	if next.IsZero() {
		return
	}
	gen := w.gen
	a.at(next, func(now time.Time) {
		if a.byCall[w.Call] == w && w.gen == gen {
			a.advance(w, now)
		}
	})
}
