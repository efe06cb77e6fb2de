package call

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/store"
)

// Callbacks: the ACD reserves an agent for a callback at the front of the
// line and hands the offer to dialCallback (its callback handler). Each
// callback dial is a call of its own, with its own contact row (the
// customer as caller, the queue's service number as service), recorded,
// logged and reported like any call:
//
//   - customer-first: the customer is dialled; when they answer they hear
//     PromptCallbackIntro, then the reserved agent rings exactly as for a
//     caller in line (ring, bridged). If that agent does not answer, the
//     customer waits on hold music, first in line, for the next one.
//   - agent-first: the agent rings first; when the agent answers (hold
//     music meanwhile), the customer is dialled and the two are bridged.
//
// The customer leg's result goes to the ACD with CallbackResult (answered
// once customer and agent are connected; no-answer, busy or failed
// otherwise, and the ACD's retry policy applies). The call is routed
// under the callback's CallID too, so a later offer for the same callback
// reaches it, and the ACD's reconciliation sees it live.

// callbackArg is the first Originate arg of a callback's customer leg.
const callbackArg = "callback"

// customerRingTimeout is how long a callback rings the customer.
const customerRingTimeout = 30 * time.Second

// errAgentGone: in an agent-first callback, the agent hung up before the
// customer answered.
var errAgentGone = errors.New("the agent hung up before the customer answered")

// dialCallback is the ACD's callback handler: it runs on the ACD
// goroutine and must not block. An offer for a callback whose call is
// still up (its customer waiting for an agent) goes to that call; any
// other starts a new call.
func (m *Manager) dialCallback(o acd.Offer) {
	if o.Callback == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.routes[string(o.Call)]; c != nil {
		c.mb.put(msg{offer: &o})
		return
	}
	if m.runCtx == nil || m.stopping {
		// The ACD's dial timeout frees the agent; the callback stays in
		// the database and is restored at the next start.
		m.log.Warn("callback offer while not running; not dialled", "callback", o.Callback.ID, "agent", o.Agent)
		return
	}
	ctx := m.runCtx
	cb := *o.Callback
	svc := Service{Number: m.cfg.Queues[o.Queue].Service, Queue: o.Queue}
	// Leg IDs unique across attempts and restarts: the customer's
	// cbID-ATTEMPT-MS-c, the agents' cbID-ATTEMPT-MS-aN (neither a prefix
	// of the other, whichever is made first).
	base := fmt.Sprintf("cb%d-%d-%d", cb.ID, cb.Attempt, time.Now().UnixMilli())
	leg := pbx.ChannelID(base + "-c")
	c := &Call{m: m, channel: leg, service: svc, caller: cb.Number, mb: newMailbox(), queueID: o.Queue,
		acdID: o.Call, callback: &cb, legBase: base,
		log: m.log.With("call", string(leg), "callback", cb.ID, "attempt", cb.Attempt, "mode", string(cb.Mode), "queue", string(o.Queue))}
	m.routes[string(o.Call)] = c
	m.since[string(o.Call)] = time.Now()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer m.endCallback(c)
		c.runCallback(ctx, o)
	}()
}

// endCallback unregisters a callback's call; an offer that reached it
// too late (the ACD offered the callback again as it ended) starts a new
// call, if it still stands: one made before the call reported its result
// has had its agent released by that result.
func (m *Manager) endCallback(c *Call) {
	m.mu.Lock()
	for k, v := range m.routes {
		if v == c {
			delete(m.routes, k)
			delete(m.since, k)
		}
	}
	var late []acd.Offer
	c.mb.mu.Lock()
	for _, x := range c.mb.q {
		if x.offer != nil {
			late = append(late, *x.offer)
		}
	}
	c.mb.q = nil
	c.mb.mu.Unlock()
	m.mu.Unlock()
	for _, o := range late {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ok, err := m.acd.OfferStands(ctx, o)
		cancel()
		if err != nil || !ok {
			c.log.Info("late callback offer no longer stands; not dialled", "agent", o.Agent, "err", err)
			continue
		}
		m.dialCallback(o)
	}
}

