package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/ivr"
	"github.com/hotline-cc/hotline/controller/ivr/flow"
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
	priority int // place-in-line priority from the customer record or the IVR
	// skills the IVR asked for (name → minimum level), on top of the
	// queue's own
	skills map[string]int
	hungUp bool // the caller's channel is gone
	// secret: the caller is keying a PIN, password or card number; keys
	// reach no trail, log or store.
	secret bool
	// liveRec is the recording running on the call now, if any.
	liveRec pbx.RecordingName
	hungAt  time.Time
	// while queued: the hold announcement playing, and whether hold
	// music is on
	holdPlayback pbx.PlaybackID
	moh          bool
	// queueID is the queue the call waits in now (overflow may move it).
	queueID acd.QueueID
	// held are messages the queue loop still has to handle, before the
	// mailbox's (an offer that cut a prompt short, a notice that came
	// while an agent was ringing).
	held []msg
	// For a callback's call: its ID in the ACD (acd.CallbackCallID) and
	// the callback being dialled.
	acdID    acd.CallID
	callback *acd.CallbackOffer
	// legBase, if set, names the agent legs (LEGBASE-aN) instead of the
	// channel: a switch may find a channel by a prefix of its ID, so an
	// agent leg made before the customer leg must not start with its ID.
	legBase string

	mu sync.Mutex
	// legs are the agent (or transfer) channels ringing or bridged: one,
	// or while a ring-all rings, several.
	legs []pbx.ChannelID
}

// ownsChannel says whether key is one of this call's channels.
func (c *Call) ownsChannel(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return key == string(c.channel) || slices.Contains(c.legs, pbx.ChannelID(key))
}

// setAgentLeg makes ch the call's only leg ("": none).
func (c *Call) setAgentLeg(ch pbx.ChannelID) {
	c.mu.Lock()
	c.legs = c.legs[:0]
	c.mu.Unlock()
	if ch != "" {
		c.addAgentLeg(ch)
	}
}

// addAgentLeg adds a leg the call rings or bridges.
func (c *Call) addAgentLeg(ch pbx.ChannelID) {
	c.mu.Lock()
	c.legs = append(c.legs, ch)
	c.mu.Unlock()
	c.m.register(string(ch), c)
}

// dropAgentLeg forgets a leg that is gone or given up, and stops routing
// its events to the call: a leg whose originate timed out may still come
// up on the switch later, and answered with no call to take it the
// Manager hangs it up instead of leaving an agent's phone in silence.
func (c *Call) dropAgentLeg(ch pbx.ChannelID) {
	c.mu.Lock()
	c.legs = slices.DeleteFunc(c.legs, func(l pbx.ChannelID) bool { return l == ch })
	c.mu.Unlock()
	c.m.unregister(string(ch), c)
}

// acdCall is the call's ID in the ACD: its caller channel, or for a
// callback the callback's CallID.
func (c *Call) acdCall() acd.CallID {
	if c.acdID != "" {
		return c.acdID
	}
	return acd.CallID(c.channel)
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
	if err := c.answer(ctx); err != nil {
		if c.hungUp || errors.Is(err, pbx.ErrNotFound) {
			c.finish(ctx, store.DispAbandonedIVR, "caller")
			return
		}
		c.log.Error("the switch did not answer the call; hanging it up", "err", err)
		c.hangupAndFinish(ctx, store.DispFailed, "system")
		return
	}
	c.runIVR(ctx)
}

// answerAttempts is how many times an answer or a hang-up is asked for.
const answerAttempts = 3

// answer answers the caller's channel. A reply that does not come in time
// is not a refusal: under load Asterisk queues commands for seconds, and
// the channel may be answered after all. So it is asked again (answering
// an answered channel changes nothing); only a channel that is gone, or
// answerAttempts failures, end the call.
func (c *Call) answer(ctx context.Context) error {
	return retry(ctx, answerAttempts, func(ctx context.Context) error {
		return c.do(ctx, pbx.Answer{Channel: c.channel})
	}, func(attempt int, err error) {
		c.log.Warn("answer not confirmed; asking again", "attempt", attempt, "err", err)
	})
}

