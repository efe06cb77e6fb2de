package call

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/ivr"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/store"
)

// The Call is the IVR's Session.
var _ ivr.Session = (*Call)(nil)

// Play implements ivr.Session: barge-in stops the prompt and returns the key.
func (c *Call) Play(ctx context.Context, node string, media ...string) (string, error) {
	if c.hungUp {
		return "", ivr.ErrHungUp
	}
	c.nPlay++
	id := pbx.PlaybackID(fmt.Sprintf("%s-p%d", c.channel, c.nPlay))
	c.Trail(node, "prompt", strings.Join(media, " "))
	if err := c.do(ctx, pbx.Play{Channel: c.channel, ID: id, Media: media}); err != nil {
		if errors.Is(err, pbx.ErrNotFound) {
			return "", c.waitHangup(ctx)
		}
		return "", fmt.Errorf("play %s: %w", node, err)
	}
	for {
		x, ok := c.mb.get(ctx, nil)
		if !ok {
			return "", ctx.Err()
		}
		ev := x.ev
		switch {
		case c.isCallerHangup(ev):
			c.noteHangup(ev)
			return "", ivr.ErrHungUp
		case ev.Kind == pbx.PlaybackFinished && ev.Playback == id:
			return "", nil
		case ev.Kind == pbx.DTMF && ev.Channel == c.channel:
			if err := c.do(ctx, pbx.StopPlayback{ID: id}); err != nil && !errors.Is(err, pbx.ErrNotFound) {
				c.log.Warn("prompt not stopped", "err", err)
			}
			c.trailAt(node, "key", ev.Digit, eventTime(ev))
			return ev.Digit, nil
		}
	}
}

// WaitKey implements ivr.Session.
func (c *Call) WaitKey(ctx context.Context, node string, d time.Duration) (string, error) {
	if c.hungUp {
		return "", ivr.ErrHungUp
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		x, ok := c.mb.get(ctx, timer.C)
		if !ok {
			return "", ctx.Err() // nil on timeout
		}
		ev := x.ev
		switch {
		case c.isCallerHangup(ev):
			c.noteHangup(ev)
			return "", ivr.ErrHungUp
		case ev.Kind == pbx.DTMF && ev.Channel == c.channel:
			c.trailAt(node, "key", ev.Digit, eventTime(ev))
			return ev.Digit, nil
		}
	}
}

// waitHangup waits (briefly) for the hang-up event of a channel the
// switch says is gone, so the contact gets the switch's time.
func (c *Call) waitHangup(ctx context.Context) error {
	timer := time.NewTimer(2 * time.Second)
	defer timer.Stop()
	for {
		x, ok := c.mb.get(ctx, timer.C)
		if !ok {
			c.hungUp = true
			return ivr.ErrHungUp
		}
		if c.isCallerHangup(x.ev) {
			c.noteHangup(x.ev)
			return ivr.ErrHungUp
		}
	}
}

// Bill implements ivr.Session.
func (c *Call) Bill(ctx context.Context) (int64, bool, error) {
	return c.m.store.CustomerBill(c.sctx(ctx), c.caller)
}

// Trail implements ivr.Session.
func (c *Call) Trail(node, kind, detail string) { c.trailAt(node, kind, detail, time.Now()) }

// trailAt appends a trail step that happened at a given time (a key
// carries the switch's timestamp of the DTMF event).
func (c *Call) trailAt(node, kind, detail string, at time.Time) {
	c.trailSeq++
	if c.contact == 0 {
		return
	}
	st := store.TrailStep{Seq: c.trailSeq, At: at, Node: node, Kind: kind, Detail: detail}
	c.save("trail", func(ctx context.Context) error { return c.m.store.AppendTrail(ctx, c.contact, st) })
}
