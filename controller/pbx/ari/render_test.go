package ari

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

var update = flag.Bool("update", false, "rewrite testdata/render.golden")

// renderCases holds every command type at least once; the golden file
// shows the exact request each becomes.
var renderCases = []struct {
	name string
	cmd  pbx.Command
}{
	{"Answer", pbx.Answer{Channel: "1763896841.17"}},
	{"Hangup/default", pbx.Hangup{Channel: "1763896841.17"}},
	{"Hangup/normal", pbx.Hangup{Channel: "c1", Reason: "normal"}},
	{"Hangup/busy", pbx.Hangup{Channel: "c1", Reason: "busy"}},
	{"Hangup/congestion", pbx.Hangup{Channel: "c1", Reason: "congestion"}},
	{"Hangup/no_answer", pbx.Hangup{Channel: "c1", Reason: "no_answer"}},
	{"Play/one", pbx.Play{Channel: "c1", ID: "pb-1", Media: []string{"sound:hello-world"}}},
	{"Play/many", pbx.Play{Channel: "c1", ID: "pb-2", Media: []string{"sound:hotline/welcome", "digits:12#", "number:-45", "silence:2"}}},
	{"StopPlayback", pbx.StopPlayback{ID: "pb-1"}},
	{"StartMOH/default", pbx.StartMOH{Channel: "c1"}},
	{"StartMOH/class", pbx.StartMOH{Channel: "c1", Class: "queue-music"}},
	{"StopMOH", pbx.StopMOH{Channel: "c1"}},
	{"Ring", pbx.Ring{Channel: "c1"}},
	{"Originate/minimal", pbx.Originate{ID: "leg-1", Endpoint: "PJSIP/agent1"}},
	{"Originate/full", pbx.Originate{ID: "leg-2", Endpoint: "PJSIP/7007@10.0.0.5", CallerID: "+8610000", CallerName: "Hotline Q1", Timeout: 1500 * time.Millisecond, Args: []string{"agent", "a7"}}},
	{"Originate/number-only", pbx.Originate{ID: "leg-3", Endpoint: "PJSIP/agent2", CallerID: "10000", Timeout: 30 * time.Second}},
	{"Originate/e164", pbx.Originate{ID: "leg-4", Endpoint: "PJSIP/+8613800000000@pstn", Timeout: 30 * time.Second, Args: []string{"transfer", "c1"}}},
	{"CreateBridge", pbx.CreateBridge{ID: "br-1"}},
	{"AddToBridge/one", pbx.AddToBridge{Bridge: "br-1", Channels: []pbx.ChannelID{"c1"}}},
	{"AddToBridge/two", pbx.AddToBridge{Bridge: "br-1", Channels: []pbx.ChannelID{"c1", "leg-2"}}},
	{"RemoveFromBridge", pbx.RemoveFromBridge{Bridge: "br-1", Channel: "c1"}},
	{"DestroyBridge", pbx.DestroyBridge{Bridge: "br-1"}},
	{"RecordBridge/unbounded", pbx.RecordBridge{Bridge: "br-1", Name: "call-1", Format: "wav"}},
	{"RecordBridge/bounded", pbx.RecordBridge{Bridge: "br-1", Name: "call-2", Format: "wav", MaxDuration: 2 * time.Hour}},
	{"StopRecording", pbx.StopRecording{Name: "call-1"}},
	{"RecordChannel/hash", pbx.RecordChannel{Channel: "c1", Name: "vm-1", Format: "wav", MaxDuration: 90 * time.Second, MaxSilence: 5 * time.Second, TerminateOn: "#"}},
	{"RecordChannel/plain", pbx.RecordChannel{Channel: "c1", Name: "vm-2", Format: "wav", MaxDuration: 1500 * time.Millisecond}},
	{"PauseRecording", pbx.PauseRecording{Name: "call-1"}},
	{"ResumeRecording", pbx.ResumeRecording{Name: "call-1"}},
	{"Hold", pbx.Hold{Channel: "c1"}},
	{"Unhold", pbx.Unhold{Channel: "c1"}},
}

func TestRenderGolden(t *testing.T) {
	var b strings.Builder
	for _, c := range renderCases {
		if err := c.cmd.Validate(); err != nil {
			t.Fatalf("%s: test command invalid: %v", c.name, err)
		}
		r, err := render(c.cmd, "hotline")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fmt.Fprintf(&b, "%-24s %s\n", c.name, r)
	}
	path := filepath.Join("testdata", "render.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("render output differs from %s\n--- got\n%s--- want\n%s", path, b.String(), want)
	}
}

// TestRenderCoversEveryCommand fails when a command type is added to pbx
// without a golden case here.
func TestRenderCoversEveryCommand(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range renderCases {
		seen[fmt.Sprintf("%T", c.cmd)] = true
	}
	all := []pbx.Command{pbx.Answer{}, pbx.Hangup{}, pbx.Play{}, pbx.StopPlayback{}, pbx.StartMOH{},
		pbx.StopMOH{}, pbx.Ring{}, pbx.Originate{}, pbx.CreateBridge{}, pbx.AddToBridge{},
		pbx.RemoveFromBridge{}, pbx.DestroyBridge{}, pbx.RecordBridge{}, pbx.StopRecording{},
		pbx.RecordChannel{}, pbx.PauseRecording{}, pbx.ResumeRecording{}, pbx.Hold{}, pbx.Unhold{}}
	for _, c := range all {
		if !seen[fmt.Sprintf("%T", c)] {
			t.Errorf("no golden case for %T", c)
		}
	}
}

type strangeCommand struct{}

func (strangeCommand) Validate() error { return nil }

func TestRenderUnknownCommand(t *testing.T) {
	if _, err := render(strangeCommand{}, "hotline"); !errors.Is(err, pbx.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}
