package call

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/ivr"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/store"
)

// transferArg marks, in an originated channel's arguments, the leg
// dialling the outside number an IVR flow transferred a caller to.
const transferArg = "transfer"

// TransferSettings says how a flow's transfer to an outside number is
// placed (config.Transfer).
type TransferSettings struct {
	// Dial is the endpoint template with {number}; "" places no
	// transfers (the caller goes to an agent instead).
	Dial string
	// Allow lists the number prefixes transfers may go to.
	Allow []string
	// RingTimeout is how long the number may ring.
	RingTimeout time.Duration
}

// errNoTransferDial: the installation places no transfers to numbers.
var errNoTransferDial = errors.New("no transfer.dial is configured")

// endpoint returns the endpoint to dial for number, or why the number
// may not be dialled.
func (t TransferSettings) endpoint(number string) (string, error) {
	if t.Dial == "" {
		return "", errNoTransferDial
	}
	allowed := false
	for _, p := range t.Allow {
		if strings.HasPrefix(number, p) {
			allowed = true
			break
		}
	}
	if !allowed {
		return "", fmt.Errorf("%s matches no prefix in transfer.allow", number)
	}
	return dialEndpoint(t.Dial, number)
}

// transfer dials the outside number a flow transferred the caller to
// and bridges the two when it answers; the caller hears hold music
// meanwhile. A number that may not be dialled, or that is busy, does not
// answer in time or cannot be reached, sends the caller to an agent: a
// transfer never drops the caller.
func (c *Call) transfer(ctx context.Context, number string) {
	log := c.log.With("number", number)
	endpoint, err := c.m.cfg.Transfer.endpoint(number)
	if err != nil {
		log.Warn("transfer not placed; the caller goes to an agent", "err", err)
		c.Trail("ivr", "transfer", "to "+number+" not placed ("+err.Error()+"): to an agent instead")
		reason := "not allowed"
		if errors.Is(err, errNoTransferDial) {
			reason = "not configured"
		}
		c.event(ctx, "transfer_failed", map[string]any{"number": number, "reason": reason})
		c.queue(ctx)
		return
	}
	c.nLeg++
	leg := pbx.ChannelID(fmt.Sprintf("%s-t%d", c.channel, c.nLeg))
	c.setAgentLeg(leg)
	c.save("transfer dialing", func(ctx context.Context) error {
		return c.m.store.MarkTransferDialing(ctx, c.contact, string(leg))
	})
	c.event(ctx, "transfer_dialing", map[string]any{"number": number})
	log.Info("transferring the caller to an outside number", "leg", leg)
	c.startMOH(ctx)
	answered, reason, err := c.dialTransfer(ctx, leg, endpoint)
	if err != nil {
		return // the caller left or hotline is stopping; dialTransfer finished the contact if need be
	}
	if answered.IsZero() {
		c.setAgentLeg("")
		log.Info("transfer not answered; the caller goes to an agent", "reason", reason)
		c.Trail("ivr", "transfer", "to "+number+" "+reason+": to an agent instead")
		c.event(ctx, "transfer_failed", map[string]any{"number": number, "reason": reason})
		if c.moh {
			_ = c.do(ctx, pbx.StopMOH{Channel: c.channel})
			c.moh = false
		}
		c.queue(ctx)
		return
	}
	if c.moh {
		_ = c.do(ctx, pbx.StopMOH{Channel: c.channel})
		c.moh = false
	}
	bridge := pbx.BridgeID(string(c.channel) + "-b")
	if err := c.do(ctx, pbx.CreateBridge{ID: bridge}); err != nil {
		log.Error("bridge not created", "err", err)
	}
	if err := c.do(ctx, pbx.AddToBridge{Bridge: bridge, Channels: []pbx.ChannelID{c.channel, leg}}); err != nil {
		log.Warn("caller gone as the number answered", "err", err)
		c.m.hangup(ctx, leg)
		_ = c.do(ctx, pbx.DestroyBridge{Bridge: bridge})
		c.hungUp = true
		c.finish(ctx, store.DispAbandonedIVR, "caller")
		return
	}
	c.save("transferred", func(ctx context.Context) error {
		return c.m.store.MarkTransferred(ctx, c.contact, string(leg), string(bridge))
	})
	c.eventAt(ctx, "transferred", map[string]any{"number": number}, answered)
	log.Info("transfer answered, caller bridged")
	c.transferred(ctx, leg, bridge)
}

// dialTransfer rings the outside number on leg. It returns when the
// number answered, or else why not ("busy", "not answered", "failed");
// an error when the caller left meanwhile (the contact is finished) or
// hotline is stopping.
func (c *Call) dialTransfer(ctx context.Context, leg pbx.ChannelID, endpoint string) (time.Time, string, error) {
	ring := c.m.cfg.Transfer.RingTimeout
	if ring <= 0 {
		ring = 30 * time.Second
	}
	err := c.originate(ctx, pbx.Originate{ID: leg, Endpoint: endpoint, CallerID: c.callerID(), Timeout: ring + 5*time.Second,
		Args: []string{transferArg, string(c.channel)}})
	if err != nil {
		c.log.Warn("transfer dial failed", "endpoint", endpoint, "err", err)
		return time.Time{}, "failed", nil
	}
	timer := time.NewTimer(ring)
	defer timer.Stop()
	for {
		x, ok := c.mb.get(ctx, timer.C)
		if !ok && ctx.Err() != nil {
			return time.Time{}, "", ctx.Err()
		}
		if !ok {
			c.m.hangup(ctx, leg)
			return time.Time{}, "not answered", nil
		}
		ev := x.ev
		switch {
		case c.isCallerHangup(ev):
			c.noteHangup(ev)
			c.log.Info("caller hung up while the transfer rang")
			c.m.hangup(ctx, leg)
			c.finish(ctx, store.DispAbandonedIVR, "caller")
			return time.Time{}, "", ivr.ErrHungUp
		case ev.Channel == leg && ev.Kind == pbx.ChannelRinging:
			c.eventAt(ctx, "transfer_ringing", nil, eventTime(ev))
		case ev.Channel == leg && ev.Kind == pbx.ChannelStarted:
			return eventTime(ev), "", nil
		case ev.Channel == leg && ev.Kind == pbx.ChannelHungup:
			switch dialOutcome(ev.Cause) {
			case acd.OutcomeBusy:
				return time.Time{}, "busy", nil
			case acd.OutcomeFailed:
				return time.Time{}, "failed", nil
			}
			return time.Time{}, "not answered", nil
		}
	}
}

// transferred waits, while the caller talks to the outside number,
// for either side to hang up, then ends the other and the contact.
func (c *Call) transferred(ctx context.Context, leg pbx.ChannelID, bridge pbx.BridgeID) {
	var by string
	var at time.Time
	for by == "" {
		x, ok := c.mb.get(ctx, nil)
		if !ok {
			return // shutting down: the call stays up and is adopted later
		}
		ev := x.ev
		switch {
		case c.isCallerHangup(ev):
			c.noteHangup(ev)
			by, at = "caller", c.hungAt
			c.m.hangup(ctx, leg)
		case ev.Channel == leg && ev.Kind == pbx.ChannelHungup:
			by, at = "transfer", eventTime(ev)
			c.m.hangup(ctx, c.channel)
		}
	}
	if err := c.do(ctx, pbx.DestroyBridge{Bridge: bridge}); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		c.log.Warn("bridge not destroyed", "err", err)
	}
	c.finishAt(ctx, store.DispTransferred, by, at)
}
