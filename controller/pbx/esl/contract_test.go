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

// TestContract runs the driver-contract suite against esltest, with 1,000
// concurrent calls in ConcurrentCalls.
func TestContract(t *testing.T) {
	t.Setenv("HOTLINE_PBXTEST_CALLS", "1000")
	srv, err := esltest.Start(esltest.Options{Password: testPassword, Heartbeat: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	pbxtest.Run(t, &harness{srv: srv, dir: t.TempDir()})
}

// harness implements pbxtest.Harness on esltest: calls are simulated by
// the server; DropLink cuts the socket server-side.
type harness struct {
	srv *esltest.Server
	dir string
}

func (h *harness) NewDriver(t *testing.T) pbx.Driver {
	d, err := esl.New(esl.Config{Addr: h.srv.Addr(), Password: testPassword, RecordingDir: h.dir,
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (h *harness) PlaceCall(ctx context.Context, t *testing.T, spec pbxtest.CallSpec) pbxtest.Call {
	return h.srv.PlaceCall(esltest.CallSpec{Service: spec.Service, Caller: spec.Caller, Keys: spec.Keys,
		KeyDelay: spec.KeyDelay, HangupAfter: spec.HangupAfter})
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
