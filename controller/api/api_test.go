package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/api"
)

// fakeAgents stands in for the ACD: this is a unit test of the HTTP layer.
// Agent "1001" exists; "busy" refuses every transition; "boom" fails.
type fakeAgents struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeAgents) record(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }

func (f *fakeAgents) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

var since = time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)

func (f *fakeAgents) ListAgents(ctx context.Context) ([]api.AgentStatus, error) {
	return []api.AgentStatus{
		{ID: "1001", Name: "Agent One", Endpoint: "PJSIP/agent1", State: "READY", Since: since, CallsToday: 3},
		{ID: "1002", Name: "Agent Two", Endpoint: "PJSIP/agent2", State: "NOT_READY", Reason: "meal", Since: since},
	}, nil
}

func (f *fakeAgents) act(id, what string) error {
	f.record(what + " " + id)
	switch id {
	case "1001":
		return nil
	case "busy":
		return fmt.Errorf("agent busy is ON_CALL: %w", api.ErrConflict)
	case "boom":
		return errors.New("database on fire")
	case "bad":
		return fmt.Errorf("reason code unknown: %w", api.ErrInvalid)
	}
	return fmt.Errorf("no agent %s: %w", id, api.ErrNotFound)
}

func (f *fakeAgents) Login(ctx context.Context, id string) error { return f.act(id, "login") }
func (f *fakeAgents) Ready(ctx context.Context, id string) error { return f.act(id, "ready") }
func (f *fakeAgents) Logout(ctx context.Context, id string) error {
	return f.act(id, "logout")
}
func (f *fakeAgents) NotReady(ctx context.Context, id, reason string) error {
	return f.act(id, "notready("+reason+")")
}

type fakeTrails struct{}

func (fakeTrails) Trail(ctx context.Context, id int64) ([]api.TrailStep, error) {
	switch id {
	case 7:
		return []api.TrailStep{
			{Seq: 1, At: since, Node: "main", Kind: "prompt", Detail: "welcome"},
			{Seq: 2, At: since.Add(time.Second), Node: "main", Kind: "digit", Detail: "1"},
		}, nil
	case 8:
		return nil, nil
	}
	return nil, fmt.Errorf("contact %d: %w", id, api.ErrNotFound)
}

func newServer(t *testing.T, token string) (*httptest.Server, *fakeAgents) {
	t.Helper()
	f := &fakeAgents{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.New(f, fakeTrails{}, token, log))
	t.Cleanup(srv.Close)
	return srv, f
}

