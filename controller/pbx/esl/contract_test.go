package esl_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/pbx/esl"
	"github.com/hotline-cc/hotline/controller/pbx/esl/esltest"
	"github.com/hotline-cc/hotline/controller/pbx/pbxtest"
)

const testPassword = "s3cret-test"

// TestContract runs the driver-contract suite against esltest in
// inbound mode (calls parked by the dialplan), with 1,000 concurrent
// calls in ConcurrentCalls.
func TestContract(t *testing.T) {
	t.Setenv("HOTLINE_PBXTEST_CALLS", "1000")
	pbxtest.Run(t, newHarness(t, false))
}

// TestContractOutbound runs the same suite in outbound mode: every call
// reaches hotline through the socket application, over its own
// connection, with 1,000 concurrent calls.
func TestContractOutbound(t *testing.T) {
	t.Setenv("HOTLINE_PBXTEST_CALLS", "1000")
	pbxtest.Run(t, newHarness(t, true))
}

// harness implements pbxtest.Harness on esltest: calls are simulated by
// the server; DropLink cuts the control connection server-side.
type harness struct {
	srv      *esltest.Server
	dir      string
	outbound bool // calls come through the socket application
	drv      *esl.Driver
	// wrap, when set, turns the driver into a deliberately broken one
	// (broken_test.go); breakReplies breaks reply pairing in the client.
	wrap         func(*esl.Driver) pbx.Driver
	breakReplies bool
}

func newHarness(t *testing.T, outbound bool) *harness {
	srv, err := esltest.Start(esltest.Options{Password: testPassword, Heartbeat: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &harness{srv: srv, dir: t.TempDir(), outbound: outbound}
}

func (h *harness) NewDriver(t *testing.T) pbx.Driver {
	cfg := esl.Config{Addr: h.srv.Addr(), Password: testPassword, RecordingDir: h.dir,
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
	if h.outbound {
		cfg.OutboundListen = "127.0.0.1:0"
	}
	d, err := esl.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h.breakReplies {
		esl.BreakReplyPairingForTest(d)
	}
	h.drv = d
	if h.wrap != nil {
		return h.wrap(d)
	}
	return d
}

func (h *harness) PlaceCall(ctx context.Context, t *testing.T, spec pbxtest.CallSpec) pbxtest.Call {
	cs := esltest.CallSpec{Service: spec.Service, Caller: spec.Caller, Keys: spec.Keys,
		KeyDelay: spec.KeyDelay, HangupAfter: spec.HangupAfter}
	if h.outbound {
		addr := h.drv.OutboundAddr()
		if addr == "" {
			t.Fatal("the driver is not listening for outbound sockets")
		}
		cs.Socket = addr + " async full"
	}
	return h.srv.PlaceCall(cs)
}

// DelayReplies implements pbxtest.ReplyDelayer.
func (h *harness) DelayReplies(t *testing.T, d time.Duration) func() {
	h.srv.SetReplyDelay(d)
	return func() { h.srv.SetReplyDelay(0) }
}

func (h *harness) AgentEndpoint(t *testing.T, i int) string { return fmt.Sprintf("user/agent%d", 20-i) }
func (h *harness) DropLink(t *testing.T)                    { h.srv.DropLinks() }
func (h *harness) Prompt() string                           { return "ivr/ivr-welcome" }
func (h *harness) RecordingFile(name pbx.RecordingName, format string) string {
	return filepath.Join(h.dir, string(name)+"."+format)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
