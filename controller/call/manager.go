package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/ivr/flow"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/store"
)

// Switch is what calls need of the driver: commands, and the list of
// live channels for reconciliation.
type Switch interface {
	Do(ctx context.Context, cmd pbx.Command) error
	Snapshot(ctx context.Context) (pbx.Snapshot, error)
}

// Service is what a service number does with a call.
type Service struct {
	Number string
	Queue  acd.QueueID
	Flow   string // the IVR flow callers run first; "" = none
	Survey string // the flow the caller hears when the agent ends the call
}

// Config is the Manager's configuration.
type Config struct {
	Services map[string]Service
	// Flows gives calls their IVR flows; FlowEnv is what flows may use
	// (look-ups, notices).
	Flows   *Flows
	FlowEnv flow.Env
	// RecordingDir is where hotline reads the files the switch writes.
	RecordingDir    string
	RecordingFormat string
	// RecordingTolerance is how far, in seconds, a recording's duration
	// may be from the bridged time (1 s).
	RecordingTolerance float64
	// ReconcileEvery is how often the live calls and busy agents are
	// checked against the switch's channel list (30 s).
	ReconcileEvery time.Duration
	// Queues holds per-queue announcement and callback settings.
	Queues map[acd.QueueID]QueueSettings
	// Transfer places flows' transfers to outside numbers.
	Transfer TransferSettings
}

// Manager routes switch events to calls and starts a call for each new
// inbound channel.
type Manager struct {
	cfg   Config
	sw    Switch
	store *store.Store
	acd   *acd.ACD
	log   *slog.Logger

	writer *writer // call records, written behind the calls in order

	mu     sync.Mutex
	routes map[string]*Call     // channel IDs and recording names → call
	since  map[string]time.Time // when each route was registered
	wg     sync.WaitGroup
	synced bool // the first Resynced (adoption) has been handled
	// linkDown is when the link to the switch was last lost (zero: up
	// since the last resync); a hang-up found missing happened after it.
	linkDown time.Time
	// loginFailures counts wrong phone logins per phone (feature.go).
	loginFailures map[string]loginFailure
	// runCtx is Run's context, for callback calls the ACD starts
	// (callback.go); stopping is set when Run waits for the calls to end.
	runCtx   context.Context
	stopping bool
}

type loginFailure struct {
	n    int
	last time.Time
}

// NewManager creates a Manager.
func NewManager(cfg Config, sw Switch, st *store.Store, a *acd.ACD, log *slog.Logger) *Manager {
	if cfg.RecordingFormat == "" {
		cfg.RecordingFormat = "wav"
	}
	if cfg.RecordingTolerance == 0 {
		cfg.RecordingTolerance = 1
	}
	if cfg.ReconcileEvery == 0 {
		cfg.ReconcileEvery = 30 * time.Second
	}
	return &Manager{cfg: cfg, sw: sw, store: st, acd: a, log: log, routes: map[string]*Call{}, since: map[string]time.Time{}, loginFailures: map[string]loginFailure{},
		writer: newWriter(log)}
}

// Run reads events until the channel closes or ctx ends, then waits for
// every call goroutine to stop.
func (m *Manager) Run(ctx context.Context, events <-chan pbx.Event) error {
	// The writer outlives the calls: it drains their last records after
	// every call goroutine has stopped.
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	go m.writer.run(wctx, 10*time.Second)
	m.mu.Lock()
	m.runCtx = ctx
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.stopping = true
		m.mu.Unlock()
		m.wg.Wait()
		stopWriter()
		<-m.writer.done
	}()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.reconcileLoop(ctx)
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			m.handle(ctx, ev)
		}
	}
}

func (m *Manager) handle(ctx context.Context, ev pbx.Event) {
	switch ev.Kind {
	case pbx.ChannelStarted:
		if c := m.route(string(ev.Channel)); c != nil {
			c.mb.put(msg{ev: ev})
			return
		}
		if len(ev.Args) > 0 && (ev.Args[0] == "agent" || ev.Args[0] == callbackArg || ev.Args[0] == transferArg) {
			// An agent leg whose call is gone (it hung up while the agent
			// answered), a callback's customer answering a dial that was
			// given up, or an outside number answering a transfer whose
			// caller left: release it.
			m.log.Info("originated leg without a call, hanging up", "channel", ev.Channel, "kind", ev.Args[0])
			m.hangup(ctx, ev.Channel)
			return
		}
		if len(ev.Args) > 0 && ev.Args[0] == "feature" {
			m.startFeature(ctx, ev)
			return
		}
		m.startCall(ctx, ev)
	case pbx.Resynced:
		if !m.synced {
			m.synced = true
			m.adopt(ctx, ev.Snapshot)
			// Callbacks are dialled from now on: adoption has put right
			// the agents a previous run left reserved, so no agent the ACD
			// reserves for a callback is taken from under it.
			m.acd.SetCallbackHandler(m.dialCallback)
			return
		}
		m.reconcile(ev.Snapshot, time.Now().Add(-time.Second))
		m.mu.Lock()
		m.linkDown = time.Time{}
		m.mu.Unlock()
	case pbx.LinkDown:
		m.mu.Lock()
		m.linkDown = time.Now()
		m.mu.Unlock()
		m.log.Warn("link to the switch is down; calls keep running on the switch")
	default:
		key := string(ev.Channel)
		if ev.Kind == pbx.RecordingStarted || ev.Kind == pbx.RecordingFinished || ev.Kind == pbx.RecordingFailed {
			key = string(ev.Recording)
		}
		if c := m.route(key); c != nil {
			c.mb.put(msg{ev: ev})
		}
	}
}

