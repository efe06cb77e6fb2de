package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/ivr"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/recording"
	"github.com/hotline-cc/hotline/controller/store"
)

// Call is one live call. Only its own goroutine touches its fields, but
// ownsChannel may be asked from the Manager.
type Call struct {
	m       *Manager
	channel pbx.ChannelID
	service Service
	caller  string
	mb      *mailbox
	log     *slog.Logger

	contact  int64
	trailSeq int
	nPlay    int
	nLeg     int
	priority int  // place-in-line priority from the customer record
	hungUp   bool // the caller's channel is gone
	hungAt   time.Time
	// while queued: the hold announcement playing, and whether hold
	// music is on
	holdPlayback pbx.PlaybackID
	moh          bool

	mu       sync.Mutex
	agentLeg pbx.ChannelID // the agent channel ringing or bridged
}

// ownsChannel says whether key is one of this call's channels.
func (c *Call) ownsChannel(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return key == string(c.channel) || (c.agentLeg != "" && key == string(c.agentLeg))
}

func (c *Call) setAgentLeg(ch pbx.ChannelID) {
	c.mu.Lock()
	c.agentLeg = ch
	c.mu.Unlock()
	if ch != "" {
		c.m.register(string(ch), c)
	}
}

// runNew runs a call that just arrived.
func (c *Call) runNew(ctx context.Context, arrived time.Time) {
	id, err := c.m.store.CreateContact(c.sctx(ctx), string(c.channel), c.service.Number, c.caller, arrived)
	if err != nil {
		c.log.Error("contact not recorded; the call goes on", "err", err)
	}
	c.contact = id
	c.log = c.log.With("contact", id)
	c.lookupPriority(ctx)
	c.event(ctx, "arrived", map[string]any{"service": c.service.Number, "caller": c.caller})
	c.log.Info("call arrived")
	if err := c.do(ctx, pbx.Answer{Channel: c.channel}); err != nil {
		c.finish(ctx, store.DispAbandonedIVR, "caller")
		return
	}
	c.runIVR(ctx)
}

func (c *Call) runIVR(ctx context.Context) {
	out, err := ivr.MainMenu(ctx, c, c.m.cfg.Rules)
	if ctx.Err() != nil {
		return // shutting down: the call stays up on the switch and is adopted
	}
	now := time.Now()
	c.save("ivr end", func(ctx context.Context) error { return c.m.store.MarkIVREnd(ctx, c.contact, now) })
	c.event(ctx, "ivr_end", map[string]any{"outcome": out.String()})
	if err != nil {
		if !errors.Is(err, ivr.ErrHungUp) {
			c.log.Error("ivr failed", "err", err)
		}
		disp := store.DispAbandonedIVR
		if out == ivr.Contained {
			disp = store.DispContained
		}
		c.hangupAndFinish(ctx, disp, "caller")
		return
	}
	switch out {
	case ivr.Contained:
		c.hangupAndFinish(ctx, store.DispContained, "system")
	case ivr.ReleasedNoInput:
		c.log.Info("no input, releasing the call", "after", c.m.cfg.Rules.NoInput)
		c.hangupAndFinish(ctx, store.DispReleasedNoInput, "system")
	case ivr.ToAgent:
		c.queue(ctx)
	default:
		c.hangupAndFinish(ctx, store.DispAbandonedIVR, "caller")
	}
}

// queue puts the call in line at once (an agent may be free: no prompt
// stands between the caller and the agent), tells the caller to hold, and
// runs the call until an agent answers or the caller leaves.
func (c *Call) queue(ctx context.Context) {
	enqueued := time.Now()
	if !c.enqueue(ctx, enqueued, true) {
		return
	}
	c.waitInQueue(ctx, enqueued)
}

