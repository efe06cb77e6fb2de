package call

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/ivr"
	"github.com/hotline-cc/hotline/controller/ivr/flow"
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
	if c.secret && kind == "key" {
		return
	}
	c.trailSeq++
	if c.contact == 0 {
		return
	}
	st := store.TrailStep{Seq: c.trailSeq, At: at, Node: node, Kind: kind, Detail: detail}
	c.save("trail", func(ctx context.Context) error { return c.m.store.AppendTrail(ctx, c.contact, st) })
}

// The Call is also the session IVR flows run on.
var _ flow.Session = (*Call)(nil)

// PlayAll implements flow.Session: the caller hears media to the end;
// keys pressed meanwhile are ignored (not trailed either).
func (c *Call) PlayAll(ctx context.Context, node string, media ...string) error {
	if c.hungUp {
		return ivr.ErrHungUp
	}
	c.nPlay++
	id := pbx.PlaybackID(fmt.Sprintf("%s-p%d", c.channel, c.nPlay))
	c.Trail(node, "prompt", strings.Join(media, " "))
	if err := c.do(ctx, pbx.Play{Channel: c.channel, ID: id, Media: media}); err != nil {
		if errors.Is(err, pbx.ErrNotFound) {
			return c.waitHangup(ctx)
		}
		return fmt.Errorf("play %s: %w", node, err)
	}
	for {
		x, ok := c.mb.get(ctx, nil)
		if !ok {
			return ctx.Err()
		}
		switch ev := x.ev; {
		case c.isCallerHangup(ev):
			c.noteHangup(ev)
			return ivr.ErrHungUp
		case ev.Kind == pbx.PlaybackFinished && ev.Playback == id:
			return nil
		}
	}
}

// Secret implements flow.Session: while on, keys reach no trail, log or
// store, and a recording of the call, if one runs, is paused.
func (c *Call) Secret(ctx context.Context, on bool) error {
	c.secret = on
	if c.liveRec == "" {
		return nil
	}
	var cmd pbx.Command = pbx.PauseRecording{Name: c.liveRec}
	if !on {
		cmd = pbx.ResumeRecording{Name: c.liveRec}
	}
	if err := c.do(ctx, cmd); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		return fmt.Errorf("secret input: recording %s not paused/resumed: %w", c.liveRec, err)
	}
	return nil
}

// Record implements flow.Session: a voice message from the caller, after
// a beep, ended by #, 5 s of silence, max or the caller hanging up. It
// returns the file's path as hotline sees it.
func (c *Call) Record(ctx context.Context, node string, max time.Duration) (string, error) {
	if c.hungUp {
		return "", ivr.ErrHungUp
	}
	c.nPlay++
	name := pbx.RecordingName(fmt.Sprintf("vm-%d-%s-%d", c.contact, sanitize(string(c.channel)), c.nPlay))
	c.m.register(string(name), c)
	path := filepath.Join(c.m.cfg.RecordingDir, string(name)+"."+c.m.cfg.RecordingFormat)
	if err := c.do(ctx, pbx.RecordChannel{Channel: c.channel, Name: name, Format: c.m.cfg.RecordingFormat,
		MaxDuration: max, MaxSilence: voicemailSilence, TerminateOn: "#"}); err != nil {
		if errors.Is(err, pbx.ErrNotFound) {
			return "", c.waitHangup(ctx)
		}
		return "", fmt.Errorf("record %s: %w", node, err)
	}
	for {
		x, ok := c.mb.get(ctx, nil)
		if !ok {
			return "", ctx.Err()
		}
		switch ev := x.ev; {
		case ev.Recording == name && ev.Kind == pbx.RecordingFinished:
			return path, nil
		case ev.Recording == name && ev.Kind == pbx.RecordingFailed:
			return "", fmt.Errorf("record %s: the switch could not record", node)
		case c.isCallerHangup(ev):
			// Hanging up is how most callers end a message: the switch
			// keeps the file; the flow finds the caller gone at its next
			// step.
			c.noteHangup(ev)
			return path, nil
		}
	}
}
