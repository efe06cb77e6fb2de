package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/api"
)

// fakeACDAPI stands in for the ACD's wrap-up and the store's PINs behind
// a real api handler.
type fakeACDAPI struct{ calls []string }

func (f *fakeACDAPI) ExtendWrapUp(_ context.Context, id string, d time.Duration) (time.Time, error) {
	f.calls = append(f.calls, fmt.Sprintf("extend %s %s", id, d))
	return time.Date(2025, 3, 4, 10, 3, 0, 0, time.Local), nil
}

func (f *fakeACDAPI) EndWrapUp(_ context.Context, id string) error {
	f.calls = append(f.calls, "end "+id)
	if id == "9" {
		return fmt.Errorf("agent 9 is READY, not in after-call work: %w", api.ErrConflict)
	}
	return nil
}

func (f *fakeACDAPI) SetPIN(_ context.Context, id, pin string) error {
	f.calls = append(f.calls, "pin "+id+" "+pin)
	return nil
}

func runWithStdin(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	g := &globals{getenv: func(k string) string { return env[k] }, now: time.Now}
	root := newRoot(g)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, root, args, &errb)
	return code, out.String(), errb.String()
}

func TestAgentWrapUpPINAndReasonCommands(t *testing.T) {
	f := &fakeACDAPI{}
	agents := &fakeAgents{}
	srv := httptest.NewServer(api.New(agents, nil, "tok", slog.New(slog.NewTextHandler(io.Discard, nil)), api.WithWrapUp(f), api.WithPINs(f)))
	defer srv.Close()
	env := map[string]string{"HOTLINE_API_TOKEN": "tok"}
	for _, tt := range []struct {
		stdin string
		args  []string
		code  int
		out   string
		err   string
	}{
		{"", []string{"wrapup", "extend", "1001", "--seconds", "45"}, 0, "after-call work now ends at 10:03:00\nagent 1001 has more after-call work\n", ""},
		{"", []string{"wrapup", "extend", "1001", "--seconds", "0"}, 1, "", "hotline: --seconds: 0 must be at least 1"},
		{"", []string{"wrapup", "end", "1001"}, 0, "agent 1001 has ended after-call work\n", ""},
		{"", []string{"wrapup", "end", "9"}, 1, "", "hotline: agent 9 wrapup end: agent 9 is READY, not in after-call work: illegal state transition"},
		{"4821\n", []string{"pin", "set", "1001"}, 0, "agent 1001 has a new PIN\n", ""},
		{"", []string{"pin", "set", "1002", "--pin", "99887766"}, 0, "agent 1002 has a new PIN\n", ""},
		{"12\n", []string{"pin", "set", "1001"}, 1, "", "hotline: the PIN must be 4-8 digits"},
		{"", []string{"pin", "set", "1001"}, 1, "", "hotline: the PIN must be 4-8 digits"},
		{"", []string{"notready", "1001", "--reason", "2"}, 0, "agent 1001 is not ready\n", ""},
		{"", []string{"notready", "1001", "--reason", "lunch"}, 1, "",
			`hotline: --reason: unknown not-ready reason "lunch" (one of: 1 meal, 2 meeting, 3 training, 4 break, 5 after-call paperwork)`},
	} {
		code, out, stderr := runWithStdin(t, env, tt.stdin, append([]string{"agent", "--api", srv.URL}, tt.args...)...)
		if code != tt.code || out != tt.out || strings.TrimSpace(stderr) != tt.err {
			t.Errorf("%v: exit %d, out %q, stderr %q; want %d %q %q", tt.args, code, out, stderr, tt.code, tt.out, tt.err)
		}
	}
	if got, want := strings.Join(f.calls, ","), "extend 1001 45s,end 1001,end 9,pin 1001 4821,pin 1002 99887766"; got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
	if got := strings.Join(agents.calls, ","); got != "notready(meeting) 1001" {
		t.Errorf("agent calls %s", got)
	}
}

type fakeQueues []api.QueueStatus

func (f fakeQueues) Queues(context.Context) ([]api.QueueStatus, error) { return f, nil }

// acd queues prints each queue's line, waits and agents by state, "-"
// for a wait that cannot be estimated.
func TestACDQueuesCommand(t *testing.T) {
	ewt, sl := int64(372), 330.0/412
	qs := fakeQueues{
		{ID: "billing", Waiting: 7, Callbacks: 2, LongestWaitSeconds: 415, EWTSeconds: &ewt, Agents: map[string]int{"READY": 0, "ON_CALL": 12, "AFTER_CALL_WORK": 3, "NOT_READY": 1},
			Today: api.QueueToday{Offered: 412, Answered: 371, AnsweredWithin: 330, Abandoned: 38, ServiceLevelWithinSeconds: 20, ServiceLevel: &sl}},
		{ID: "vip", Agents: map[string]int{"NOT_READY": 2}, Today: api.QueueToday{ServiceLevelWithinSeconds: 15}},
	}
	srv := httptest.NewServer(api.New(&fakeAgents{}, nil, "tok", slog.New(slog.NewTextHandler(io.Discard, nil)), api.WithQueues(qs)))
	defer srv.Close()
	code, out, errs := runWithStdin(t, map[string]string{"HOTLINE_API_TOKEN": "tok"}, "", "acd", "queues", "--api", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := `QUEUE    WAITING  CALLBACKS  LONGEST  EWT    READY  RESERVED  RINGING  ON_CALL  ON_HOLD  AFTER_CALL_WORK  NOT_READY  OFFERED  ANSWERED  ABANDONED  SERVICE LEVEL
billing  7        2          6m55s    6m12s  0      0         0        12       0        3                1          412      371       38         80% in 20s
vip      0        0          0s       -      0      0         0        0        0        0                2          0        0         0          -
`
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
	if code, _, errs := runWithStdin(t, nil, "", "acd", "queues", "--api", srv.URL); code == 0 || !strings.Contains(errs, "HOTLINE_API_TOKEN") {
		t.Fatalf("without the token: exit %d, %q; want a failure naming HOTLINE_API_TOKEN", code, errs)
	}
}
