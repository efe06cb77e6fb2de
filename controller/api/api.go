// Package api owns hotline's HTTP/JSON API, served by `hotline serve`:
// agent state (list, login, ready, not ready, logout), a contact's IVR
// trail, and a health check. It also provides Client, which `hotline
// agent ...` uses to call it. The API depends on two small interfaces,
// Agents and Trails, that the server wires to the ACD and the store.
//
// Routes (all under /v1 require "Authorization: Bearer TOKEN" unless the
// token is empty):
//
//	GET  /healthz                      {"status":"ok"}
//	GET  /v1/agents                    {"agents":[AgentStatus...]}
//	POST /v1/agents/{id}/login         204
//	POST /v1/agents/{id}/ready         204
//	POST /v1/agents/{id}/notready      {"reason":"meal"} → 204
//	POST /v1/agents/{id}/logout        204
//	GET  /v1/contacts/{id}/trail       {"contact_id":1,"trail":[TrailStep...]}
//
// Errors are {"error":"..."} with 400 (ErrInvalid), 401, 404 (ErrNotFound),
// 409 (ErrConflict) or 500.
package api

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors the Agents and Trails implementations wrap so the API
// answers with the right status. Client returns errors wrapping them too.
var (
	ErrNotFound = errors.New("not found")                // 404
	ErrInvalid  = errors.New("invalid request")          // 400
	ErrConflict = errors.New("illegal state transition") // 409
	// ErrUnauthorized is returned by Client when the server refuses its
	// token (401).
	ErrUnauthorized = errors.New("unauthorized")
)

// Agents is what the API needs from the ACD.
type Agents interface {
	ListAgents(ctx context.Context) ([]AgentStatus, error)
	Login(ctx context.Context, id string) error
	Ready(ctx context.Context, id string) error
	NotReady(ctx context.Context, id, reason string) error
	Logout(ctx context.Context, id string) error
}

// AgentStatus is one agent as the API shows it.
type AgentStatus struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Endpoint   string    `json:"endpoint"`
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"`
	Since      time.Time `json:"since"`
	CallsToday int       `json:"calls_today"`
}

// Trails is what the API needs from the store for IVR trails.
type Trails interface {
	Trail(ctx context.Context, contactID int64) ([]TrailStep, error)
}

// TrailStep is one step of a contact's IVR trail.
type TrailStep struct {
	Seq    int       `json:"seq"`
	At     time.Time `json:"at"`
	Node   string    `json:"node"`
	Kind   string    `json:"kind"`
	Detail string    `json:"detail,omitempty"`
}

// Wire shapes shared by the handler and Client.
type (
	agentsResponse struct {
		Agents []AgentStatus `json:"agents"`
	}
	trailResponse struct {
		ContactID int64       `json:"contact_id"`
		Trail     []TrailStep `json:"trail"`
	}
	notReadyRequest struct {
		Reason string `json:"reason"`
	}
	errorResponse struct {
		Error string `json:"error"`
	}
)
