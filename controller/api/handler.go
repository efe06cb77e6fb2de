package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hotline-cc/hotline/controller/acd"
)

// maxBody bounds request bodies; the largest legitimate one is a reason.
const maxBody = 4 << 10

// maxReason bounds a not-ready reason.
const maxReason = 64

var reAgentID = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// maxExtend bounds one after-call work extension request; the queue's
// own limit is usually much lower.
const maxExtend = 3600

var (
	rePIN           = regexp.MustCompile(`^[0-9]{4,8}$`)
	reServiceNumber = regexp.MustCompile(`^\+?[A-Za-z0-9._*#-]{1,32}$`)
	reQueueID       = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

type handler struct {
	agents    Agents
	trails    Trails
	wrapUp    WrapUp
	pins      PINs
	callbacks Callbacks
	queues    Queues
	token     [sha256.Size]byte // hash of the bearer token, when set
	open      bool              // no token: /v1 is not authenticated
	log       *slog.Logger
	mux       *http.ServeMux
}

// New returns the API handler. With an empty token /v1 is served without
// authentication; whether that is acceptable (development only) is for
// the caller to decide.
func New(agents Agents, trails Trails, token string, log *slog.Logger, opts ...Option) http.Handler {
	h := &handler{agents: agents, trails: trails, open: token == "", log: log, mux: http.NewServeMux()}
	h.token = sha256.Sum256([]byte(token))
	for _, o := range opts {
		o(h)
	}

	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.Handle("GET /v1/agents", h.auth(h.listAgents))
	h.mux.Handle("POST /v1/agents/{id}/login", h.auth(h.agentAction("login", agents.Login)))
	h.mux.Handle("POST /v1/agents/{id}/ready", h.auth(h.agentAction("ready", agents.Ready)))
	h.mux.Handle("POST /v1/agents/{id}/logout", h.auth(h.agentAction("logout", agents.Logout)))
	h.mux.Handle("POST /v1/agents/{id}/notready", h.auth(h.notReady))
	h.mux.Handle("GET /v1/contacts/{id}/trail", h.auth(h.trail))
	if h.wrapUp != nil {
		h.mux.Handle("POST /v1/agents/{id}/wrapup/extend", h.auth(h.extendWrapUp))
		h.mux.Handle("POST /v1/agents/{id}/wrapup/end", h.auth(h.agentAction("wrapup end", h.wrapUp.EndWrapUp)))
	}
	if h.pins != nil {
		h.mux.Handle("POST /v1/agents/{id}/pin", h.auth(h.setPIN))
	}
	if h.queues != nil {
		h.mux.Handle("GET /v1/queues", h.auth(h.listQueues))
	}
	if h.callbacks != nil {
		h.mux.Handle("POST /v1/callbacks", h.auth(h.requestCallback))
		h.mux.Handle("GET /v1/callbacks/{id}", h.auth(h.getCallback))
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		// No route: the mux answers 404 or 405 (with Allow) in plain
		// text; keep its status and headers, answer in JSON.
		h.mux.ServeHTTP(&jsonStatusWriter{ResponseWriter: w}, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// jsonStatusWriter turns the mux's plain-text 404/405 answers into JSON
// errors.
type jsonStatusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *jsonStatusWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.Header().Del("X-Content-Type-Options")
	writeJSON(w.ResponseWriter, code, errorResponse{Error: strings.ToLower(http.StatusText(code))})
}

func (w *jsonStatusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return len(b), nil // the mux's text body is replaced by the JSON above
}

func (h *handler) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.open {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
			if !ok || subtle.ConstantTimeCompare(sum[:], h.token[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="hotline"`)
				writeJSON(w, http.StatusUnauthorized, errorResponse{Error: "missing or wrong bearer token"})
				return
			}
		}
		next(w, r)
	})
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *handler) listAgents(w http.ResponseWriter, r *http.Request) {
	as, err := h.agents.ListAgents(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if as == nil {
		as = []AgentStatus{}
	}
	writeJSON(w, http.StatusOK, agentsResponse{Agents: as})
}

func (h *handler) listQueues(w http.ResponseWriter, r *http.Request) {
	qs, err := h.queues.Queues(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if qs == nil {
		qs = []QueueStatus{}
	}
	writeJSON(w, http.StatusOK, queuesResponse{Queues: qs})
}

func (h *handler) agentAction(name string, do func(ctx context.Context, id string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := h.agentID(w, r)
		if !ok {
			return
		}
		if err := do(r.Context(), id); err != nil {
			h.fail(w, r, fmt.Errorf("agent %s %s: %w", id, name, err))
			return
		}
		h.log.Debug("api agent action", "agent", id, "action", name)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *handler) notReady(w http.ResponseWriter, r *http.Request) {
	id, ok := h.agentID(w, r)
	if !ok {
		return
	}
	var req notReadyRequest
	if !h.decode(w, r, &req) {
		return
	}
	if len(req.Reason) > maxReason || strings.IndexFunc(req.Reason, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0 {
		h.fail(w, r, fmt.Errorf("%w: reason must be at most %d printable characters", ErrInvalid, maxReason))
		return
	}
	reason, err := acd.ParseReason(req.Reason)
	if err != nil {
		h.fail(w, r, fmt.Errorf("%w: reason: %v", ErrInvalid, err))
		return
	}
	req.Reason = reason.Name
	if err := h.agents.NotReady(r.Context(), id, req.Reason); err != nil {
		h.fail(w, r, fmt.Errorf("agent %s notready: %w", id, err))
		return
	}
	h.log.Debug("api agent action", "agent", id, "action", "notready", "reason", req.Reason)
	w.WriteHeader(http.StatusNoContent)
}

// decode reads a JSON body strictly into v; an empty body leaves v as
// it is.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		h.fail(w, r, fmt.Errorf("%w: body: %v", ErrInvalid, err))
		return false
	}
	return true
}

func (h *handler) extendWrapUp(w http.ResponseWriter, r *http.Request) {
	id, ok := h.agentID(w, r)
	if !ok {
		return
	}
	var req extendRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.Seconds < 1 || req.Seconds > maxExtend {
		h.fail(w, r, fmt.Errorf("%w: seconds must be from 1 to %d", ErrInvalid, maxExtend))
		return
	}
	ends, err := h.wrapUp.ExtendWrapUp(r.Context(), id, time.Duration(req.Seconds)*time.Second)
	if err != nil {
		h.fail(w, r, fmt.Errorf("agent %s wrapup extend: %w", id, err))
		return
	}
	h.log.Debug("api agent action", "agent", id, "action", "wrapup extend", "seconds", req.Seconds)
	writeJSON(w, http.StatusOK, extendResponse{WrapUpEnds: ends})
}

func (h *handler) setPIN(w http.ResponseWriter, r *http.Request) {
	id, ok := h.agentID(w, r)
	if !ok {
		return
	}
	var req pinRequest
	if !h.decode(w, r, &req) {
		return
	}
	if !rePIN.MatchString(req.PIN) {
		h.fail(w, r, fmt.Errorf("%w: pin must be 4-8 digits", ErrInvalid))
		return
	}
	if err := h.pins.SetPIN(r.Context(), id, req.PIN); err != nil {
		h.fail(w, r, fmt.Errorf("agent %s pin: %w", id, err))
		return
	}
	h.log.Info("agent PIN set", "agent", id) // never the PIN
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) requestCallback(w http.ResponseWriter, r *http.Request) {
	var req CallbackRequest
	if !h.decode(w, r, &req) {
		return
	}
	switch {
	case (req.Queue == "") == (req.Service == ""):
		h.fail(w, r, fmt.Errorf("%w: give either queue or service", ErrInvalid))
		return
	case req.Queue != "" && !reQueueID.MatchString(req.Queue):
		h.fail(w, r, fmt.Errorf("%w: queue %q (letters, digits, . _ -)", ErrInvalid, req.Queue))
		return
	case req.Service != "" && !reServiceNumber.MatchString(req.Service):
		h.fail(w, r, fmt.Errorf("%w: service %q is not a service number", ErrInvalid, req.Service))
		return
	case !acd.ValidCallbackNumber(req.Number):
		h.fail(w, r, fmt.Errorf("%w: number %q must be 1-20 digits with an optional leading +", ErrInvalid, req.Number))
		return
	case req.Mode != "" && req.Mode != string(acd.CustomerFirst) && req.Mode != string(acd.AgentFirst):
		h.fail(w, r, fmt.Errorf("%w: mode %q is not %s or %s", ErrInvalid, req.Mode, acd.CustomerFirst, acd.AgentFirst))
		return
	}
	st, err := h.callbacks.RequestCallback(r.Context(), req)
	if err != nil {
		h.fail(w, r, fmt.Errorf("callback request: %w", err))
		return
	}
	h.log.Info("callback requested", "callback", st.ID, "queue", st.Queue, "position", st.Position)
	writeJSON(w, http.StatusCreated, st)
}

func (h *handler) getCallback(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(w, r, fmt.Errorf("%w: callback id %q is not a positive number", ErrInvalid, r.PathValue("id")))
		return
	}
	st, err := h.callbacks.Callback(r.Context(), id)
	if err != nil {
		h.fail(w, r, fmt.Errorf("callback %d: %w", id, err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) trail(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(w, r, fmt.Errorf("%w: contact id %q is not a positive number", ErrInvalid, r.PathValue("id")))
		return
	}
	steps, err := h.trails.Trail(r.Context(), id)
	if err != nil {
		h.fail(w, r, fmt.Errorf("contact %d trail: %w", id, err))
		return
	}
	if steps == nil {
		steps = []TrailStep{}
	}
	writeJSON(w, http.StatusOK, trailResponse{ContactID: id, Trail: steps})
}

func (h *handler) agentID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !reAgentID.MatchString(id) {
		h.fail(w, r, fmt.Errorf("%w: agent id %q (letters, digits, . _ -)", ErrInvalid, id))
		return "", false
	}
	return id, true
}

// fail answers with the status the error's sentinel calls for. Client
// errors carry their message; server errors are logged and answered
// with a generic message.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := StatusOf(err)
	msg := err.Error()
	if code >= 500 {
		h.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
		if code == http.StatusServiceUnavailable {
			msg = "service unavailable"
		}
	}
	writeJSON(w, code, errorResponse{Error: msg})
}

// StatusOf maps an error to the HTTP status the API answers it with.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
