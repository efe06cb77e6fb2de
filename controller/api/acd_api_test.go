package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/api"
)

// fakeACD stands in for the ACD and the store behind the wrap-up, PIN and
// callback routes. Agent "1001" is in after-call work; others are not.
type fakeACD struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeACD) record(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }

var wrapEnds = time.Date(2025, 3, 4, 9, 31, 0, 0, time.UTC)

func (f *fakeACD) ExtendWrapUp(ctx context.Context, id string, d time.Duration) (time.Time, error) {
	f.record(fmt.Sprintf("extend %s %s", id, d))
	if id != "1001" {
		return time.Time{}, fmt.Errorf("agent %s is READY, not in after-call work: %w", id, api.ErrConflict)
	}
	return wrapEnds, nil
}

func (f *fakeACD) EndWrapUp(ctx context.Context, id string) error {
	f.record("end " + id)
	if id != "1001" {
		return fmt.Errorf("agent %s is READY, not in after-call work: %w", id, api.ErrConflict)
	}
	return nil
}

func (f *fakeACD) SetPIN(ctx context.Context, id, pin string) error {
	f.record("pin " + id) // never the PIN itself
	if id != "1001" {
		return fmt.Errorf("no agent %s: %w", id, api.ErrNotFound)
	}
	return nil
}

func (f *fakeACD) RequestCallback(ctx context.Context, req api.CallbackRequest) (api.CallbackStatus, error) {
	f.record(fmt.Sprintf("callback %s%s %s %s", req.Queue, req.Service, req.Number, req.Mode))
	if req.Queue == "nope" {
		return api.CallbackStatus{}, fmt.Errorf("queue nope does not exist: %w", api.ErrInvalid)
	}
	return api.CallbackStatus{ID: 12, Queue: "billing", Status: "pending", Position: 3, RequestedAt: since}, nil
}

func (f *fakeACD) Callback(ctx context.Context, id int64) (api.CallbackStatus, error) {
	if id != 12 {
		return api.CallbackStatus{}, fmt.Errorf("no callback %d: %w", id, api.ErrNotFound)
	}
	next := since.Add(5 * time.Minute)
	return api.CallbackStatus{ID: 12, Queue: "billing", Status: "scheduled", Attempts: 1, NextAttemptAt: &next, Outcome: "busy", RequestedAt: since}, nil
}

func newACDServer(t *testing.T) (*httptest.Server, *fakeACD) {
	t.Helper()
	f := &fakeACD{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.New(&fakeAgents{}, fakeTrails{}, "tok", log, api.WithWrapUp(f), api.WithPINs(f), api.WithCallbacks(f)))
	t.Cleanup(srv.Close)
	return srv, f
}

