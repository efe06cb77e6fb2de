package call

import (
	"context"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
)

// A callback customer's hold limit that strikes while an agent's offer
// waits goes behind the offer: the customer is put through to the agent,
// and told to expect another call only if that agent does not answer.
// With no offer waiting the limit is not requeued.
func TestHoldLimitYieldsToAWaitingOffer(t *testing.T) {
	mb := newMailbox()
	if mb.behindOffer(msg{holdLimit: true}) {
		t.Fatal("requeued behind an offer that is not there")
	}
	mb.put(msg{offer: &acd.Offer{Call: "cb1", Agent: "a1"}})
	if !mb.behindOffer(msg{holdLimit: true}) {
		t.Fatal("the hold limit did not yield to the waiting offer")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	first, ok := mb.get(ctx, nil)
	if !ok || first.offer == nil || first.offer.Agent != "a1" {
		t.Fatalf("first message %+v, want the offer", first)
	}
	second, ok := mb.get(ctx, nil)
	if !ok || !second.holdLimit {
		t.Fatalf("second message %+v, want the hold limit after the offer", second)
	}
}
