package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/call"
	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/store"
)

// queueConfigs builds the ACD's queues from the configuration: the router
// by strategy name (with its parameters), skills, wrap-up, overflow,
// max_wait and callback policy.
func queueConfigs(cfg *config.Config) ([]acd.QueueConfig, error) {
	var queues []acd.QueueConfig
	for _, q := range cfg.Queues {
		strategy := q.Strategy
		if strategy == acd.RingAllName {
			strategy = "longest-idle" // a ring-all queue's callbacks go to one agent
		}
		router, ok := acd.RouterByName(strategy, uint64(time.Now().UnixNano()))
		if !ok {
			return nil, fmt.Errorf("queue %s: unknown strategy %q", q.ID, q.Strategy)
		}
		if w, isW := router.(acd.WeightedSkillIdleRouter); isW && q.Weights != nil {
			w.SkillWeight, w.IdleWeight, w.IdleScale = q.Weights.Skill, q.Weights.Idle, q.Weights.IdleScale
			router = w
		}
		qc := acd.QueueConfig{ID: acd.QueueID(q.ID), Router: router, RingAll: q.Strategy == acd.RingAllName, RingTimeout: q.RingTimeout, WrapUp: q.WrapUp,
			WrapUpMaxExtension: q.WrapUpMaxExtension, Skills: q.Skills, AHT: q.InitialAHT,
			Callback: acd.CallbackPolicy{Attempts: q.Callback.Attempts, Interval: q.Callback.Interval, DialTimeout: q.Callback.DialTimeout}}
		for _, o := range q.Overflow {
			qc.Overflow = append(qc.Overflow, acd.OverflowStep{After: o.After, MinLevel: o.MinLevel, AddSkills: o.AddSkills, ToQueue: acd.QueueID(o.ToQueue)})
		}
		if mw := q.MaxWait; mw != nil {
			qc.MaxWait = &acd.MaxWait{After: mw.After, Action: acd.MaxWaitAction(mw.Action), Prompt: mw.Prompt}
		}
		queues = append(queues, qc)
	}
	return queues, nil
}

// queueSettings is what calls need of each queue: announcements and how
// its callbacks are dialled (for the service number of the first service
// the queue answers).
func queueSettings(cfg *config.Config) map[acd.QueueID]call.QueueSettings {
	out := map[acd.QueueID]call.QueueSettings{}
	for _, q := range cfg.Queues {
		qs := call.QueueSettings{AnnounceEvery: q.AnnounceEvery, CallbackDial: q.Callback.Dial, CallbackHoldMax: q.Callback.HoldMax}
		for _, s := range cfg.Services {
			if s.Queue == q.ID {
				qs.Service = s.Number
				break
			}
		}
		out[acd.QueueID(q.ID)] = qs
	}
	return out
}

// restoreCallbacks puts the callbacks still to be made back in line, in
// place order, after a start.
func restoreCallbacks(ctx context.Context, a *acd.ACD, st *store.Store, log *slog.Logger) error {
	rows, err := st.OpenCallbacks(ctx)
	if err != nil {
		return err
	}
	for _, r := range rows {
		c := acd.Callback{ID: r.ID, Queue: acd.QueueID(r.Queue), Number: r.Number, EnqueuedAt: r.PlaceAt, Priority: r.Priority,
			Mode: acd.CallbackMode(r.Mode), ContactID: r.ContactID.Int64, Attempts: r.Attempts}
		if r.Status == string(acd.CallbackScheduled) && r.NextAttemptAt.Valid {
			c.NextAttemptAt = r.NextAttemptAt.Time
		}
		if _, err := a.EnqueueCallback(ctx, c); err != nil {
			// A queue removed from the configuration: the row stays as it is.
			log.Error("callback not restored", "callback", r.ID, "queue", r.Queue, "err", err)
		}
	}
	if len(rows) > 0 {
		log.Info("callbacks restored", "count", len(rows))
	}
	return nil
}

// callbackJournal writes the ACD's callback changes to Postgres, in
// order, without making the ACD wait (acd.CallbackJournal).
type callbackJournal struct {
	*writeBehind[acd.CallbackChange]
}

func newCallbackJournal(st *store.Store, log *slog.Logger) callbackJournal {
	return callbackJournal{newWriteBehind(log, "callback change", func(ctx context.Context, c acd.CallbackChange) error {
		err := st.UpdateCallback(ctx, store.CallbackUpdate{ID: c.ID, Status: string(c.State), Attempts: c.Attempts,
			NextAttemptAt: c.NextAttemptAt, Outcome: c.Outcome, Agent: string(c.Agent), At: c.At})
		if errors.Is(err, store.ErrNotFound) {
			log.Error("callback change for a callback not in the database", "callback", c.ID, "state", c.State)
			return nil
		}
		return err
	})}
}

// RecordCallback implements acd.CallbackJournal.
func (j callbackJournal) RecordCallback(c acd.CallbackChange) { j.add(c) }

// acdAPI serves the API's wrap-up, PIN and callback routes.
type acdAPI struct {
	a        *acd.ACD
	st       *store.Store
	services map[string]string // service number → queue
	queues   map[string]bool
	dial     map[string]bool            // queues that take callbacks (callback.dial set)
	within   map[string]time.Duration   // per queue, its service level threshold
	view     *recent[[]api.QueueStatus] // the queue view, kept for a second
}