// enqueue records the call as queued since enqueued (its place in line,
// kept across re-offers and restarts) and hands it to the ACD; the caller
// hears the hold announcement (announce) or straight away hold music. It
// reports whether the call is in line.
func (c *Call) enqueue(ctx context.Context, enqueued time.Time, announce bool) bool {
	c.save("queued", func(ctx context.Context) error {
		return c.m.store.MarkQueued(ctx, c.contact, string(c.service.Queue), enqueued)
	})
	c.event(ctx, "queued", map[string]any{"queue": string(c.service.Queue), "priority": c.priority})
	err := c.m.acd.Enqueue(ctx, acd.Waiting{
		Call: acd.CallID(c.channel), Queue: c.service.Queue, ContactID: c.contact, EnqueuedAt: enqueued, Priority: c.priority,
		Offer: func(o acd.Offer) { c.mb.put(msg{offer: &o}) },
	})
	if err != nil {
		c.log.Error("could not queue the call", "err", err)
		c.hangupAndFinish(ctx, store.DispFailed, "system")
		return false
	}
	if announce {
		c.nPlay++
		c.holdPlayback = pbx.PlaybackID(fmt.Sprintf("%s-p%d", c.channel, c.nPlay))
		c.Trail("queue", "prompt", ivr.PromptHold)
		if err := c.do(ctx, pbx.Play{Channel: c.channel, ID: c.holdPlayback, Media: []string{ivr.PromptHold}}); err == nil {
			return true
		}
		c.holdPlayback = ""
	}
	c.startMOH(ctx)
	return true
}

func (c *Call) startMOH(ctx context.Context) {
	if err := c.do(ctx, pbx.StartMOH{Channel: c.channel}); err == nil {
		c.moh = true
	}
}

func (c *Call) waitInQueue(ctx context.Context, enqueued time.Time) {
	for {
		x, ok := c.mb.get(ctx, nil)
		if !ok {
			return // shutting down: the call stays up on the switch
		}
		switch {
		case x.offer != nil:
			if c.holdPlayback != "" {
				_ = c.do(ctx, pbx.StopPlayback{ID: c.holdPlayback})
				c.holdPlayback = ""
			}
			agentCh, answeredAt, err := c.ring(ctx, *x.offer)
			answered := !answeredAt.IsZero()
			if errors.Is(err, ivr.ErrHungUp) {
				c.finish(ctx, store.DispAbandonedRinging, "caller")
				return
			}
			if answered {
				c.bridged(ctx, x.offer.Agent, agentCh, answeredAt, false, "")
				return
			}
			if err != nil {
				return // shutting down
			}
			if !c.moh {
				c.startMOH(ctx)
			}
			c.save("requeued", func(ctx context.Context) error {
				return c.m.store.MarkQueued(ctx, c.contact, string(c.service.Queue), enqueued)
			})
		case x.ev.Kind == pbx.PlaybackFinished && x.ev.Playback == c.holdPlayback:
			c.holdPlayback = ""
			c.startMOH(ctx)
		case c.isCallerHangup(x.ev):
			c.noteHangup(x.ev)
			c.logErr("cancel", c.m.acd.Cancel(ctx, acd.CallID(c.channel)))
			c.log.Info("caller hung up while queued")
			c.finish(ctx, store.DispAbandonedQueue, "caller")
			return
		}
	}
}

