package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/call"
	"github.com/hotline-cc/hotline/controller/store"
)

// agentsAPI serves the API's agent calls from the ACD.
type agentsAPI struct{ a *acd.ACD }

func (x agentsAPI) ListAgents(ctx context.Context) ([]api.AgentStatus, error) {
	ags, err := x.a.Agents(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.AgentStatus, 0, len(ags))
	for _, ag := range ags {
		out = append(out, api.AgentStatus{ID: string(ag.ID), Name: ag.Name, Endpoint: ag.Endpoint,
			State: string(ag.State), Reason: ag.Reason, Since: ag.Since, CallsToday: ag.CallsToday})
	}
	return out, nil
}

func (x agentsAPI) Login(ctx context.Context, id string) error {
	return apiErr(x.a.Login(ctx, acd.AgentID(id)))
}
func (x agentsAPI) Ready(ctx context.Context, id string) error {
	return apiErr(x.a.Ready(ctx, acd.AgentID(id)))
}
func (x agentsAPI) NotReady(ctx context.Context, id, reason string) error {
	if reason == "" {
		return fmt.Errorf("%w: not ready needs a reason", api.ErrInvalid)
	}
	return apiErr(x.a.NotReady(ctx, acd.AgentID(id), reason))
}
func (x agentsAPI) Logout(ctx context.Context, id string) error {
	return apiErr(x.a.Logout(ctx, acd.AgentID(id)))
}

func apiErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, acd.ErrUnknownAgent):
		return fmt.Errorf("%w: %w", api.ErrNotFound, err)
	case errors.Is(err, acd.ErrIllegal), errors.Is(err, acd.ErrWrapUpLimit):
		return fmt.Errorf("%w: %w", api.ErrConflict, err)
	case errors.Is(err, acd.ErrUnknownReason), errors.Is(err, acd.ErrInvalidCallback):
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	case errors.Is(err, acd.ErrUnknownCallback):
		return fmt.Errorf("%w: %w", api.ErrNotFound, err)
	}
	return err
}

// trailsAPI serves IVR trails.
type trailsAPI struct{ m *call.Manager }

func (x trailsAPI) Trail(ctx context.Context, contactID int64) ([]api.TrailStep, error) {
	steps, err := x.m.Trail(ctx, contactID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", api.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	out := make([]api.TrailStep, len(steps))
	for i, s := range steps {
		out[i] = api.TrailStep{Seq: s.Seq, At: s.At, Node: s.Node, Kind: s.Kind, Detail: s.Detail}
	}
	return out, nil
}