// runCallback makes one callback dial.
func (c *Call) runCallback(ctx context.Context, o acd.Offer) {
	cb := c.callback
	endpoint, err := callbackEndpoint(c.settings().CallbackDial, cb.Number)
	if err != nil {
		c.log.Error("callback cannot be dialled", "err", err)
		c.logErr("callback result", c.m.acd.CallbackResult(ctx, cb.ID, o.Agent, acd.OutcomeFailed))
		return
	}
	now := time.Now()
	id, err := c.m.store.CreateContact(c.sctx(ctx), string(c.channel), c.service.Number, cb.Number, now)
	if err != nil {
		c.log.Error("contact not recorded; the callback goes on", "err", err)
	}
	c.contact = id
	c.log = c.log.With("contact", id)
	if id != 0 {
		c.logErr("dial contact", c.m.acd.DialContact(ctx, cb.ID, id))
	}
	queue := string(c.queueID)
	c.save("queued", func(ctx context.Context) error { return c.m.store.MarkQueued(ctx, c.contact, queue, now) })
	c.event(ctx, "callback", map[string]any{"callback": cb.ID, "attempt": cb.Attempt, "mode": string(cb.Mode),
		"queue": queue, "agent": string(o.Agent), "origin_contact": cb.ContactID})
	c.Trail("callback", "dial", fmt.Sprintf("callback %d, attempt %d, %s", cb.ID, cb.Attempt, cb.Mode))
	c.log.Info("calling back", "agent", o.Agent, "endpoint", endpoint)
	if cb.Mode == acd.AgentFirst {
		c.callbackAgentFirst(ctx, o, endpoint)
		return
	}
	c.callbackCustomerFirst(ctx, o, endpoint, now)
}

// callbackEndpoint puts a callback number into the queue's dial
// template. The number must be a callback number (digits, optionally a
// leading +) and the result an endpoint the switch may be given: nothing
// the customer typed reaches the dial string unchecked.
func callbackEndpoint(tmpl, number string) (string, error) {
	if tmpl == "" {
		return "", errors.New("the queue has no callback.dial")
	}
	return dialEndpoint(tmpl, number)
}

// dialEndpoint puts a number (digits, optionally a leading +) into a
// dial template; the result must be an endpoint the switch may be given.
func dialEndpoint(tmpl, number string) (string, error) {
	if !acd.ValidCallbackNumber(number) {
		return "", fmt.Errorf("number %q is not 1-20 digits with an optional leading +", number)
	}
	ep := strings.Replace(tmpl, "{number}", number, 1)
	if err := (pbx.Originate{ID: "callback", Endpoint: ep}).Validate(); err != nil {
		return "", fmt.Errorf("dial %q: %w", ep, err)
	}
	return ep, nil
}

// callbackCustomerFirst dials the customer; once they answer and have
// heard the introduction, the call waits in line with the agent's offer
// already in hand.
func (c *Call) callbackCustomerFirst(ctx context.Context, o acd.Offer, endpoint string, queued time.Time) {
	answered, outcome, err := c.dialCustomer(ctx, endpoint, "")
	if err != nil {
		return // shutting down
	}
	if answered.IsZero() {
		c.unanswered(ctx, o, outcome)
		return
	}
	c.eventAt(ctx, "customer_answered", nil, answered)
	c.log.Info("customer answered; ringing the agent after the introduction", "agent", o.Agent)
	_, stop, err := c.prompt(ctx, "callback", []string{PromptCallbackIntro}, false, 0)
	if err != nil {
		return
	}
	if stop != nil {
		c.held = append(c.held, *stop) // the customer hung up
	}
	c.held = append(c.held, msg{offer: &o})
	c.holdForAgent(ctx, queued)
}

// holdForAgent runs a callback's customer who answered while they wait
// in line for an agent. If the agent reserved does not answer and no
// other is free, the customer does not hold for ever: after the queue's
// callback.hold_max they hear they will be called again.
func (c *Call) holdForAgent(ctx context.Context, queued time.Time) {
	limit := c.settings().CallbackHoldMax
	if limit <= 0 {
		limit = 2 * time.Minute
	}
	t := time.AfterFunc(limit, func() { c.mb.put(msg{holdLimit: true}) })
	defer t.Stop()
	c.waitInQueue(ctx, queued)
}

// callbackHoldLimit ends a callback whose customer waited the hold limit
// for an agent: the customer hears they will be called again, and the
// callback counts an attempt (the ACD retries it after the queue's
// interval).
func (c *Call) callbackHoldLimit(ctx context.Context) {
	c.log.Info("no agent took the callback in time; it will be retried", "hold_max", c.settings().CallbackHoldMax)
	c.logErr("callback result", c.m.acd.CallbackResult(ctx, c.callback.ID, "", acd.OutcomeNoAgent))
	c.event(ctx, "callback_result", map[string]any{"outcome": string(acd.OutcomeNoAgent)})
	c.Trail("callback", "result", string(acd.OutcomeNoAgent))
	c.stopHoldAudio(ctx)
	if _, _, err := c.prompt(ctx, "callback", []string{PromptCallbackAgain}, false, 0); err != nil {
		return
	}
	c.hangupAndFinish(ctx, store.DispCallbackUnanswered, "system")
}