func newACDAPI(a *acd.ACD, st *store.Store, cfg *config.Config) acdAPI {
	x := acdAPI{a: a, st: st, services: map[string]string{}, queues: map[string]bool{}, dial: map[string]bool{},
		within: map[string]time.Duration{}, view: &recent[[]api.QueueStatus]{ttl: time.Second, now: time.Now}}
	for _, s := range cfg.Services {
		x.services[s.Number] = s.Queue
	}
	for _, q := range cfg.Queues {
		x.queues[q.ID] = true
		x.within[q.ID] = q.ServiceLevelWithin
		if q.ServiceLevelWithin <= 0 { // a Config built in code
			x.within[q.ID] = config.DefaultServiceLevelWithin
		}
		x.dial[q.ID] = q.Callback.Dial != ""
	}
	return x
}

func (x acdAPI) ExtendWrapUp(ctx context.Context, id string, d time.Duration) (time.Time, error) {
	t, err := x.a.ExtendWrapUp(ctx, acd.AgentID(id), d)
	return t, apiErr(err)
}

func (x acdAPI) EndWrapUp(ctx context.Context, id string) error {
	return apiErr(x.a.EndWrapUp(ctx, acd.AgentID(id)))
}

func (x acdAPI) SetPIN(ctx context.Context, id, pin string) error {
	err := x.st.SetAgentPIN(ctx, id, pin)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", api.ErrNotFound, err)
	case errors.Is(err, store.ErrInvalidPIN):
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	}
	return err
}

func (x acdAPI) RequestCallback(ctx context.Context, req api.CallbackRequest) (api.CallbackStatus, error) {
	queue := req.Queue
	if req.Service != "" {
		q, ok := x.services[req.Service]
		if !ok {
			return api.CallbackStatus{}, fmt.Errorf("%w: service number %q is not configured", api.ErrInvalid, req.Service)
		}
		queue = q
	}
	if !x.queues[queue] {
		return api.CallbackStatus{}, fmt.Errorf("%w: queue %q is not configured", api.ErrInvalid, queue)
	}
	if !x.dial[queue] {
		return api.CallbackStatus{}, fmt.Errorf("%w: queue %q takes no callbacks (no callback.dial)", api.ErrInvalid, queue)
	}
	now := time.Now()
	id, err := x.st.CreateCallback(ctx, store.NewCallback{Queue: queue, Number: req.Number, Source: store.CallbackSourceWeb,
		RequestedAt: now, PlaceAt: now, Mode: req.Mode})
	if err != nil {
		return api.CallbackStatus{}, err
	}
	if _, err := x.a.EnqueueCallback(ctx, acd.Callback{ID: id, Queue: acd.QueueID(queue), Number: req.Number, EnqueuedAt: now,
		Mode: acd.CallbackMode(req.Mode)}); err != nil {
		if errors.Is(err, acd.ErrInvalidCallback) {
			return api.CallbackStatus{}, fmt.Errorf("%w: %w", api.ErrInvalid, err)
		}
		return api.CallbackStatus{}, err
	}
	return x.Callback(ctx, id)
}

func (x acdAPI) Callback(ctx context.Context, id int64) (api.CallbackStatus, error) {
	row, err := x.st.Callback(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return api.CallbackStatus{}, fmt.Errorf("%w: %w", api.ErrNotFound, err)
	}
	if err != nil {
		return api.CallbackStatus{}, err
	}
	st := api.CallbackStatus{ID: row.ID, Queue: row.Queue, Status: row.Status, Attempts: row.Attempts, Outcome: row.Outcome, RequestedAt: row.RequestedAt}
	if row.NextAttemptAt.Valid {
		t := row.NextAttemptAt.Time
		st.NextAttemptAt = &t
	}
	// The ACD's view is the live one (the row may lag behind it).
	if info, err := x.a.CallbackStatus(ctx, id); err == nil {
		st.Queue, st.Status, st.Position, st.Attempts = string(info.Queue), string(info.State), info.Position, info.Attempts
		if !info.NextAttemptAt.IsZero() {
			t := info.NextAttemptAt
			st.NextAttemptAt = &t
		} else {
			st.NextAttemptAt = nil
		}
	}
	return st, nil
}

// Queues reports every queue's live state and its calls since midnight
// (GET /v1/queues), at most a second old.
func (x acdAPI) Queues(ctx context.Context) ([]api.QueueStatus, error) {
	return x.view.get(ctx, x.queueView)
}

func (x acdAPI) queueView(ctx context.Context) ([]api.QueueStatus, error) {
	qs, err := x.a.Queues(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	y, m, d := now.Date()
	days, err := x.st.QueueDays(ctx, time.Date(y, m, d, 0, 0, 0, 0, now.Location()), x.within)
	if err != nil {
		return nil, err
	}
	out := make([]api.QueueStatus, 0, len(qs))
	for _, q := range qs {
		s := api.QueueStatus{ID: string(q.Queue), Waiting: q.Waiting, Callbacks: q.Callbacks,
			LongestWaitSeconds: int64(q.LongestWait / time.Second), Agents: map[string]int{}}
		if q.EWT != acd.NoEstimate {
			secs := int64(q.EWT.Round(time.Second) / time.Second)
			s.EWTSeconds = &secs
		}
		for st, n := range q.Agents {
			s.Agents[string(st)] = n
		}
		day := days[string(q.Queue)]
		s.Today = api.QueueToday{Offered: day.Offered, Answered: day.Answered, AnsweredWithin: day.AnsweredWithin,
			Abandoned: day.Abandoned, ServiceLevelWithinSeconds: int64(x.within[string(q.Queue)] / time.Second)}
		if day.Offered > 0 {
			sl := float64(day.AnsweredWithin) / float64(day.Offered)
			s.Today.ServiceLevel = &sl
		}
		out = append(out, s)
	}
	return out, nil
}