// ring offers the call to an agent. It returns the agent's channel and,
// if the agent answered, when (the switch's time; zero: no answer);
// ErrHungUp if the caller left meanwhile.
func (c *Call) ring(ctx context.Context, o acd.Offer) (pbx.ChannelID, time.Time, error) {
	c.nLeg++
	leg := pbx.ChannelID(fmt.Sprintf("%s-a%d", c.channel, c.nLeg))
	c.setAgentLeg(leg)
	log := c.log.With("agent", o.Agent, "agent_channel", leg)
	offered := time.Now()
	c.save("offered", func(ctx context.Context) error {
		return c.m.store.MarkOffered(ctx, c.contact, string(o.Agent), string(leg), offered)
	})
	c.event(ctx, "offered", map[string]any{"agent": string(o.Agent)})
	log.Info("ringing agent", "endpoint", o.Endpoint)
	err := c.do(ctx, pbx.Originate{ID: leg, Endpoint: o.Endpoint, CallerID: c.callerID(),
		Timeout: o.RingTimeout + 5*time.Second, Args: []string{"agent", string(c.channel)}})
	if err != nil {
		log.Warn("agent unreachable", "err", err)
		c.setAgentLeg("")
		c.logErr("no answer", c.m.acd.NoAnswer(ctx, acd.CallID(c.channel), o.Agent, acd.ReasonUnreachable))
		return "", time.Time{}, nil
	}
	timer := time.NewTimer(o.RingTimeout)
	defer timer.Stop()
	for {
		x, ok := c.mb.get(ctx, timer.C)
		if !ok && ctx.Err() != nil {
			return leg, time.Time{}, ctx.Err()
		}
		if !ok { // ring timeout
			log.Info("agent did not answer in time", "ring_timeout", o.RingTimeout)
			c.m.hangup(ctx, leg)
			c.setAgentLeg("")
			c.logErr("no answer", c.m.acd.NoAnswer(ctx, acd.CallID(c.channel), o.Agent, acd.ReasonNoAnswer))
			return "", time.Time{}, nil
		}
		if x.offer != nil {
			continue // cannot happen: the agent is reserved for us
		}
		ev := x.ev
		switch {
		case c.isCallerHangup(ev):
			c.noteHangup(ev)
			log.Info("caller hung up while the agent was ringing")
			c.m.hangup(ctx, leg)
			c.logErr("cancel", c.m.acd.Cancel(ctx, acd.CallID(c.channel)))
			return "", time.Time{}, ivr.ErrHungUp
		case ev.Channel == leg && ev.Kind == pbx.ChannelRinging:
			// The switch's own time: the agent's phone answered the INVITE
			// with 180 Ringing.
			c.eventAt(ctx, "agent_ringing", map[string]any{"agent": string(o.Agent)}, eventTime(ev))
		case ev.Channel == leg && ev.Kind == pbx.ChannelHungup:
			log.Info("agent did not answer", "cause", ev.Cause, "cause_text", ev.CauseText)
			c.setAgentLeg("")
			c.logErr("no answer", c.m.acd.NoAnswer(ctx, acd.CallID(c.channel), o.Agent, acd.ReasonNoAnswer))
			return "", time.Time{}, nil
		case ev.Channel == leg && ev.Kind == pbx.ChannelStarted:
			if err := c.m.acd.Answered(ctx, acd.CallID(c.channel), o.Agent); err != nil {
				log.Error("ACD refused the answer", "err", err)
			}
			return leg, eventTime(ev), nil
		}
	}
}

