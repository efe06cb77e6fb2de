package call

import (
	"context"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/pbx"
)

// msg is what a call's goroutine receives: a switch event, an offer, or
// one of the ACD's notices to a waiting call.
type msg struct {
	ev       pbx.Event
	offer    *acd.Offer
	maxWait  *acd.MaxWaitNotice
	overflow *acd.OverflowNotice
	// holdLimit: a callback's customer has waited the queue's
	// callback.hold_max for an agent.
	holdLimit bool
	// unnoticed marks a hang-up found by reconciliation: it happened at
	// some time after since (zero: unknown), unheard by hotline.
	unnoticed bool
	since     time.Time
}

// mailbox is an unbounded FIFO: put never blocks, so the event loop never
// waits on a call, and nothing is dropped.
type mailbox struct {
	mu     sync.Mutex
	q      []msg
	signal chan struct{}
}

func newMailbox() *mailbox { return &mailbox{signal: make(chan struct{}, 1)} }

func (m *mailbox) put(x msg) {
	m.mu.Lock()
	m.q = append(m.q, x)
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// behindOffer puts x back at the end of the queue if an offer waits in
// it, so that the offer is read first; it reports whether it did. Check
// and put are one step: an offer cannot slip in between.
func (m *mailbox) behindOffer(x msg) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, y := range m.q {
		if y.offer != nil {
			m.q = append(m.q, x)
			return true
		}
	}
	return false
}

// hasOffer reports whether an offer waits in the mailbox.
func (m *mailbox) hasOffer() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.q {
		if x.offer != nil {
			return true
		}
	}
	return false
}

// get returns the next message, waiting until one comes, ctx ends or
// timeout (if not nil) fires; ok is false then.
func (m *mailbox) get(ctx context.Context, timeout <-chan time.Time) (msg, bool) {
	for {
		m.mu.Lock()
		if len(m.q) > 0 {
			x := m.q[0]
			m.q[0] = msg{}
			m.q = m.q[1:]
			m.mu.Unlock()
			return x, true
		}
		m.mu.Unlock()
		select {
		case <-m.signal:
		case <-timeout:
			return msg{}, false
		case <-ctx.Done():
			return msg{}, false
		}
	}
}
