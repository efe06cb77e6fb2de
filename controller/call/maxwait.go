package call

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/store"
)

// Prompts of the queue's max_wait actions and of callbacks
// (ivr-scripts/prompts.txt).
const (
	PromptCallbackChoice  = "sound:hotline/callback-choice"
	PromptCallbackNumber  = "sound:hotline/callback-number"
	PromptCallbackConfirm = "sound:hotline/callback-confirm"
	PromptCallbackThanks  = "sound:hotline/callback-thanks"
	PromptCallbackIntro   = "sound:hotline/callback-intro"
	PromptCallbackAgain   = "sound:hotline/callback-again"
	PromptQueueVoicemail  = "sound:hotline/queue-vm-prompt"
	PromptQueueVMThanks   = "sound:hotline/queue-vm-thanks"
	PromptQueueReleased   = "sound:hotline/queue-released"
)

// Limits of the max_wait prompts and voice messages.
const (
	// keyWait is how long a caller has to press a key after a question.
	keyWait = 6 * time.Second
	// voicemailMax bounds a voice message; voicemailSilence of silence
	// ends it too.
	voicemailMax     = 2 * time.Minute
	voicemailSilence = 5 * time.Second
)

// maxWait carries out the queue's max_wait action (acd.MaxWaitNotice):
// the queue's prompt, then a callback offer, a voice message or release.
// It reports whether the call is over; false leaves the caller in line
// on hold music (the callback was declined, or an offer or the caller's
// hang-up cut it short: c.held has it).
func (c *Call) maxWait(ctx context.Context, n acd.MaxWaitNotice, enqueued time.Time) bool {
	c.log.Info("caller waited the queue's maximum", "queue", n.Queue, "waited", n.Waited.Round(time.Second), "action", n.Action)
	c.event(ctx, "max_wait", map[string]any{"queue": string(n.Queue), "action": string(n.Action), "waited_s": n.Waited.Seconds()})
	c.Trail("queue", "max_wait", fmt.Sprintf("%s after %s", n.Action, n.Waited.Round(time.Second)))
	c.stopHoldAudio(ctx)
	media := c.queuePrompt(n.Prompt)
	switch n.Action {
	case acd.MaxWaitCallback:
		return c.offerCallback(ctx, media, enqueued)
	case acd.MaxWaitVoicemail:
		c.takeVoicemail(ctx, media)
		return true
	default:
		c.releaseMaxWait(ctx, media)
		return true
	}
}

// queuePrompt is the queue's max_wait prompt as media the switch can play
// (none when empty or not a sound:).
func (c *Call) queuePrompt(p string) []string {
	switch {
	case p == "":
		return nil
	case strings.HasPrefix(p, "sound:"):
		return []string{p}
	}
	c.log.Warn("max_wait prompt is not a sound; not played", "prompt", p)
	return nil
}

