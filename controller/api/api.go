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
//	POST /v1/agents/{id}/notready      {"reason":"meal"} → 204 (a reason of acd.Reasons, name or digit)
//	POST /v1/agents/{id}/logout        204
//	POST /v1/agents/{id}/wrapup/extend {"seconds":30} → {"wrap_up_ends":"..."}   (WithWrapUp)
//	POST /v1/agents/{id}/wrapup/end    204                                       (WithWrapUp)
//	POST /v1/agents/{id}/pin           {"pin":"4821"} → 204                      (WithPINs)
//	POST /v1/callbacks                 {"queue"|"service","number","mode"} → 201 CallbackStatus (WithCallbacks)
//	GET  /v1/callbacks/{id}            CallbackStatus                            (WithCallbacks)
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

// WrapUp is what the API needs for an agent's after-call work.
type WrapUp interface {
	// ExtendWrapUp adds d to the agent's after-call work and returns when
	// it now ends.
	ExtendWrapUp(ctx context.Context, id string, d time.Duration) (time.Time, error)
	// EndWrapUp ends the agent's after-call work now.
	EndWrapUp(ctx context.Context, id string) error
}

// PINs sets agents' phone login PINs.
type PINs interface {
	SetPIN(ctx context.Context, id, pin string) error
}

// Callbacks is what the API needs for callback requests.
type Callbacks interface {
	// RequestCallback records a web callback request and puts it in line.
	RequestCallback(ctx context.Context, req CallbackRequest) (CallbackStatus, error)
	// Callback reports a callback.
	Callback(ctx context.Context, id int64) (CallbackStatus, error)
}

// Queues reports the queues' live state.
type Queues interface {
	Queues(ctx context.Context) ([]QueueStatus, error)
}

// QueueStatus is one queue's live state. EWTSeconds is the wait, in whole
// seconds, a caller joining now would be told; nil when no agent who may
// take the queue's calls is on duty.
type QueueStatus struct {
	ID                 string         `json:"id"`
	Waiting            int            `json:"waiting"`
	Callbacks          int            `json:"callbacks"`
	LongestWaitSeconds int64          `json:"longest_wait_seconds"`
	EWTSeconds         *int64         `json:"ewt_seconds"`
	Agents             map[string]int `json:"agents"` // by state; logged-out agents left out
	Today              QueueToday     `json:"today"`
}

// QueueToday is a queue's calls since midnight that joined it and have
// ended: answered, answered within the queue's service level threshold,
// abandoned (the caller hung up waiting or ringing). ServiceLevel is
// answered within the threshold over offered; nil when none was offered.
type QueueToday struct {
	Offered                   int      `json:"offered"`
	Answered                  int      `json:"answered"`
	AnsweredWithin            int      `json:"answered_within"`
	Abandoned                 int      `json:"abandoned"`
	ServiceLevelWithinSeconds int64    `json:"service_level_within_seconds"`
	ServiceLevel              *float64 `json:"service_level"`
}

// CallbackRequest asks to be called back: on Number, by the queue named,
// or by the queue of the service number named.
type CallbackRequest struct {
	Queue   string `json:"queue,omitempty"`
	Service string `json:"service,omitempty"`
	Number  string `json:"number"`
	Mode    string `json:"mode,omitempty"` // customer-first (default) or agent-first
}

// CallbackStatus is a callback as the API shows it. Position is the
// 1-based place in its queue's line (0 when not in line).
type CallbackStatus struct {
	ID            int64      `json:"id"`
	Queue         string     `json:"queue"`
	Status        string     `json:"status"`
	Position      int        `json:"position"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	Outcome       string     `json:"outcome,omitempty"`
	RequestedAt   time.Time  `json:"requested_at"`
}

// Option adds optional parts of the API to New.
type Option func(*handler)

// WithWrapUp serves /v1/agents/{id}/wrapup/extend and /end.
func WithWrapUp(w WrapUp) Option { return func(h *handler) { h.wrapUp = w } }

// WithPINs serves /v1/agents/{id}/pin.
func WithPINs(p PINs) Option { return func(h *handler) { h.pins = p } }

// WithCallbacks serves /v1/callbacks.
func WithCallbacks(c Callbacks) Option { return func(h *handler) { h.callbacks = c } }

// WithQueues serves /v1/queues.
func WithQueues(q Queues) Option { return func(h *handler) { h.queues = q } }

// Wire shapes shared by the handler and Client.
type (
	agentsResponse struct {
		Agents []AgentStatus `json:"agents"`
	}
	queuesResponse struct {
		Queues []QueueStatus `json:"queues"`
	}
	trailResponse struct {
		ContactID int64       `json:"contact_id"`
		Trail     []TrailStep `json:"trail"`
	}
	notReadyRequest struct {
		Reason string `json:"reason"`
	}
	extendRequest struct {
		Seconds int `json:"seconds"`
	}
	extendResponse struct {
		WrapUpEnds time.Time `json:"wrap_up_ends"`
	}
	pinRequest struct {
		PIN string `json:"pin"`
	}
	errorResponse struct {
		Error string `json:"error"`
	}
)
