// Package server wires hotline together for `hotline serve`: the store,
// the switch driver, the ACD, the call manager and the HTTP API, each in
// its own goroutine with one owner that stops and waits for it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/call"
	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/pbx/ari"
	"github.com/hotline-cc/hotline/controller/pbx/esl"
	"github.com/hotline-cc/hotline/controller/store"
)

// Run serves until ctx ends. Calls in progress stay up on the switch when
// it returns; the next start adopts them.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	st, err := store.Open(ctx, cfg.Database.URL, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := store.Migrate(ctx, st.DB.DB, log); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// One active controller per database: a standby waits here.
	unlock, err := st.LeaderLock(ctx, log)
	if err != nil {
		return err
	}
	defer unlock()
	if err := st.SyncConfig(ctx, cfg); err != nil {
		return fmt.Errorf("load configuration into postgres: %w", err)
	}

	drv, err := NewDriver(cfg, log)
	if err != nil {
		return err
	}
	return Serve(ctx, cfg, st, drv, log)
}

// NewDriver builds the driver for the switch the configuration names:
// ARI for Asterisk, the Event Socket for FreeSWITCH.
func NewDriver(cfg *config.Config, log *slog.Logger) (pbx.Driver, error) {
	switch cfg.Switch {
	case config.SwitchFreeSWITCH:
		d, err := esl.New(esl.Config{Addr: cfg.FreeSWITCH.Address, Password: cfg.FreeSWITCH.Password,
			RecordingDir: cfg.SwitchRecordingDir(), OutboundListen: cfg.FreeSWITCH.OutboundListen, CommandTimeout: cfg.CommandTimeout, Logger: log})
		if err != nil {
			return nil, err
		}
		return d, nil
	case config.SwitchAsterisk, "":
		d, err := ari.New(ari.Config{URL: cfg.Asterisk.URL, Username: cfg.Asterisk.Username,
			Password: cfg.Asterisk.Password, App: cfg.Asterisk.App, CommandTimeout: cfg.CommandTimeout, Logger: log.With("component", "ari")})
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("switch %q is not asterisk or freeswitch", cfg.Switch)
}

// Serve runs hotline on an open store and a driver (tests give their own).
func Serve(ctx context.Context, cfg *config.Config, st *store.Store, drv pbx.Driver, log *slog.Logger) error {
	journal := newJournal(st, log)
	a, err := newACD(ctx, cfg, st, journal, log)
	if err != nil {
		return err
	}
	cbJournal := newCallbackJournal(st, log)
	a.SetCallbackJournal(cbJournal)
	flows, flowEnv, err := newFlows(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	services := map[string]call.Service{}
	for _, s := range cfg.Services {
		services[s.Number] = call.Service{Number: s.Number, Queue: acd.QueueID(s.Queue), Flow: s.ServiceFlow(), Survey: s.Survey}
	}
	mgr := call.NewManager(call.Config{Services: services, Flows: flows, FlowEnv: flowEnv,
		RecordingDir: cfg.Recording.Dir, RecordingFormat: cfg.Recording.Format,
		// Announcements and callback dialling per queue; the Manager
		// registers itself as the ACD's callback handler once it has
		// adopted the calls of a previous run.
		Queues:         queueSettings(cfg),
		ReconcileEvery: cfg.ReconcileEvery,
		Transfer:       call.TransferSettings{Dial: cfg.Transfer.Dial, Allow: cfg.Transfer.Allow, RingTimeout: cfg.Transfer.RingTimeout}},
		drv, st, a, log)

	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", cfg.API.Listen, err)
	}
	acdx := newACDAPI(a, st, cfg)
	srv := &http.Server{Handler: api.New(agentsAPI{a}, trailsAPI{mgr}, cfg.API.Token, log,
		api.WithWrapUp(acdx), api.WithPINs(acdx), api.WithCallbacks(acdx), api.WithQueues(acdx)), ReadHeaderTimeout: 10 * time.Second}

	g, gctx := errgroup.WithContext(ctx)
	acdCtx, stopACD := context.WithCancel(context.WithoutCancel(ctx))
	defer stopACD()
	acdDone := make(chan struct{})
	go func() { defer close(acdDone); _ = a.Run(acdCtx) }()
	if err := restoreCallbacks(ctx, a, st, log.With("component", "acd")); err != nil {
		log.Error("callbacks not restored", "err", err)
	}
	g.Go(func() error { return journal.run(gctx) })
	g.Go(func() error { return cbJournal.run(gctx) })
	g.Go(func() error { return drv.Run(gctx) })
	g.Go(func() error { return mgr.Run(gctx, drv.Events()) })
	g.Go(func() error { logSwitchLatency(gctx, drv, log, time.Minute); return nil })
	g.Go(func() error {
		log.Info("api listening", "addr", ln.Addr().String())
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	if cfg.Switch == config.SwitchFreeSWITCH {
		log.Info("hotline serving", "switch", cfg.Switch, "event_socket", cfg.FreeSWITCH.Address)
	} else {
		log.Info("hotline serving", "switch", "asterisk", "asterisk", cfg.Asterisk.URL, "app", cfg.Asterisk.App)
	}
	err = g.Wait()
	stopACD()
	<-acdDone
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

func newACD(ctx context.Context, cfg *config.Config, st *store.Store, j acd.Journal, log *slog.Logger) (*acd.ACD, error) {
	queues, err := queueConfigs(cfg)
	if err != nil {
		return nil, err
	}
	skills := map[string]map[string]int{} // agent skills come from the configuration
	for _, ag := range cfg.Agents {
		skills[ag.ID] = ag.Skills
	}
	rows, err := st.Agents(ctx)
	if err != nil {
		return nil, err
	}
	var agents []acd.Agent
	for _, r := range rows {
		ag := acd.Agent{ID: acd.AgentID(r.ID), Name: r.Name, Endpoint: r.Endpoint, State: acd.State(r.State),
			Reason: r.Reason, Since: r.StateSince, IdleSince: r.IdleSince, Queues: map[acd.QueueID]bool{},
			CallsToday: r.CallsToday, TalkToday: r.TalkToday(), CountersAt: r.CountersAt.Time,
			Skills: skills[r.ID]}
		for _, q := range r.Queues {
			ag.Queues[acd.QueueID(q)] = true
		}
		agents = append(agents, ag)
	}
	return acd.New(queues, agents, j, log.With("component", "acd")), nil
}
