package ari

import (
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// hangups turns Asterisk's hang-up events into exactly one ChannelHungup
// per channel.
//
// Asterisk 22 with subscribeAll=false stops sending a channel's events
// to the application once the channel leaves Stasis: a channel that came
// in through the dialplan (Stasis(hotline)) gets ChannelHangupRequest and
// StasisEnd, and never ChannelDestroyed. A channel hotline originated is
// subscribed by the originate itself and gets StasisEnd then
// ChannelDestroyed; one that never answered (so never entered Stasis)
// gets only ChannelDestroyed. So StasisEnd is the hang-up, and a later
// ChannelDestroyed for the same channel is dropped as a duplicate.
//
// StasisEnd carries no cause. The cause comes from, in order: a hard
// ChannelHangupRequest's cause (the far end hung up with one); the
// reason hotline gave to Hangup; 16 (normal clearing) when any hang-up
// request was seen, which is what a SIP BYE is; else 0.
//
// observe runs on the reader goroutine; requested is called by Do.
type hangups struct {
	mu        sync.Mutex
	requested map[pbx.ChannelID]int // cause hotline asked for, by Hangup

	// Reader goroutine only.
	remote    map[pbx.ChannelID]int // cause of a hard hang-up request; 0 = request seen, no cause
	ended     map[pbx.ChannelID]time.Time
	lastSweep time.Time
}

// endedTTL bounds how long a delivered hang-up waits for a duplicate
// ChannelDestroyed (it follows StasisEnd within milliseconds).
const endedTTL = 2 * time.Minute

func newHangups() *hangups {
	return &hangups{requested: map[pbx.ChannelID]int{}, remote: map[pbx.ChannelID]int{}, ended: map[pbx.ChannelID]time.Time{}}
}

// reasonCause maps a pbx.Hangup reason to the Q.850 cause Asterisk sets.
var reasonCause = map[string]int{"": 16, "normal": 16, "busy": 17, "no_answer": 19, "congestion": 34}

// causeText is Asterisk's text (ast_cause2str) for the causes a contact
// center sees; others keep the text Asterisk sent, or none.
var causeText = map[int]string{
	1: "Unallocated (unassigned) number", 16: "Normal Clearing", 17: "User busy",
	18: "No user responding", 19: "User alerting, no answer", 21: "Call Rejected",
	27: "Destination out of order", 31: "Normal, unspecified", 34: "Circuit/channel congestion",
	38: "Network out of order", 41: "Temporary failure", 127: "Interworking, unspecified",
}

func (h *hangups) request(ch pbx.ChannelID, reason string) {
	h.mu.Lock()
	h.requested[ch] = reasonCause[reason]
	h.mu.Unlock()
}

func (h *hangups) forget(ch pbx.ChannelID) {
	h.mu.Lock()
	delete(h.requested, ch)
	h.mu.Unlock()
}

// observe updates state for f and reports whether f.Event (possibly with
// its cause filled in) is to be delivered.
func (h *hangups) observe(f *frame, now time.Time) bool {
	ch := f.Event.Channel
	switch f.Type {
	case "ChannelHangupRequest":
		if !f.SoftHangup {
			if _, seen := h.remote[ch]; !seen || f.Event.Cause != 0 {
				h.remote[ch] = f.Event.Cause
			}
		} else if _, seen := h.remote[ch]; !seen {
			h.remote[ch] = 0
		}
		return false
	case "StasisEnd":
		cause, seen := h.remote[ch]
		delete(h.remote, ch)
		h.mu.Lock()
		asked, didAsk := h.requested[ch]
		delete(h.requested, ch)
		h.mu.Unlock()
		switch {
		case cause != 0:
		case didAsk:
			cause = asked
		case seen:
			cause = 16
		}
		f.Event.Cause = cause
		f.Event.CauseText = causeText[cause]
		h.ended[ch] = now
		h.sweep(now)
		return true
	case "ChannelDestroyed":
		delete(h.remote, ch)
		h.forget(ch)
		if _, dup := h.ended[ch]; dup {
			delete(h.ended, ch)
			return false
		}
		if f.Event.CauseText == "" {
			f.Event.CauseText = causeText[f.Event.Cause]
		}
		return true
	}
	return f.Deliver
}

func (h *hangups) sweep(now time.Time) {
	if now.Sub(h.lastSweep) < endedTTL {
		return
	}
	h.lastSweep = now
	for ch, at := range h.ended {
		if now.Sub(at) > endedTTL {
			delete(h.ended, ch)
		}
	}
}