// offerCallback offers the caller a callback that keeps their place in
// line: press 1, hear the number read back, press 1 to confirm. On
// confirmation the callback is stored and put in line at the call's own
// place, the call leaves the line and is released.
func (c *Call) offerCallback(ctx context.Context, media []string, enqueued time.Time) bool {
	number := c.caller
	if !acd.ValidCallbackNumber(number) || c.settings().CallbackDial == "" {
		c.log.Warn("no callback offered: the caller's number cannot be dialled back, or the queue takes no callbacks", "number", number)
		if len(media) > 0 {
			if _, stop, err := c.prompt(ctx, "callback", media, false, 0); err != nil || stop != nil {
				return c.holdOn(ctx, stop, err)
			}
		}
		return c.holdOn(ctx, nil, nil)
	}
	key, stop, err := c.prompt(ctx, "callback", append(media, PromptCallbackChoice), true, keyWait)
	if err != nil || stop != nil || key != "1" {
		c.Trail("callback", "declined", keyOrNone(key))
		return c.holdOn(ctx, stop, err)
	}
	key, stop, err = c.prompt(ctx, "callback", []string{PromptCallbackNumber, "digits:" + strings.TrimPrefix(number, "+"), PromptCallbackConfirm}, true, keyWait)
	if err != nil || stop != nil || key != "1" {
		c.Trail("callback", "declined", keyOrNone(key))
		return c.holdOn(ctx, stop, err)
	}
	queue := c.queueID
	id, err := c.m.store.CreateCallback(c.sctx(ctx), store.NewCallback{Queue: string(queue), Number: number, Source: store.CallbackSourcePhone,
		RequestedAt: time.Now(), PlaceAt: enqueued, Priority: c.priority, ContactID: c.contact})
	if err != nil {
		c.log.Error("callback not recorded; the caller stays in line", "err", err)
		return c.holdOn(ctx, nil, nil)
	}
	pos, err := c.m.acd.EnqueueCallback(ctx, acd.Callback{ID: id, Queue: queue, Number: number, EnqueuedAt: enqueued,
		Priority: c.priority, Skills: c.skills, ContactID: c.contact})
	if err != nil {
		c.log.Error("callback not queued; the caller stays in line", "callback", id, "err", err)
		c.logErr("callback", c.m.store.UpdateCallback(c.sctx(ctx), store.CallbackUpdate{ID: id, Status: string(acd.CallbackCancelled),
			Outcome: "not queued", At: time.Now()}))
		return c.holdOn(ctx, nil, nil)
	}
	// The callback holds the place now; the call leaves the line.
	c.logErr("cancel", c.m.acd.Cancel(ctx, c.acdCall()))
	if info, err := c.m.acd.CallbackStatus(ctx, id); err == nil && info.Position > 0 {
		pos = info.Position // without the call itself, which was still in line
	}
	c.log.Info("callback requested", "callback", id, "position", pos)
	c.event(ctx, "callback_requested", map[string]any{"callback": id, "number": number, "position": pos})
	c.Trail("callback", "requested", fmt.Sprintf("callback %d, position %d", id, pos))
	if _, stop, err := c.prompt(ctx, "callback", []string{PromptCallbackThanks}, false, 0); err != nil {
		return true // shutting down
	} else if stop != nil && c.isCallerHangup(stop.ev) {
		c.noteHangup(stop.ev)
	}
	c.hangupAndFinish(ctx, store.DispCallbackRequested, "system")
	return true
}

// holdOn puts a caller who stays in line back on hold music and hands
// back what cut a prompt short (stop) to the queue loop. It reports
// whether the call is over (shutting down).
func (c *Call) holdOn(ctx context.Context, stop *msg, err error) bool {
	if err != nil {
		return true
	}
	if stop != nil {
		c.held = append(c.held, *stop)
		if stop.offer != nil {
			return false // the queue loop rings the agent at once
		}
	}
	if !c.moh && !c.hungUp {
		c.startMOH(ctx)
	}
	return false
}

func keyOrNone(k string) string {
	if k == "" {
		return "no key"
	}
	return "key " + k
}