// bridged connects caller and agent, records, and waits for either side
// to hang up. rec is the recording already running (adopted calls).
func (c *Call) bridged(ctx context.Context, agent acd.AgentID, leg pbx.ChannelID, answered time.Time, adopted bool, rec pbx.RecordingName) {
	bridge := pbx.BridgeID(string(c.channel) + "-b")
	log := c.log.With("agent", agent, "bridge", bridge)
	// The recording runs from recStart until the bridge is torn down;
	// both ends are read on hotline's clock, which also starts and stops
	// it, so the check compares like with like.
	recStart := answered
	if !adopted {
		if c.moh {
			_ = c.do(ctx, pbx.StopMOH{Channel: c.channel})
			c.moh = false
		}
		if err := c.do(ctx, pbx.CreateBridge{ID: bridge}); err != nil {
			log.Error("bridge not created", "err", err)
		}
		if err := c.do(ctx, pbx.AddToBridge{Bridge: bridge, Channels: []pbx.ChannelID{c.channel, leg}}); err != nil {
			// The caller left as the agent answered: release the agent.
			log.Warn("caller gone as the agent answered; releasing the agent", "err", err)
			c.m.hangup(ctx, leg)
			_ = c.do(ctx, pbx.DestroyBridge{Bridge: bridge})
			c.hungUp = true
			c.finish(ctx, store.DispAbandonedRinging, "caller")
			c.logErr("ended", c.m.acd.Ended(ctx, acd.CallID(c.channel), agent, c.contact))
			return
		}
		c.save("answered", func(ctx context.Context) error {
			return c.m.store.MarkAnswered(ctx, c.contact, string(agent), string(leg), string(bridge), answered)
		})
		c.event(ctx, "answered", map[string]any{"agent": string(agent)})
		log.Info("agent answered, call bridged")
		rec = pbx.RecordingName(fmt.Sprintf("contact-%d-%s", c.contact, sanitize(string(c.channel))))
		c.m.register(string(rec), c)
		path := filepath.Join(c.m.cfg.RecordingDir, string(rec)+"."+c.m.cfg.RecordingFormat)
		recStart = time.Now()
		if err := c.do(ctx, pbx.RecordBridge{Bridge: bridge, Name: rec, Format: c.m.cfg.RecordingFormat}); err != nil {
			log.Error("recording not started", "err", err)
		} else {
			started := recStart
			c.save("recording", func(ctx context.Context) error {
				return c.m.store.StartRecording(ctx, c.contact, string(rec), path, c.m.cfg.RecordingFormat, started)
			})
		}
	} else if rec != "" {
		c.m.register(string(rec), c)
	}
	recDone := false
	var hangupBy string
	var ended time.Time
	var unnoticed bool           // the hang-up was found by reconciliation
	var unnoticedSince time.Time // and happened after this (zero: unknown)
	for hangupBy == "" {
		x, ok := c.mb.get(ctx, nil)
		if !ok {
			return // shutting down: the call stays up and is adopted later
		}
		ev := x.ev
		switch {
		case c.isCallerHangup(ev):
			c.noteHangup(ev)
			hangupBy, ended = "caller", c.hungAt
			unnoticed, unnoticedSince = x.unnoticed, x.since
			c.m.hangup(ctx, leg)
		case ev.Channel == leg && ev.Kind == pbx.ChannelHungup:
			hangupBy, ended = "agent", eventTime(ev)
			unnoticed, unnoticedSince = x.unnoticed, x.since
			c.m.hangup(ctx, c.channel)
		case ev.Recording == rec && (ev.Kind == pbx.RecordingFinished || ev.Kind == pbx.RecordingFailed):
			recDone = true
		}
	}
	log.Info("call ended", "hangup_by", hangupBy, "talk", ended.Sub(answered).Round(time.Millisecond))
	recEnd := time.Now()
	if err := c.do(ctx, pbx.DestroyBridge{Bridge: bridge}); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		log.Warn("bridge not destroyed", "err", err)
	}
	c.finishAt(ctx, store.DispAnswered, hangupBy, ended)
	c.logErr("ended", c.m.acd.Ended(ctx, acd.CallID(c.channel), agent, c.contact))
	if rec != "" {
		hi := recEnd.Sub(recStart).Seconds()
		lo := hi
		if unnoticed {
			// The bridge broke unheard, somewhere after the link went down.
			lo = max(0, unnoticedSince.Sub(recStart).Seconds())
			if unnoticedSince.IsZero() {
				lo = 0
			}
		}
		c.finishRecording(ctx, rec, recDone, lo, hi)
	}
}

// finishRecording waits (briefly) for the switch to close the file, then
// checks it holds the whole bridged call.
// The bridged time lies between lo and hi seconds (equal unless the
// hang-up went unnoticed).
func (c *Call) finishRecording(ctx context.Context, rec pbx.RecordingName, done bool, lo, hi float64) {
	if !done {
		_ = c.do(ctx, pbx.StopRecording{Name: rec})
		timer := time.NewTimer(5 * time.Second)
		defer timer.Stop()
		for !done {
			x, ok := c.mb.get(ctx, timer.C)
			if !ok {
				break
			}
			if x.ev.Recording == rec && (x.ev.Kind == pbx.RecordingFinished || x.ev.Kind == pbx.RecordingFailed) {
				done = true
			}
		}
	}
	path := filepath.Join(c.m.cfg.RecordingDir, string(rec)+"."+c.m.cfg.RecordingFormat)
	chk := recording.VerifyRange(path, lo, hi, c.m.cfg.RecordingTolerance)
	bridged := hi
	if chk.OK {
		c.log.Info("recording written", "path", path, "bytes", chk.Bytes, "seconds", chk.Seconds)
	} else {
		c.log.Error("recording failed its check", "path", path, "problem", chk.Problem)
	}
	finished := time.Now()
	c.save("recording", func(ctx context.Context) error {
		return c.m.store.FinishRecording(ctx, string(rec), chk.Bytes, chk.Seconds, bridged, chk.OK, chk.Problem, finished)
	})
	c.event(ctx, "recording", map[string]any{"name": string(rec), "ok": chk.OK, "seconds": chk.Seconds})
}