// originate dials a leg. A failure is not proof that the switch did
// nothing: a reply that did not come in time may follow a leg that is
// ringing, or already answered. So a failed leg is hung up (one that does
// not exist is no error): it must not ring on, or hold an agent's or a
// customer's phone in silence.
func (c *Call) originate(ctx context.Context, o pbx.Originate) error {
	err := c.do(ctx, o)
	if err != nil {
		c.m.hangup(ctx, o.ID)
	}
	return err
}

// retry runs op up to attempts times while it fails with an error other
// than pbx.ErrNotFound (the channel is gone: asking again cannot help),
// calling again before each new try. It returns op's last error.
func retry(ctx context.Context, attempts int, op func(context.Context) error, again func(attempt int, err error)) error {
	var err error
	for attempt := 1; attempt <= attempts; attempt++ {
		if err = op(ctx); err == nil || errors.Is(err, pbx.ErrNotFound) || ctx.Err() != nil {
			return err
		}
		if attempt < attempts {
			again(attempt, err)
		}
	}
	return err
}

func (c *Call) runIVR(ctx context.Context) {
	if c.service.Flow == "" {
		c.queue(ctx) // a line straight to agents
		return
	}
	prog, version, err := c.m.cfg.Flows.Program(ctx, c.service.Flow)
	if err != nil {
		// No flow to run must not cost the caller the call: an agent can
		// still help.
		c.log.Error("ivr flow not available; the caller goes to an agent", "flow", c.service.Flow, "err", err)
		c.Trail("ivr", "error", "flow "+c.service.Flow+" not available")
		c.queue(ctx)
		return
	}
	c.save("ivr flow", func(ctx context.Context) error { return c.m.store.MarkIVRFlow(ctx, c.contact, c.service.Flow, version) })
	res, err := prog.Run(ctx, c, flow.Call{Caller: c.caller, Service: c.service.Number}, c.m.cfg.FlowEnv)
	if ctx.Err() != nil {
		return // shutting down: the call stays up on the switch and is adopted
	}
	out := res.Outcome
	now := time.Now()
	c.save("ivr end", func(ctx context.Context) error { return c.m.store.MarkIVREnd(ctx, c.contact, now) })
	c.save("ivr outcome", func(ctx context.Context) error {
		return c.m.store.MarkIVROutcome(ctx, c.contact, out.String(), res.Voicemail)
	})
	c.event(ctx, "ivr_end", map[string]any{"outcome": out.String(), "flow": c.service.Flow, "version": version, "node": res.Node})
	if err != nil {
		if !errors.Is(err, ivr.ErrHungUp) {
			c.log.Error("ivr failed", "flow", c.service.Flow, "version", version, "node", res.Node, "err", err)
			if !c.hungUp {
				// A broken flow must not drop the caller: an agent can help.
				c.Trail("ivr", "error", "flow failed at "+res.Node)
				c.queue(ctx)
				return
			}
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
		c.log.Info("no input, releasing the call")
		c.hangupAndFinish(ctx, store.DispReleasedNoInput, "system")
	case ivr.Released:
		c.hangupAndFinish(ctx, store.DispReleased, "system")
	case ivr.Transferred:
		if res.Transfer != nil && res.Transfer.Number != "" {
			c.transfer(ctx, res.Transfer.Number)
			return
		}
		c.setTarget(res)
		c.queue(ctx)
	case ivr.ToAgent:
		c.setTarget(res)
		c.queue(ctx)
	default:
		c.hangupAndFinish(ctx, store.DispAbandonedIVR, "caller")
	}
}

// setTarget applies where a flow sends the caller: the queue of the
// service it names (its own when none), the skills it needs and the
// priority it asks for (the higher of it and the customer record's). A
// transfer to another service number goes to that service's queue (a
// transfer to an outside number is placed by transfer).
func (c *Call) setTarget(res flow.Result) {
	service := ""
	switch {
	case res.Queue != nil:
		service = res.Queue.Service
		for _, sk := range res.Queue.Skills {
			if c.skills == nil {
				c.skills = map[string]int{}
			}
			c.skills[sk.Name] = sk.Level
		}
		c.priority = max(c.priority, res.Queue.Priority)
	case res.Transfer != nil && res.Transfer.Service != "":
		service = res.Transfer.Service
	}
	if service != "" {
		if s, ok := c.m.cfg.Services[service]; ok {
			c.service.Queue = s.Queue
		} else {
			c.log.Warn("flow names an unknown service; the caller stays in its own queue", "service", service)
		}
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
	if c.queueID == "" {
		c.queueID = c.service.Queue
	}
	queue := c.queueID
	c.save("queued", func(ctx context.Context) error {
		return c.m.store.MarkQueued(ctx, c.contact, string(queue), enqueued)
	})
	c.event(ctx, "queued", map[string]any{"queue": string(queue), "priority": c.priority})
	// The ACD calls these on its own goroutine: they only post to the
	// mailbox.
	err := c.m.acd.Enqueue(ctx, acd.Waiting{
		Call: c.acdCall(), Queue: queue, ContactID: c.contact, EnqueuedAt: enqueued, Priority: c.priority, Skills: c.skills,
		Offer:      func(o acd.Offer) { c.mb.put(msg{offer: &o}) },
		OnMaxWait:  func(n acd.MaxWaitNotice) { c.mb.put(msg{maxWait: &n}) },
		OnOverflow: func(n acd.OverflowNotice) { c.mb.put(msg{overflow: &n}) },
	})
	if err != nil {
		c.log.Error("could not queue the call", "err", err)
		c.hangupAndFinish(ctx, store.DispFailed, "system")
		return false
	}
	// An agent free now was offered the call inside Enqueue: the caller
	// does not hear that all agents are busy, and the switch is not left
	// playing it when the call is bridged (a bridge waits for a playback
	// that started after it was stopped).
	if announce && !c.mb.hasOffer() {
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

// waitInQueue runs the call while it is in line: offers, the ACD's
// overflow and max_wait notices, position announcements, and the caller
// leaving.
func (c *Call) waitInQueue(ctx context.Context, enqueued time.Time) {
	if c.queueID == "" {
		c.queueID = c.service.Queue
	}
	ann := c.newAnnouncer()
	defer ann.stop()
	for {
		x, ok := c.next(ctx, ann.c())
		if !ok {
			if ctx.Err() != nil {
				return // shutting down: the call stays up on the switch
			}
			c.announce(ctx)
			ann.reset()
			continue
		}
		switch {
		case x.offer != nil:
			if c.serveOffer(ctx, *x.offer, enqueued) {
				return
			}
		case x.overflow != nil:
			c.overflowed(ctx, *x.overflow)
		case x.maxWait != nil:
			if c.maxWait(ctx, *x.maxWait, enqueued) {
				return
			}
		case x.holdLimit:
			if c.mb.behindOffer(x) {
				// An agent freed up as the limit struck: the offer goes
				// first, the limit after it if the agent does not answer.
				continue
			}
			c.callbackHoldLimit(ctx)
			return
		case x.ev.Kind == pbx.PlaybackFinished && x.ev.Playback == c.holdPlayback:
			c.holdPlayback = ""
			c.startMOH(ctx)
		case c.isCallerHangup(x.ev):
			c.noteHangup(x.ev)
			c.logErr("cancel", c.m.acd.Cancel(ctx, c.acdCall()))
			c.log.Info("caller hung up while queued")
			c.finish(ctx, store.DispAbandonedQueue, "caller")
			return
		}
	}
}

// next returns the next message of the queue loop: one held back first,
// then the mailbox's (see mailbox.get).
func (c *Call) next(ctx context.Context, timeout <-chan time.Time) (msg, bool) {
	if len(c.held) > 0 {
		x := c.held[0]
		c.held = c.held[1:]
		return x, true
	}
	return c.mb.get(ctx, timeout)
}

// serveOffer rings the agent an offer names and, if the agent answers,
// runs the call to its end. It reports whether the call is over; if not,
// the caller is back on hold music, in line at the same place.
func (c *Call) serveOffer(ctx context.Context, o acd.Offer, enqueued time.Time) bool {
	c.stopHoldAudio(ctx)
	agent, agentCh, answeredAt, err := c.ring(ctx, o)
	answered := !answeredAt.IsZero()
	if errors.Is(err, ivr.ErrHungUp) {
		c.finish(ctx, store.DispAbandonedRinging, "caller")
		return true
	}
	if answered {
		if c.callback != nil {
			c.logErr("callback result", c.m.acd.CallbackResult(ctx, c.callback.ID, agent, acd.OutcomeAnswered))
		}
		c.bridged(ctx, agent, agentCh, answeredAt, false, "")
		return true
	}
	if err != nil {
		return true // shutting down
	}
	if !c.moh {
		c.startMOH(ctx)
	}
	queue := c.queueID
	c.save("requeued", func(ctx context.Context) error {
		return c.m.store.MarkQueued(ctx, c.contact, string(queue), enqueued)
	})
	return false
}

// stopHoldAudio stops what the waiting caller hears: an announcement
// and hold music.
func (c *Call) stopHoldAudio(ctx context.Context) {
	if c.holdPlayback != "" {
		_ = c.do(ctx, pbx.StopPlayback{ID: c.holdPlayback})
		c.holdPlayback = ""
	}
	if c.moh {
		_ = c.do(ctx, pbx.StopMOH{Channel: c.channel})
		c.moh = false
	}
}

// overflowed records an overflow step the ACD applied to the call; a
// move to another queue is written to the contact.
func (c *Call) overflowed(ctx context.Context, n acd.OverflowNotice) {
	data := map[string]any{"queue": string(n.Queue), "step": n.Step}
	if n.MinLevel > 0 {
		data["min_level"] = n.MinLevel
	}
	if len(n.AddSkills) > 0 {
		data["add_skills"] = n.AddSkills
	}
	if n.ToQueue != "" {
		data["to_queue"] = string(n.ToQueue)
		c.queueID = n.ToQueue
		to := string(n.ToQueue)
		c.save("overflow", func(ctx context.Context) error { return c.m.store.MarkQueue(ctx, c.contact, to) })
	}
	c.event(ctx, "overflow", data)
	c.log.Info("overflow step", "queue", n.Queue, "step", n.Step, "to_queue", n.ToQueue, "min_level", n.MinLevel, "add_skills", n.AddSkills)
}

// ring offers the call to the agents an offer names: one, or every
// agent of a ring-all queue at once. It returns the agent who answered,
// the agent's channel and when (the switch's time; zero: nobody
// answered); ErrHungUp if the caller left meanwhile. The first to answer
// takes the call: the other phones stop ringing.
func (c *Call) ring(ctx context.Context, o acd.Offer) (acd.AgentID, pbx.ChannelID, time.Time, error) {
	base := string(c.channel)
	if c.legBase != "" {
		base = c.legBase
	}
	type ringing struct {
		agent acd.AgentID
		log   *slog.Logger
	}
	legs := map[pbx.ChannelID]ringing{}
	agents := append([]acd.OfferAgent{{Agent: o.Agent, Name: o.AgentName, Endpoint: o.Endpoint}}, o.Also...)
	for _, ag := range agents {
		c.nLeg++
		leg := pbx.ChannelID(fmt.Sprintf("%s-a%d", base, c.nLeg))
		c.addAgentLeg(leg)
		log := c.log.With("agent", ag.Agent, "agent_channel", leg)
		offered := time.Now()
		c.save("offered", func(ctx context.Context) error {
			return c.m.store.MarkOffered(ctx, c.contact, string(ag.Agent), string(leg), offered)
		})
		c.event(ctx, "offered", map[string]any{"agent": string(ag.Agent)})
		log.Info("ringing agent", "endpoint", ag.Endpoint)
		err := c.originate(ctx, pbx.Originate{ID: leg, Endpoint: ag.Endpoint, CallerID: c.callerID(),
			Timeout: o.RingTimeout + 5*time.Second, Args: []string{"agent", string(c.channel)}})
		if err != nil {
			log.Warn("agent unreachable", "err", err)
			c.dropAgentLeg(leg)
			c.logErr("no answer", c.m.acd.NoAnswer(ctx, c.acdCall(), ag.Agent, acd.ReasonUnreachable))
			continue
		}
		legs[leg] = ringing{ag.Agent, log}
	}
	if len(legs) == 0 {
		return "", "", time.Time{}, nil
	}
	// stopOthers hangs up every leg still ringing but keep.
	stopOthers := func(keep pbx.ChannelID) {
		for leg := range legs {
			if leg != keep {
				c.m.hangup(ctx, leg)
				c.dropAgentLeg(leg)
			}
		}
	}
	timer := time.NewTimer(o.RingTimeout)
	defer timer.Stop()
	for {
		x, ok := c.mb.get(ctx, timer.C)
		if !ok && ctx.Err() != nil {
			return "", "", time.Time{}, ctx.Err()
		}
		if !ok { // ring timeout
			for leg, r := range legs {
				r.log.Info("agent did not answer in time", "ring_timeout", o.RingTimeout)
				c.m.hangup(ctx, leg)
				c.dropAgentLeg(leg)
				c.logErr("no answer", c.m.acd.NoAnswer(ctx, c.acdCall(), r.agent, acd.ReasonNoAnswer))
			}
			return "", "", time.Time{}, nil
		}
		switch {
		case x.offer != nil:
			continue // cannot happen: the agents are reserved for us
		case x.maxWait != nil, x.holdLimit:
			c.held = append(c.held, x) // for after the offer, if it fails
			continue
		case x.overflow != nil:
			c.overflowed(ctx, *x.overflow)
			continue
		}
		ev := x.ev
		if c.isCallerHangup(ev) {
			c.noteHangup(ev)
			c.log.Info("caller hung up while agents were ringing", "agents", len(legs))
			stopOthers("")
			c.logErr("cancel", c.m.acd.Cancel(ctx, c.acdCall()))
			return "", "", time.Time{}, ivr.ErrHungUp
		}
		r, mine := legs[ev.Channel]
		if !mine {
			continue
		}
		switch ev.Kind {
		case pbx.ChannelRinging:
			// The switch's own time: the agent's phone answered the INVITE
			// with 180 Ringing.
			c.eventAt(ctx, "agent_ringing", map[string]any{"agent": string(r.agent)}, eventTime(ev))
			c.logErr("ringing", c.m.acd.Ringing(ctx, c.acdCall(), r.agent))
		case pbx.ChannelHungup:
			r.log.Info("agent did not answer", "cause", ev.Cause, "cause_text", ev.CauseText)
			delete(legs, ev.Channel)
			c.dropAgentLeg(ev.Channel)
			c.logErr("no answer", c.m.acd.NoAnswer(ctx, c.acdCall(), r.agent, acd.ReasonNoAnswer))
			if len(legs) == 0 {
				return "", "", time.Time{}, nil
			}
		case pbx.ChannelStarted:
			// The ACD releases the other agents of a ring-all; their
			// phones stop ringing here.
			if err := c.m.acd.Answered(ctx, c.acdCall(), r.agent); err != nil {
				r.log.Error("ACD refused the answer", "err", err)
			}
			stopOthers(ev.Channel)
			if len(legs) > 1 {
				c.event(ctx, "ring_all_answered", map[string]any{"agent": string(r.agent), "rang": len(legs)})
				c.save("offered", func(ctx context.Context) error {
					return c.m.store.MarkOffered(ctx, c.contact, string(r.agent), string(ev.Channel), time.Now())
				})
			}
			return r.agent, ev.Channel, eventTime(ev), nil
		}
	}
}

// bridged connects caller and agent, records, and waits for either side
// to hang up. rec is the recording already running (adopted calls).
func (c *Call) bridged(ctx context.Context, agent acd.AgentID, leg pbx.ChannelID, answered time.Time, adopted bool, rec pbx.RecordingName) {
	bridge := pbx.BridgeID(string(c.channel) + "-b")
	log := c.log.With("agent", agent, "bridge", bridge)
	// The recording's length is checked against two bounds. At least:
	// from RecordingStarted to the hang-up (recStarted, ended; the
	// switch's timestamps, or when the event reached hotline if it has
	// none, which only lowers the bound; the two clocks are assumed to
	// agree well within the tolerance). At most: from sending the record
	// command to the reply to its stop (recStart, recEnd, on hotline's
	// clock). Under load either command can take a second or more, so
	// the command times alone cannot say when the file started.
	recStart := answered
	var recStarted time.Time
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
			c.logErr("ended", c.m.acd.Ended(ctx, c.acdCall(), agent, c.contact))
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
			if c.service.Survey == "" {
				c.m.hangup(ctx, c.channel)
			}
		case ev.Recording == rec && ev.Kind == pbx.RecordingStarted:
			recStarted = eventTime(ev) // Asterisk stamps none: then when it reached hotline, later still
		case ev.Recording == rec && (ev.Kind == pbx.RecordingFinished || ev.Kind == pbx.RecordingFailed):
			recDone = true
		case ev.Channel == leg && ev.Kind == pbx.ChannelHold:
			// The agent's phone put the caller on hold.
			c.eventAt(ctx, "hold", map[string]any{"agent": string(agent)}, eventTime(ev))
			c.logErr("hold", c.m.acd.Hold(ctx, agent))
		case ev.Channel == leg && ev.Kind == pbx.ChannelUnhold:
			c.eventAt(ctx, "unhold", map[string]any{"agent": string(agent)}, eventTime(ev))
			c.logErr("unhold", c.m.acd.Unhold(ctx, agent))
		}
	}
	log.Info("call ended", "hangup_by", hangupBy, "talk", ended.Sub(answered).Round(time.Millisecond))
	c.finishAt(ctx, store.DispAnswered, hangupBy, ended)
	c.logErr("ended", c.m.acd.Ended(ctx, c.acdCall(), agent, c.contact))
	// The recording is stopped while its bridge still exists: Asterisk
	// can lose the RecordingFinished of a recording whose bridge is
	// destroyed under it.
	recEnd := time.Now()
	if rec != "" {
		recEnd = c.stopRecording(ctx, rec, recDone)
	}
	if err := c.do(ctx, pbx.DestroyBridge{Bridge: bridge}); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		log.Warn("bridge not destroyed", "err", err)
	}
	if hangupBy == "agent" && c.service.Survey != "" && !c.hungUp {
		c.survey(ctx)
	}
	if rec != "" {
		hi := recEnd.Sub(recStart).Seconds()
		lo := hi
		switch {
		case unnoticed:
			// The bridge broke unheard, somewhere after the link went down.
			lo = max(0, unnoticedSince.Sub(recStart).Seconds())
			if unnoticedSince.IsZero() {
				lo = 0
			}
		case !recStarted.IsZero():
			lo = min(hi, max(0, ended.Sub(recStarted).Seconds()))
		case !adopted:
			// The hang-up came before RecordingStarted: the file may
			// hold next to nothing.
			lo = 0
		}
		c.checkRecording(ctx, rec, lo, hi)
	}
}

// survey runs the service's post-call survey for a caller whose agent
// ended the call, stores the score with the contact and hangs up.
func (c *Call) survey(ctx context.Context) {
	defer func() {
		if !c.hungUp {
			c.m.hangup(ctx, c.channel)
		}
	}()
	prog, version, err := c.m.cfg.Flows.Program(ctx, c.service.Survey)
	if err != nil {
		c.log.Error("survey flow not available", "flow", c.service.Survey, "err", err)
		return
	}
	res, err := prog.Run(ctx, c, flow.Call{Caller: c.caller, Service: c.service.Number}, c.m.cfg.FlowEnv)
	if err != nil && !errors.Is(err, ivr.ErrHungUp) && ctx.Err() == nil {
		c.log.Warn("survey ended early", "flow", c.service.Survey, "version", version, "err", err)
	}
	if res.SurveyScore > 0 {
		score := res.SurveyScore
		c.save("survey", func(ctx context.Context) error { return c.m.store.SetSurveyScore(ctx, c.contact, score) })
		c.event(ctx, "survey", map[string]any{"score": score, "flow": c.service.Survey, "version": version})
		c.log.Info("survey answered", "score", score)
	}
}

// recordingWait bounds the wait for the switch to report a stopped
// recording finished.
const recordingWait = 5 * time.Second

// stopRecording stops rec unless the switch already reported it done, and
// waits (at most recordingWait) until it does. It returns when the stop
// was acknowledged: the latest the file can have ended.
func (c *Call) stopRecording(ctx context.Context, rec pbx.RecordingName, done bool) time.Time {
	if done {
		return time.Now()
	}
	_ = c.do(ctx, pbx.StopRecording{Name: rec})
	stopped := time.Now()
	timer := time.NewTimer(recordingWait)
	defer timer.Stop()
	for !done {
		x, ok := c.mb.get(ctx, timer.C)
		if !ok {
			c.log.Warn("the switch did not report the recording finished", "recording", rec, "waited", recordingWait)
			break
		}
		switch {
		case x.ev.Recording == rec && (x.ev.Kind == pbx.RecordingFinished || x.ev.Kind == pbx.RecordingFailed):
			done = true
		case c.isCallerHangup(x.ev):
			c.noteHangup(x.ev) // the survey is not played to a caller who left
		}
	}
	return stopped
}

// checkRecording checks that the file holds the whole bridged call, whose
// length lies between lo and hi seconds, and stores the verdict.
func (c *Call) checkRecording(ctx context.Context, rec pbx.RecordingName, lo, hi float64) {
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