// takeVoicemail takes the caller out of line and records a voice
// message, referenced from the contact.
func (c *Call) takeVoicemail(ctx context.Context, media []string) {
	c.logErr("cancel", c.m.acd.Cancel(ctx, c.acdCall()))
	_, stop, err := c.prompt(ctx, "voicemail", append(media, PromptQueueVoicemail), false, 0)
	if err != nil {
		return
	}
	if stop != nil && c.isCallerHangup(stop.ev) {
		c.noteHangup(stop.ev)
		c.finish(ctx, store.DispAbandonedQueue, "caller")
		return
	}
	path, err := c.recordMessage(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		c.log.Error("voice message not recorded; releasing the caller", "err", err)
		c.Trail("voicemail", "error", "not recorded")
		if !c.hungUp {
			_, _, _ = c.prompt(ctx, "voicemail", []string{PromptQueueReleased}, false, 0)
		}
		c.hangupAndFinish(ctx, store.DispReleasedMaxWait, "system")
		return
	}
	c.save("voicemail", func(ctx context.Context) error { return c.m.store.MarkVoicemail(ctx, c.contact, path) })
	c.event(ctx, "voicemail", map[string]any{"file": path})
	c.Trail("voicemail", "recorded", filepath.Base(path))
	c.log.Info("voice message recorded", "path", path)
	if !c.hungUp {
		if _, stop, err := c.prompt(ctx, "voicemail", []string{PromptQueueVMThanks}, false, 0); err != nil {
			return
		} else if stop != nil && c.isCallerHangup(stop.ev) {
			c.noteHangup(stop.ev)
		}
	}
	c.hangupAndFinish(ctx, store.DispVoicemail, "system")
}

// recordMessage records the caller after a beep until #, silence, the
// limit or the caller hanging up, and returns the file as hotline sees
// it.
func (c *Call) recordMessage(ctx context.Context) (string, error) {
	return c.Record(ctx, "max_wait", voicemailMax)
}

// releaseMaxWait takes the caller out of line, says so and hangs up.
func (c *Call) releaseMaxWait(ctx context.Context, media []string) {
	c.logErr("cancel", c.m.acd.Cancel(ctx, c.acdCall()))
	if len(media) == 0 {
		media = []string{PromptQueueReleased}
	}
	if _, stop, err := c.prompt(ctx, "max_wait", media, false, 0); err != nil {
		return
	} else if stop != nil && c.isCallerHangup(stop.ev) {
		c.noteHangup(stop.ev)
	}
	c.hangupAndFinish(ctx, store.DispReleasedMaxWait, "system")
}

// prompt plays media to a caller (in line or being called back) and, with
// keys, takes a key pressed during it or within wait after it. It returns
// the key ("" for none), or in stop what cut it short and is for the
// caller to handle: an offer or the caller hanging up. Overflow notices
// are recorded on the way. err is set only when ctx ends. A prompt the
// switch refuses is logged and skipped.
func (c *Call) prompt(ctx context.Context, node string, media []string, keys bool, wait time.Duration) (key string, stop *msg, err error) {
	if c.hungUp {
		return "", nil, nil
	}
	c.nPlay++
	id := pbx.PlaybackID(fmt.Sprintf("%s-p%d", c.channel, c.nPlay))
	c.Trail(node, "prompt", strings.Join(media, " "))
	if err := c.do(ctx, pbx.Play{Channel: c.channel, ID: id, Media: media}); err != nil {
		if !errors.Is(err, pbx.ErrNotFound) {
			c.log.Warn("prompt not played", "node", node, "err", err)
		}
		return "", nil, nil
	}
	playing := true
	var timeout <-chan time.Time
	defer func() {
		if playing && ctx.Err() == nil && !c.hungUp {
			_ = c.do(ctx, pbx.StopPlayback{ID: id})
		}
	}()
	for {
		x, ok := c.mb.get(ctx, timeout)
		if !ok {
			if ctx.Err() != nil {
				return "", nil, ctx.Err()
			}
			return "", nil, nil // no key in time
		}
		ev := x.ev
		switch {
		case x.offer != nil || x.maxWait != nil:
			return "", &x, nil
		case x.overflow != nil:
			c.overflowed(ctx, *x.overflow)
		case c.isCallerHangup(ev):
			c.noteHangup(ev)
			return "", &x, nil
		case ev.Kind == pbx.PlaybackFinished && ev.Playback == id:
			playing = false
			if !keys || wait <= 0 {
				return "", nil, nil
			}
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		case keys && ev.Kind == pbx.DTMF && ev.Channel == c.channel:
			c.trailAt(node, "key", ev.Digit, eventTime(ev))
			return ev.Digit, nil, nil
		}
	}
}