// callbackAgentFirst rings the agent, then dials the customer and
// bridges the two.
func (c *Call) callbackAgentFirst(ctx context.Context, o acd.Offer, endpoint string) {
	_, leg, agentAnswered, err := c.ring(ctx, o) // callbacks ring one agent: o.Agent
	if err != nil {
		return // shutting down
	}
	if agentAnswered.IsZero() {
		// NoAnswer has told the ACD: the callback waits for the next
		// agent, who starts a dial of its own.
		c.Trail("callback", "result", "no agent answered")
		c.finish(ctx, store.DispCallbackUnanswered, "system")
		return
	}
	_ = c.do(ctx, pbx.StartMOH{Channel: leg})
	answered, outcome, err := c.dialCustomer(ctx, endpoint, leg)
	switch {
	case errors.Is(err, errAgentGone):
		c.log.Info("agent hung up before the customer answered")
		c.logErr("callback result", c.m.acd.CallbackResult(ctx, c.callback.ID, o.Agent, acd.OutcomeFailed))
		c.logErr("ended", c.m.acd.Ended(ctx, c.acdCall(), o.Agent, c.contact))
		c.Trail("callback", "result", "agent hung up first")
		c.finish(ctx, store.DispCallbackUnanswered, "agent")
		return
	case err != nil:
		return // shutting down
	case answered.IsZero():
		c.m.hangup(ctx, leg)
		c.unanswered(ctx, o, outcome)
		c.logErr("ended", c.m.acd.Ended(ctx, c.acdCall(), o.Agent, c.contact))
		return
	}
	c.eventAt(ctx, "customer_answered", nil, answered)
	c.log.Info("customer answered", "agent", o.Agent)
	c.logErr("callback result", c.m.acd.CallbackResult(ctx, c.callback.ID, o.Agent, acd.OutcomeAnswered))
	_ = c.do(ctx, pbx.StopMOH{Channel: leg})
	c.bridged(ctx, o.Agent, leg, answered, false, "")
}

// unanswered reports a dial the customer did not answer.
func (c *Call) unanswered(ctx context.Context, o acd.Offer, outcome acd.CallbackOutcome) {
	c.log.Info("customer not reached", "outcome", outcome)
	c.logErr("callback result", c.m.acd.CallbackResult(ctx, c.callback.ID, o.Agent, outcome))
	c.event(ctx, "callback_result", map[string]any{"outcome": string(outcome)})
	c.Trail("callback", "result", string(outcome))
	c.finish(ctx, store.DispCallbackUnanswered, "system")
}

// dialCustomer originates the customer leg (c.channel) and waits until
// it answers (its time), is not answered (outcome) or, when agentLeg is
// set, the agent waiting for it hangs up (errAgentGone).
func (c *Call) dialCustomer(ctx context.Context, endpoint string, agentLeg pbx.ChannelID) (time.Time, acd.CallbackOutcome, error) {
	c.m.register(string(c.channel), c)
	callerID := c.service.Number
	if strings.Trim(callerID, "0123456789+") != "" {
		callerID = ""
	}
	err := c.originate(ctx, pbx.Originate{ID: c.channel, Endpoint: endpoint, CallerID: callerID, Timeout: customerRingTimeout + 5*time.Second,
		Args: []string{callbackArg, strconv.FormatInt(c.callback.ID, 10)}})
	if err != nil {
		c.log.Warn("callback dial failed", "endpoint", endpoint, "err", err)
		c.hungUp = true
		return time.Time{}, acd.OutcomeFailed, nil
	}
	timer := time.NewTimer(customerRingTimeout)
	defer timer.Stop()
	for {
		x, ok := c.mb.get(ctx, timer.C)
		if !ok {
			if ctx.Err() != nil {
				return time.Time{}, "", ctx.Err()
			}
			c.log.Info("customer did not answer in time", "ring_timeout", customerRingTimeout)
			c.m.hangup(ctx, c.channel)
			c.hungUp = true
			return time.Time{}, acd.OutcomeNoAnswer, nil
		}
		ev := x.ev
		switch {
		case ev.Channel == c.channel && ev.Kind == pbx.ChannelRinging:
			c.eventAt(ctx, "customer_ringing", nil, eventTime(ev))
		case ev.Channel == c.channel && ev.Kind == pbx.ChannelStarted:
			return eventTime(ev), "", nil
		case ev.Channel == c.channel && ev.Kind == pbx.ChannelHungup:
			c.noteHangup(ev)
			c.log.Info("customer leg ended unanswered", "cause", ev.Cause, "cause_text", ev.CauseText)
			return time.Time{}, dialOutcome(ev.Cause), nil
		case agentLeg != "" && ev.Channel == agentLeg && ev.Kind == pbx.ChannelHungup:
			c.m.hangup(ctx, c.channel)
			c.hungUp = true
			return time.Time{}, "", errAgentGone
		}
	}
}

// dialOutcome maps the Q.850 cause of an unanswered dial to a callback
// outcome.
func dialOutcome(cause int) acd.CallbackOutcome {
	switch cause {
	case 17: // user busy
		return acd.OutcomeBusy
	case 1, 3, 22, 27, 28, 34, 38, 41, 42: // no such number, no route, out of order, congestion
		return acd.OutcomeFailed
	}
	return acd.OutcomeNoAnswer
}
