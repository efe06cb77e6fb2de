package acd

import (
	"container/heap"
	"time"
)

// The ACD's timers (wrap-up ends, overflow steps, maximum waits, callback
// retries and dial deadlines) live in one heap owned by the Run goroutine,
// served by a single time.Timer armed for the earliest. There is no
// goroutine per call or per agent. Each entry checks, when it fires,
// that what it was set for still holds (the agent is still in the same
// after-call work, the call is still in line at the same step), so an
// entry made stale by a later event needs no removal.

type timerEntry struct {
	at   time.Time
	seq  uint64 // order of scheduling: entries due together fire in it
	fire func(now time.Time)
}

type timerHeap []*timerEntry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(*timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// at schedules f to run on the ACD goroutine at t (at once if t has
// passed). Only the Run goroutine may call it.
func (a *ACD) at(t time.Time, f func(now time.Time)) {
	a.timerSeq++
	heap.Push(&a.timers, &timerEntry{at: t, seq: a.timerSeq, fire: f})
}

// fireDue runs every timer entry that is due, then dispatches once.
func (a *ACD) fireDue() {
	now := a.now()
	fired := false
	for len(a.timers) > 0 && !a.timers[0].at.After(now) {
		e := heap.Pop(&a.timers).(*timerEntry)
		e.fire(now)
		fired = true
	}
	if fired {
		a.dispatch()
	}
}

// nextTimer is when the earliest entry is due, and whether there is one.
func (a *ACD) nextTimer() (time.Time, bool) {
	if len(a.timers) == 0 {
		return time.Time{}, false
	}
	return a.timers[0].at, true
}