func (m *Manager) startCall(ctx context.Context, ev pbx.Event) {
	service := ev.Dialed
	if len(ev.Args) > 0 {
		service = ev.Args[0]
	}
	svc, ok := m.cfg.Services[service]
	if !ok {
		m.log.Warn("call for an unknown service number, rejecting", "channel", ev.Channel, "service", service, "caller", ev.Caller)
		m.hangup(ctx, ev.Channel)
		return
	}
	c := m.newCall(ev.Channel, svc, ev.Caller)
	at := ev.At
	if at.IsZero() {
		at = time.Now()
	}
	m.spawn(ctx, c, func(ctx context.Context) { c.runNew(ctx, at) })
}

func (m *Manager) newCall(ch pbx.ChannelID, svc Service, caller string) *Call {
	c := &Call{m: m, channel: ch, service: svc, caller: caller, mb: newMailbox(),
		log: m.log.With("call", string(ch), "service", svc.Number, "caller", caller)}
	m.register(string(ch), c)
	return c
}

func (m *Manager) spawn(ctx context.Context, c *Call, run func(context.Context)) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer m.unregisterCall(c)
		run(ctx)
	}()
}

// reconcile runs after a reconnect and on a timer: a channel the switch
// no longer has hung up without hotline hearing of it, so its call is told
// so. Channels registered after taken (the snapshot's time) are not judged.
func (m *Manager) reconcile(s *pbx.Snapshot, taken time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, c := range m.routes {
		if c.ownsChannel(key) && m.since[key].Before(taken) {
			if _, live := s.Channel(pbx.ChannelID(key)); !live {
				m.log.Info("channel gone from the switch, its hang-up unheard", "channel", key)
				c.mb.put(msg{ev: pbx.Event{Kind: pbx.ChannelHungup, Channel: pbx.ChannelID(key), At: time.Now(), CauseText: "gone from the switch unnoticed"},
					unnoticed: true, since: m.linkDown})
			}
		}
	}
}

// reconcileLoop checks, every ReconcileEvery, that every call hotline
// runs is still on the switch and that no agent is left ringing or on a
// call that is gone (a missed hang-up must not keep an agent ON_CALL).
func (m *Manager) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(m.cfg.ReconcileEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		taken := time.Now()
		snap, err := m.sw.Snapshot(ctx)
		if err != nil {
			m.log.Warn("reconciliation skipped: no channel list from the switch", "err", err)
			continue
		}
		m.reconcile(&snap, taken)
		if _, err := m.acd.Reconcile(ctx, func(call acd.CallID) bool { return m.route(string(call)) != nil }); err != nil && ctx.Err() == nil {
			m.log.Error("agent reconciliation failed", "err", err)
		}
	}
}

func (m *Manager) register(key string, c *Call) {
	m.mu.Lock()
	m.routes[key] = c
	m.since[key] = time.Now()
	m.mu.Unlock()
}

// unregister stops routing key's events to c (and only to c).
func (m *Manager) unregister(key string, c *Call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.routes[key] == c {
		delete(m.routes, key)
		delete(m.since, key)
	}
}

func (m *Manager) route(key string) *Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.routes[key]
}

func (m *Manager) unregisterCall(c *Call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.routes {
		if v == c {
			delete(m.routes, k)
			delete(m.since, k)
		}
	}
}

// Live returns how many calls are running.
func (m *Manager) Live() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[*Call]bool{}
	for _, c := range m.routes {
		seen[c] = true
	}
	return len(seen)
}

// hangup hangs a channel up. Like an answer, a hang-up whose reply times
// out is asked for again: a channel left up would keep a caller in
// silence, or an agent's phone off-hook. A channel already gone is fine.
func (m *Manager) hangup(ctx context.Context, ch pbx.ChannelID) {
	err := retry(ctx, answerAttempts, func(ctx context.Context) error {
		return m.sw.Do(ctx, pbx.Hangup{Channel: ch})
	}, func(attempt int, err error) {
		m.log.Warn("hang-up not confirmed; asking again", "channel", ch, "attempt", attempt, "err", err)
	})
	switch {
	case err == nil, errors.Is(err, pbx.ErrNotFound), ctx.Err() != nil:
		m.log.Debug("hangup", "channel", ch, "err", err)
	default:
		m.log.Error("the switch did not hang the channel up", "channel", ch, "attempts", answerAttempts, "err", err)
	}
}

// Trail returns a contact's IVR trail (for the agent's screen).
func (m *Manager) Trail(ctx context.Context, contactID int64) ([]store.TrailStep, error) {
	steps, err := m.store.Trail(ctx, contactID)
	if err != nil {
		return nil, fmt.Errorf("trail of contact %d: %w", contactID, err)
	}
	return steps, nil
}