func (c *Call) hangupAndFinish(ctx context.Context, disp, by string) {
	if !c.hungUp {
		c.m.hangup(ctx, c.channel)
	} else {
		by = "caller"
	}
	c.finish(ctx, disp, by)
}

func (c *Call) finish(ctx context.Context, disp, by string) {
	at := c.hungAt
	if at.IsZero() {
		at = time.Now()
	}
	c.finishAt(ctx, disp, by, at)
}

func (c *Call) finishAt(ctx context.Context, disp, by string, at time.Time) {
	c.save("end", func(ctx context.Context) error { return c.m.store.EndContact(ctx, c.contact, disp, by, at) })
	c.event(ctx, "ended", map[string]any{"disposition": disp, "hangup_by": by})
	c.log.Info("call finished", "disposition", disp, "hangup_by", by)
}

func (c *Call) isCallerHangup(ev pbx.Event) bool {
	return ev.Kind == pbx.ChannelHungup && ev.Channel == c.channel
}

func (c *Call) noteHangup(ev pbx.Event) {
	if !c.hungUp {
		c.hungUp = true
		c.hungAt = eventTime(ev)
	}
}

// do sends a command; a command for a channel that is gone marks the
// caller as hung up.
func (c *Call) do(ctx context.Context, cmd pbx.Command) error {
	err := c.m.sw.Do(ctx, cmd)
	if err != nil {
		c.log.Debug("command failed", "cmd", fmt.Sprintf("%T", cmd), "err", err)
	}
	return err
}

// sctx is the context of a store write: it survives the call's ctx
// ending, so that a shutdown does not lose the record being written.
func (c *Call) sctx(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}

// lookupPriority reads the caller's queue priority from the customer
// record (VIP, elderly and disabled customers go ahead in line: acd.Aging).
// It is read on arrival, not when the caller asks for an agent.
func (c *Call) lookupPriority(ctx context.Context) {
	p, err := c.m.store.CustomerPriority(c.sctx(ctx), c.caller)
	c.logErr("priority lookup", err)
	c.priority = p
}

// save hands a write of this call's records to the write-behind queue.
func (c *Call) save(what string, f func(context.Context) error) {
	if c.contact == 0 {
		return // the contact row itself could not be written
	}
	c.m.writer.add(what, f)
}

func (c *Call) logErr(what string, err error) {
	if err != nil && !errors.Is(err, acd.ErrStopped) {
		c.log.Error("could not record "+what, "err", err)
	}
}

func (c *Call) event(ctx context.Context, kind string, data map[string]any) {
	c.eventAt(ctx, kind, data, time.Now())
}

func (c *Call) eventAt(ctx context.Context, kind string, data map[string]any, at time.Time) {
	if c.contact == 0 {
		return
	}
	c.save(kind+" event", func(ctx context.Context) error {
		return c.m.store.AppendEvent(ctx, c.contact, "", kind, data, at)
	})
}

func (c *Call) callerID() string {
	if pbx.ValidID(c.caller) && strings.Trim(c.caller, "0123456789+") == "" {
		return c.caller
	}
	return ""
}

func eventTime(ev pbx.Event) time.Time {
	if ev.At.IsZero() {
		return time.Now()
	}
	return ev.At
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