func TestRoutes(t *testing.T) {
	srv, f := newServer(t, "tok")
	tests := []struct {
		method, path, body, token string
		code                      int
		want                      string // exact body ("" for none)
	}{
		{"GET", "/healthz", "", "", 200, `{"status":"ok"}`},
		{"GET", "/v1/agents", "", "", 401, `{"error":"missing or wrong bearer token"}`},
		{"GET", "/v1/agents", "", "wrong", 401, `{"error":"missing or wrong bearer token"}`},
		{"GET", "/v1/agents", "", "tok", 200, `{"agents":[` +
			`{"id":"1001","name":"Agent One","endpoint":"PJSIP/agent1","state":"READY","since":"2025-03-04T09:30:00Z","calls_today":3},` +
			`{"id":"1002","name":"Agent Two","endpoint":"PJSIP/agent2","state":"NOT_READY","reason":"meal","since":"2025-03-04T09:30:00Z","calls_today":0}]}`},
		{"POST", "/v1/agents/1001/login", "", "tok", 204, ""},
		{"POST", "/v1/agents/1001/ready", "", "tok", 204, ""},
		{"POST", "/v1/agents/1001/notready", `{"reason":"meal"}`, "tok", 204, ""},
		{"POST", "/v1/agents/1001/notready", ``, "tok", 400, `{"error":"invalid request: reason: unknown not-ready reason \"\" (one of: 1 meal, 2 meeting, 3 training, 4 break, 5 after-call paperwork)"}`},
		{"POST", "/v1/agents/1001/notready", `{"reason":"lunch"}`, "tok", 400, `{"error":"invalid request: reason: unknown not-ready reason \"lunch\" (one of: 1 meal, 2 meeting, 3 training, 4 break, 5 after-call paperwork)"}`},
		{"POST", "/v1/agents/1001/notready", `{"reason":"4"}`, "tok", 204, ""},
		{"POST", "/v1/agents/1001/logout", "", "tok", 204, ""},
		{"POST", "/v1/agents/9999/login", "", "tok", 404, `{"error":"agent 9999 login: no agent 9999: not found"}`},
		{"POST", "/v1/agents/busy/ready", "", "tok", 409, `{"error":"agent busy ready: agent busy is ON_CALL: illegal state transition"}`},
		{"POST", "/v1/agents/bad/notready", `{"reason":"meal"}`, "tok", 400, `{"error":"agent bad notready: reason code unknown: invalid request"}`},
		{"POST", "/v1/agents/boom/logout", "", "tok", 500, `{"error":"internal error"}`},
		{"POST", "/v1/agents/1001/notready", `{"reason":"meal","x":1}`, "tok", 400, `{"error":"invalid request: body: json: unknown field \"x\""}`},
		{"POST", "/v1/agents/1001/notready", `{"reason":"` + strings.Repeat("a", 65) + `"}`, "tok", 400, `{"error":"invalid request: reason must be at most 64 printable characters"}`},
		{"POST", "/v1/agents/1001/notready", `{"reason":"a\nb"}`, "tok", 400, `{"error":"invalid request: reason must be at most 64 printable characters"}`},
		{"POST", "/v1/agents/a%20b/login", "", "tok", 400, `{"error":"invalid request: agent id \"a b\" (letters, digits, . _ -)"}`},
		{"GET", "/v1/contacts/7/trail", "", "tok", 200, `{"contact_id":7,"trail":[` +
			`{"seq":1,"at":"2025-03-04T09:30:00Z","node":"main","kind":"prompt","detail":"welcome"},` +
			`{"seq":2,"at":"2025-03-04T09:30:01Z","node":"main","kind":"digit","detail":"1"}]}`},
		{"GET", "/v1/contacts/8/trail", "", "tok", 200, `{"contact_id":8,"trail":[]}`},
		{"GET", "/v1/contacts/9/trail", "", "tok", 404, `{"error":"contact 9 trail: contact 9: not found"}`},
		{"GET", "/v1/contacts/x/trail", "", "tok", 400, `{"error":"invalid request: contact id \"x\" is not a positive number"}`},
		{"GET", "/v1/contacts/-1/trail", "", "tok", 400, `{"error":"invalid request: contact id \"-1\" is not a positive number"}`},
		{"GET", "/v1/nothing", "", "tok", 404, `{"error":"not found"}`},
		{"GET", "/v1/agents/1001/login", "", "tok", 405, `{"error":"method not allowed"}`},
		{"DELETE", "/v1/agents", "", "tok", 405, `{"error":"method not allowed"}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || strings.TrimSpace(string(b)) != tt.want {
				t.Errorf("got %d %s\nwant %d %s", resp.StatusCode, b, tt.code, tt.want)
			}
			if tt.want != "" && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if resp.StatusCode == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	want := []string{"login 1001", "ready 1001", "notready(meal) 1001", "notready(break) 1001", "logout 1001",
		"login 9999", "ready busy", "notready(meal) bad", "logout boom"}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls reaching Agents:\n got %q\nwant %q", got, want)
	}
}

func TestNoTokenIsOpen(t *testing.T) {
	srv, _ := newServer(t, "")
	resp, err := http.Get(srv.URL + "/v1/agents")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d, want 200 with no token configured", resp.StatusCode)
	}
}

func TestClient(t *testing.T) {
	srv, f := newServer(t, "tok")
	ctx := context.Background()
	c := api.NewClient(strings.TrimPrefix(srv.URL, "http://"), "tok") // bare host:port

	as, err := c.ListAgents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 || as[1].Reason != "meal" || !as[0].Since.Equal(since) || as[0].CallsToday != 3 {
		t.Errorf("ListAgents = %+v", as)
	}
	for _, step := range []func() error{
		func() error { return c.Login(ctx, "1001") },
		func() error { return c.Ready(ctx, "1001") },
		func() error { return c.NotReady(ctx, "1001", "meal") },
		func() error { return c.Logout(ctx, "1001") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.Calls(); !slices.Equal(got, []string{"login 1001", "ready 1001", "notready(meal) 1001", "logout 1001"}) {
		t.Errorf("calls %q", got)
	}
	steps, err := c.Trail(ctx, 7)
	if err != nil || len(steps) != 2 || steps[1].Detail != "1" {
		t.Errorf("Trail = %+v, %v", steps, err)
	}

	for _, tt := range []struct {
		err  error
		want error
		msg  string
	}{
		{c.Login(ctx, "9999"), api.ErrNotFound, "agent 9999 login: no agent 9999: not found"},
		{c.Ready(ctx, "busy"), api.ErrConflict, "agent busy ready: agent busy is ON_CALL: illegal state transition"},
		{c.NotReady(ctx, "bad", "meal"), api.ErrInvalid, "agent bad notready: reason code unknown: invalid request"},
		{func() error { _, err := c.Trail(ctx, 9); return err }(), api.ErrNotFound, "contact 9 trail: contact 9: not found"},
		{func() error { _, err := api.NewClient(srv.URL, "nope").ListAgents(ctx); return err }(), api.ErrUnauthorized, "api: 401 missing or wrong bearer token"},
		{c.Logout(ctx, "boom"), nil, "api: 500 internal error"},
	} {
		if tt.err == nil || (tt.want != nil && !errors.Is(tt.err, tt.want)) || tt.err.Error() != tt.msg {
			t.Errorf("error %v, want %q wrapping %v", tt.err, tt.msg, tt.want)
		}
		var se *api.StatusError
		if !errors.As(tt.err, &se) {
			t.Errorf("%v is not a *StatusError", tt.err)
		}
	}
}
