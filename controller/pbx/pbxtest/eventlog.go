package pbxtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// eventLog records every event a driver delivers, so scenarios running
// side by side can each wait for their own and the suite can check order
// over the whole run.
type eventLog struct {
	mu      sync.Mutex
	evs     []pbx.Event
	changed chan struct{} // closed and replaced on every append
	seqErr  error
	closed  bool
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{})} }

// consume reads events until the channel closes, checking Seq.
func (l *eventLog) consume(events <-chan pbx.Event) {
	for ev := range events {
		l.mu.Lock()
		want := uint64(len(l.evs) + 1)
		if ev.Seq != want && l.seqErr == nil {
			l.seqErr = fmt.Errorf("event #%d (%v) has Seq %d, want %d: Seq must start at 1 and increase by one", len(l.evs), ev.Kind, ev.Seq, want)
		}
		l.evs = append(l.evs, ev)
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.closed = true
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *eventLog) seqError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seqErr
}

func (l *eventLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.evs)
}

func (l *eventLog) at(i int) pbx.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.evs[i]
}

func (l *eventLog) since(i int) []pbx.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]pbx.Event(nil), l.evs[i:]...)
}

// await returns the index of the first event at or after from that
// matches pred, waiting for it until ctx ends.
func (l *eventLog) await(ctx context.Context, from int, pred func(pbx.Event) bool) (int, error) {
	for {
		l.mu.Lock()
		for i := from; i < len(l.evs); i++ {
			if pred(l.evs[i]) {
				l.mu.Unlock()
				return i, nil
			}
		}
		from = len(l.evs)
		ch, closed := l.changed, l.closed
		l.mu.Unlock()
		if closed {
			return 0, errors.New("driver's event channel closed")
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// dump renders events from i on, for failure messages (at most 60).
func (l *eventLog) dump(i int) string {
	evs := l.since(i)
	var b strings.Builder
	for k, e := range evs {
		if k == 60 {
			fmt.Fprintf(&b, "  ... %d more\n", len(evs)-k)
			break
		}
		fmt.Fprintf(&b, "  seq %d %v ch=%s br=%s pb=%s rec=%s caller=%s dialed=%s digit=%s cause=%d\n",
			e.Seq, e.Kind, e.Channel, e.Bridge, e.Playback, e.Recording, e.Caller, e.Dialed, e.Digit, e.Cause)
	}
	return b.String()
}

func errorIs(err, target error) bool { return errors.Is(err, target) }