func TestACDRoutes(t *testing.T) {
	srv, f := newACDServer(t)
	tests := []struct {
		method, path, body, token string
		code                      int
		want                      string
	}{
		{"POST", "/v1/agents/1001/wrapup/extend", `{"seconds":30}`, "", 401, `{"error":"missing or wrong bearer token"}`},
		{"POST", "/v1/agents/1001/wrapup/extend", `{"seconds":30}`, "tok", 200, `{"wrap_up_ends":"2025-03-04T09:31:00Z"}`},
		{"POST", "/v1/agents/1001/wrapup/extend", `{"seconds":0}`, "tok", 400, `{"error":"invalid request: seconds must be from 1 to 3600"}`},
		{"POST", "/v1/agents/1001/wrapup/extend", `{"seconds":"x"}`, "tok", 400, `{"error":"invalid request: body: json: cannot unmarshal string into Go struct field extendRequest.seconds of type int"}`},
		{"POST", "/v1/agents/1002/wrapup/extend", `{"seconds":30}`, "tok", 409, `{"error":"agent 1002 wrapup extend: agent 1002 is READY, not in after-call work: illegal state transition"}`},
		{"POST", "/v1/agents/1001/wrapup/end", ``, "", 401, `{"error":"missing or wrong bearer token"}`},
		{"POST", "/v1/agents/1001/wrapup/end", ``, "tok", 204, ``},
		{"POST", "/v1/agents/1002/wrapup/end", ``, "tok", 409, `{"error":"agent 1002 wrapup end: agent 1002 is READY, not in after-call work: illegal state transition"}`},
		{"POST", "/v1/agents/1001/pin", `{"pin":"4821"}`, "", 401, `{"error":"missing or wrong bearer token"}`},
		{"POST", "/v1/agents/1001/pin", `{"pin":"4821"}`, "tok", 204, ``},
		{"POST", "/v1/agents/1001/pin", `{"pin":"48"}`, "tok", 400, `{"error":"invalid request: pin must be 4-8 digits"}`},
		{"POST", "/v1/agents/1001/pin", `{"pin":"12345abc"}`, "tok", 400, `{"error":"invalid request: pin must be 4-8 digits"}`},
		{"POST", "/v1/agents/9999/pin", `{"pin":"4821"}`, "tok", 404, `{"error":"agent 9999 pin: no agent 9999: not found"}`},
		{"POST", "/v1/callbacks", `{"queue":"billing","number":"+8613800000000"}`, "", 401, `{"error":"missing or wrong bearer token"}`},
		{"POST", "/v1/callbacks", `{"queue":"billing","number":"+8613800000000"}`, "tok", 201,
			`{"id":12,"queue":"billing","status":"pending","position":3,"attempts":0,"requested_at":"2025-03-04T09:30:00Z"}`},
		{"POST", "/v1/callbacks", `{"service":"10000","number":"10086","mode":"agent-first"}`, "tok", 201,
			`{"id":12,"queue":"billing","status":"pending","position":3,"attempts":0,"requested_at":"2025-03-04T09:30:00Z"}`},
		{"POST", "/v1/callbacks", `{"queue":"billing","number":"1380000000a"}`, "tok", 400, `{"error":"invalid request: number \"1380000000a\" must be 1-20 digits with an optional leading +"}`},
		{"POST", "/v1/callbacks", `{"queue":"billing","number":"123456789012345678901"}`, "tok", 400, `{"error":"invalid request: number \"123456789012345678901\" must be 1-20 digits with an optional leading +"}`},
		{"POST", "/v1/callbacks", `{"queue":"billing","number":"1;DROP"}`, "tok", 400, `{"error":"invalid request: number \"1;DROP\" must be 1-20 digits with an optional leading +"}`},
		{"POST", "/v1/callbacks", `{"number":"10086"}`, "tok", 400, `{"error":"invalid request: give either queue or service"}`},
		{"POST", "/v1/callbacks", `{"queue":"a","service":"1","number":"10086"}`, "tok", 400, `{"error":"invalid request: give either queue or service"}`},
		{"POST", "/v1/callbacks", `{"queue":"billing","number":"10086","mode":"later"}`, "tok", 400, `{"error":"invalid request: mode \"later\" is not customer-first or agent-first"}`},
		{"POST", "/v1/callbacks", `{"queue":"nope","number":"10086"}`, "tok", 400, `{"error":"callback request: queue nope does not exist: invalid request"}`},
		{"GET", "/v1/callbacks/12", ``, "", 401, `{"error":"missing or wrong bearer token"}`},
		{"GET", "/v1/callbacks/12", ``, "tok", 200,
			`{"id":12,"queue":"billing","status":"scheduled","position":0,"attempts":1,"next_attempt_at":"2025-03-04T09:35:00Z","outcome":"busy","requested_at":"2025-03-04T09:30:00Z"}`},
		{"GET", "/v1/callbacks/13", ``, "tok", 404, `{"error":"callback 13: no callback 13: not found"}`},
		{"GET", "/v1/callbacks/x", ``, "tok", 400, `{"error":"invalid request: callback id \"x\" is not a positive number"}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.body, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
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
				t.Errorf("%d %s, want %d %s", resp.StatusCode, strings.TrimSpace(string(b)), tt.code, tt.want)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if strings.Contains(c, "4821") {
			t.Errorf("the PIN reached a log of calls: %q", c)
		}
	}
}

// Without the options the routes do not exist.
func TestACDRoutesAreOptional(t *testing.T) {
	srv, _ := newServer(t, "")
	resp, err := http.Post(srv.URL+"/v1/callbacks", "application/json", strings.NewReader(`{"queue":"q","number":"1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("POST /v1/callbacks without WithCallbacks: %d", resp.StatusCode)
	}
}

func TestACDClient(t *testing.T) {
	srv, f := newACDServer(t)
	ctx := context.Background()
	c := api.NewClient(srv.URL, "tok")
	ends, err := c.ExtendWrapUp(ctx, "1001", 45*time.Second)
	if err != nil || !ends.Equal(wrapEnds) {
		t.Fatalf("ExtendWrapUp = %v, %v", ends, err)
	}
	if err := c.EndWrapUp(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	if err := c.EndWrapUp(ctx, "1002"); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("EndWrapUp(1002) = %v", err)
	}
	if err := c.SetPIN(ctx, "1001", "4821"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPIN(ctx, "1001", "12"); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("SetPIN short = %v", err)
	}
	st, err := c.RequestCallback(ctx, api.CallbackRequest{Queue: "billing", Number: "+8613800000000"})
	if err != nil || st.ID != 12 || st.Position != 3 || st.Status != "pending" {
		t.Fatalf("RequestCallback = %+v, %v", st, err)
	}
	st, err = c.Callback(ctx, 12)
	if err != nil || st.Status != "scheduled" || st.NextAttemptAt == nil || !st.NextAttemptAt.Equal(since.Add(5*time.Minute)) {
		t.Fatalf("Callback = %+v, %v", st, err)
	}
	if _, err := c.Callback(ctx, 13); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("Callback(13) = %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []string{"extend 1001 45s", "end 1001", "end 1002", "pin 1001", "callback billing +8613800000000 "}
	if fmt.Sprint(f.calls) != fmt.Sprint(want) {
		t.Fatalf("calls %q, want %q", f.calls, want)
	}
}
