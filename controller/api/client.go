package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls hotline's API; `hotline agent ...` uses it. Its errors wrap
// ErrNotFound, ErrInvalid and ErrConflict like the server's.
type Client struct {
	base  string
	token string
	// HTTP is the client used for requests; NewClient sets one with a
	// 10 s timeout.
	HTTP *http.Client
}

var (
	_ Agents    = (*Client)(nil)
	_ Trails    = (*Client)(nil)
	_ WrapUp    = (*Client)(nil)
	_ PINs      = (*Client)(nil)
	_ Callbacks = (*Client)(nil)
)

// NewClient returns a client for the API at baseURL ("http://host:port";
// a bare "host:port" means http). token may be empty.
func NewClient(baseURL, token string) *Client {
	if !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL
	}
	return &Client{
		base:  strings.TrimRight(baseURL, "/"),
		token: token,
		HTTP:  &http.Client{Timeout: 10 * time.Second},
	}
}

// ListAgents returns every agent with its state.
func (c *Client) ListAgents(ctx context.Context) ([]AgentStatus, error) {
	var resp agentsResponse
	if err := c.do(ctx, http.MethodGet, "/v1/agents", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Agents, nil
}

// Queues reports every queue's live state.
func (c *Client) Queues(ctx context.Context) ([]QueueStatus, error) {
	var resp queuesResponse
	if err := c.do(ctx, http.MethodGet, "/v1/queues", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Queues, nil
}

// Login logs agent id in.
func (c *Client) Login(ctx context.Context, id string) error { return c.action(ctx, id, "login", nil) }

// Ready makes agent id ready for calls.
func (c *Client) Ready(ctx context.Context, id string) error { return c.action(ctx, id, "ready", nil) }

// NotReady makes agent id not ready, for reason.
func (c *Client) NotReady(ctx context.Context, id, reason string) error {
	return c.action(ctx, id, "notready", notReadyRequest{Reason: reason})
}

// Logout logs agent id out.
func (c *Client) Logout(ctx context.Context, id string) error {
	return c.action(ctx, id, "logout", nil)
}

// ExtendWrapUp adds d (whole seconds) to agent id's after-call work and
// returns when it now ends.
func (c *Client) ExtendWrapUp(ctx context.Context, id string, d time.Duration) (time.Time, error) {
	var resp extendResponse
	if err := c.do(ctx, http.MethodPost, "/v1/agents/"+url.PathEscape(id)+"/wrapup/extend", extendRequest{Seconds: int(d / time.Second)}, &resp); err != nil {
		return time.Time{}, err
	}
	return resp.WrapUpEnds, nil
}

// EndWrapUp ends agent id's after-call work now.
func (c *Client) EndWrapUp(ctx context.Context, id string) error {
	return c.action(ctx, id, "wrapup/end", nil)
}

// SetPIN sets agent id's phone login PIN (4-8 digits).
func (c *Client) SetPIN(ctx context.Context, id, pin string) error {
	return c.action(ctx, id, "pin", pinRequest{PIN: pin})
}

// RequestCallback asks for a callback and returns it with its place in line.
func (c *Client) RequestCallback(ctx context.Context, req CallbackRequest) (CallbackStatus, error) {
	var st CallbackStatus
	err := c.do(ctx, http.MethodPost, "/v1/callbacks", req, &st)
	return st, err
}

// Callback reports callback id.
func (c *Client) Callback(ctx context.Context, id int64) (CallbackStatus, error) {
	var st CallbackStatus
	err := c.do(ctx, http.MethodGet, "/v1/callbacks/"+strconv.FormatInt(id, 10), nil, &st)
	return st, err
}

// Trail returns a contact's IVR trail.
func (c *Client) Trail(ctx context.Context, contactID int64) ([]TrailStep, error) {
	var resp trailResponse
	if err := c.do(ctx, http.MethodGet, "/v1/contacts/"+strconv.FormatInt(contactID, 10)+"/trail", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Trail, nil
}

func (c *Client) action(ctx context.Context, id, what string, body any) error {
	return c.do(ctx, http.MethodPost, "/v1/agents/"+url.PathEscape(id)+"/"+what, body, nil)
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("api: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("api: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("api: %s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var er errorResponse
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &er) == nil && er.Error != "" {
			msg = er.Error
		}
		if msg == "" {
			msg = resp.Status
		}
		e := &StatusError{Code: resp.StatusCode, Msg: msg}
		switch resp.StatusCode {
		case http.StatusNotFound:
			e.sentinel = ErrNotFound
		case http.StatusBadRequest:
			e.sentinel = ErrInvalid
		case http.StatusConflict:
			e.sentinel = ErrConflict
		case http.StatusUnauthorized:
			e.sentinel = ErrUnauthorized
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("api: %s %s: decode response: %w", method, path, err)
		}
	}
	return nil
}

// StatusError is an error answer from the API. It wraps ErrNotFound,
// ErrInvalid, ErrConflict or ErrUnauthorized according to its status.
type StatusError struct {
	Code     int    // HTTP status
	Msg      string // the server's message
	sentinel error
}

func (e *StatusError) Error() string {
	if e.Code == http.StatusUnauthorized || e.Code >= 500 {
		return fmt.Sprintf("api: %d %s", e.Code, e.Msg)
	}
	return e.Msg
}

func (e *StatusError) Unwrap() error { return e.sentinel }
