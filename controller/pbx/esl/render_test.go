package esl

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

var update = flag.Bool("update", false, "rewrite testdata/render.golden and testdata/session.golden")

var renderCases = []struct {
	name string
	cmd  pbx.Command
	env  renderEnv
}{
	{"Answer", pbx.Answer{Channel: "6f1c2a9e-0d1b-4a57-9d4e-2b8a1f0c3d11"}, renderEnv{}},
	{"Hangup/default", pbx.Hangup{Channel: "c1"}, renderEnv{}},
	{"Hangup/busy", pbx.Hangup{Channel: "c1", Reason: "busy"}, renderEnv{}},
	{"Hangup/congestion", pbx.Hangup{Channel: "c1", Reason: "congestion"}, renderEnv{}},
	{"Hangup/no_answer", pbx.Hangup{Channel: "c1", Reason: "no_answer"}, renderEnv{}},
	{"Play/one", pbx.Play{Channel: "c1", ID: "pb-1", Media: []string{"sound:ivr/ivr-welcome"}}, renderEnv{}},
	{"Play/many", pbx.Play{Channel: "c1", ID: "pb-2", Media: []string{"sound:hotline/welcome", "digits:12#*", "number:-1045", "silence:2"}}, renderEnv{}},
	{"StopPlayback", pbx.StopPlayback{ID: "pb-1"}, renderEnv{Channel: "c1"}},
	{"StartMOH/default", pbx.StartMOH{Channel: "c1"}, renderEnv{}},
	{"StartMOH/class", pbx.StartMOH{Channel: "c1", Class: "queue-music"}, renderEnv{}},
	{"StopMOH", pbx.StopMOH{Channel: "c1"}, renderEnv{}},
	{"Ring", pbx.Ring{Channel: "c1"}, renderEnv{}},
	{"Originate/minimal", pbx.Originate{ID: "leg-1", Endpoint: "user/agent1"}, renderEnv{JobUUID: "job-1"}},
	{"Originate/full", pbx.Originate{ID: "leg-2", Endpoint: "sofia/internal/7007@10.0.0.5", CallerID: "+8610000", CallerName: "Hotline Q1", Timeout: 1500 * time.Millisecond, Args: []string{"agent", "a7"}}, renderEnv{JobUUID: "job-2"}},
	{"CreateBridge", pbx.CreateBridge{ID: "br-1"}, renderEnv{}},
	{"AddToBridge/first", pbx.AddToBridge{Bridge: "br-1", Channels: []pbx.ChannelID{"c1"}}, renderEnv{}},
	{"AddToBridge/second", pbx.AddToBridge{Bridge: "br-1", Channels: []pbx.ChannelID{"leg-2"}}, renderEnv{Members: []pbx.ChannelID{"c1"}}},
	{"AddToBridge/two", pbx.AddToBridge{Bridge: "br-1", Channels: []pbx.ChannelID{"c1", "leg-2"}}, renderEnv{}},
	{"RemoveFromBridge", pbx.RemoveFromBridge{Bridge: "br-1", Channel: "leg-2"}, renderEnv{}},
	{"DestroyBridge/empty", pbx.DestroyBridge{Bridge: "br-1"}, renderEnv{}},
	{"DestroyBridge/bridged", pbx.DestroyBridge{Bridge: "br-1"}, renderEnv{Members: []pbx.ChannelID{"c1", "leg-2"}}},
	{"RecordBridge/unbounded", pbx.RecordBridge{Bridge: "br-1", Name: "call-1", Format: "wav"}, renderEnv{RecordingDir: "/var/lib/freeswitch/recordings", Members: []pbx.ChannelID{"c1", "leg-2"}}},
	{"RecordBridge/bounded", pbx.RecordBridge{Bridge: "br-1", Name: "call-2", Format: "wav", MaxDuration: 2 * time.Hour}, renderEnv{RecordingDir: "/rec", Members: []pbx.ChannelID{"c1"}}},
	{"StopRecording", pbx.StopRecording{Name: "call-1"}, renderEnv{RecordingDir: "/rec", Channel: "c1", Format: "wav"}},
	{"RecordChannel/hash", pbx.RecordChannel{Channel: "c1", Name: "vm-1", Format: "wav", MaxDuration: 90 * time.Second, MaxSilence: 5 * time.Second, TerminateOn: "#"}, renderEnv{RecordingDir: "/var/lib/freeswitch/recordings"}},
	{"RecordChannel/plain", pbx.RecordChannel{Channel: "c1", Name: "vm-2", Format: "wav", MaxDuration: 1500 * time.Millisecond}, renderEnv{RecordingDir: "/rec"}},
	{"RecordChannel/silence", pbx.RecordChannel{Channel: "c1", Name: "vm-3", Format: "gsm", MaxDuration: 2 * time.Minute, MaxSilence: 2*time.Second + 500*time.Microsecond}, renderEnv{RecordingDir: "/rec"}},
	{"PauseRecording", pbx.PauseRecording{Name: "call-1"}, renderEnv{RecordingDir: "/rec", Channel: "c1", Format: "wav"}},
	{"ResumeRecording", pbx.ResumeRecording{Name: "call-1"}, renderEnv{RecordingDir: "/rec", Channel: "c1", Format: "wav"}},
	{"Hold", pbx.Hold{Channel: "c1"}, renderEnv{}},
	{"Unhold", pbx.Unhold{Channel: "c1"}, renderEnv{}},
	// Over the call's own outbound socket: sendmsg without a UUID.
	{"Outbound/Answer", pbx.Answer{Channel: "c1"}, renderEnv{Outbound: true}},
	{"Outbound/Ring", pbx.Ring{Channel: "c1"}, renderEnv{Outbound: true}},
	{"Outbound/Hangup", pbx.Hangup{Channel: "c1", Reason: "busy"}, renderEnv{Outbound: true}},
	{"Outbound/Play", pbx.Play{Channel: "c1", ID: "pb-3", Media: []string{"digits:7"}}, renderEnv{Outbound: true}},
	{"Outbound/StartMOH", pbx.StartMOH{Channel: "c1"}, renderEnv{Outbound: true}},
}

// TestSessionSetupGolden pins the exact bytes the driver sends to set a
// connection up: the control connection's subscription and filters
// (inbound mode) and an outbound call socket's linger, myevents, event
// and nixevent.
func TestSessionSetupGolden(t *testing.T) {
	var b strings.Builder
	for _, m := range renderControlSetup() {
		fmt.Fprintf(&b, "%-8s %s\n", "control", strconv.Quote(m))
		if err := checkMessage(strings.TrimSuffix(m, "\n\n")); err != nil {
			t.Errorf("control set-up %q fails the framing check: %v", m, err)
		}
	}
	for _, m := range renderCallSetup(callLinger) {
		fmt.Fprintf(&b, "%-8s %s\n", "call", strconv.Quote(m))
		if err := checkMessage(strings.TrimSuffix(m, "\n\n")); err != nil {
			t.Errorf("call set-up %q fails the framing check: %v", m, err)
		}
	}
	golden(t, "session.golden", b.String())
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestRenderGolden pins the exact bytes of every command; each message is
// shown with Go quoting so newlines are visible.
func TestRenderGolden(t *testing.T) {
	var b strings.Builder
	for _, c := range renderCases {
		msgs, err := render(c.cmd, c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(msgs) == 0 {
			fmt.Fprintf(&b, "%-24s (nothing on the wire)\n", c.name)
		}
		for _, m := range msgs {
			fmt.Fprintf(&b, "%-24s %s\n", c.name, strconv.Quote(m))
			if err := checkMessage(strings.TrimSuffix(m, "\n\n")); err != nil {
				t.Errorf("%s: rendered message fails the framing check: %v", c.name, err)
			}
		}
	}
	golden(t, "render.golden", b.String())
}

func TestRenderCoversEveryCommand(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range renderCases {
		seen[fmt.Sprintf("%T", c.cmd)] = true
	}
	for _, c := range []pbx.Command{pbx.Answer{}, pbx.Hangup{}, pbx.Play{}, pbx.StopPlayback{}, pbx.StartMOH{},
		pbx.StopMOH{}, pbx.Ring{}, pbx.Originate{}, pbx.CreateBridge{}, pbx.AddToBridge{},
		pbx.RemoveFromBridge{}, pbx.DestroyBridge{}, pbx.RecordBridge{}, pbx.StopRecording{},
		pbx.RecordChannel{}, pbx.PauseRecording{}, pbx.ResumeRecording{}, pbx.Hold{}, pbx.Unhold{}} {
		if !seen[fmt.Sprintf("%T", c)] {
			t.Errorf("no golden case for %T", c)
		}
	}
}

// TestRenderRejectsInjection: caller-controlled text that would add a
// header, a second command, an originate variable or an application
// never reaches the wire.
func TestRenderRejectsInjection(t *testing.T) {
	bad := []pbx.Command{
		pbx.Answer{Channel: "c1\n\napi shutdown"},
		pbx.Hangup{Channel: "c1\ncall-command: execute"},
		pbx.Play{Channel: "c1", ID: "pb", Media: []string{"sound:x\nexecute-app-name: system"}},
		pbx.Play{Channel: "c1", ID: "pb}system", Media: []string{"sound:x"}},
		pbx.Play{Channel: "c1", ID: "pb", Media: []string{"sound:x!/etc/passwd"}},
		pbx.Play{Channel: "c1", ID: "pb", Media: []string{"sound:../../etc/passwd"}},
		pbx.Originate{ID: "l1", Endpoint: "user/agent1 &system(rm)"},
		pbx.Originate{ID: "l1", Endpoint: "PJSIP/agent1"},
		pbx.Originate{ID: "l1", Endpoint: "user/agent1", CallerName: "O'Brien"},
		pbx.Originate{ID: "l1", Endpoint: "user/agent1", CallerID: "1,execute_on_answer=system"},
		pbx.Originate{ID: "l1", Endpoint: "user/agent1", Args: []string{"a,b=c"}},
		pbx.Originate{ID: "l1", Endpoint: "user/agent1", Args: []string{"a}b"}},
		pbx.StartMOH{Channel: "c1", Class: "x y"},
		pbx.RecordBridge{Bridge: "b", Name: "n/../../x", Format: "wav"},
		pbx.RecordChannel{Channel: "c1", Name: "vm 1 {RECORD_WRITE_ONLY=true}", Format: "wav", MaxDuration: time.Minute},
		pbx.RecordChannel{Channel: "c1 all", Name: "vm", Format: "wav", MaxDuration: time.Minute},
		pbx.RecordChannel{Channel: "c1", Name: "vm", Format: "wav}", MaxDuration: time.Minute},
		pbx.RecordChannel{Channel: "c1", Name: "vm", Format: "wav", MaxDuration: time.Minute, TerminateOn: "1"},
		pbx.AddToBridge{Bridge: "b", Channels: []pbx.ChannelID{"a", "b", "c"}},
	}
	for _, c := range bad {
		msgs, err := render(c, renderEnv{JobUUID: "j", RecordingDir: "/rec", Members: []pbx.ChannelID{"x"}})
		if err == nil {
			t.Errorf("%#v rendered as %q, want an error", c, msgs)
		} else if !errors.Is(err, pbx.ErrInvalid) {
			t.Errorf("%#v: %v, want ErrInvalid", c, err)
		}
	}
}

type strangeCommand struct{}

func (strangeCommand) Validate() error { return nil }

func TestRenderUnknownCommand(t *testing.T) {
	if _, err := render(strangeCommand{}, renderEnv{}); !errors.Is(err, pbx.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}

func TestNumberFiles(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 15: "15", 40: "40", 45: "40 5", 100: "1 hundred",
		1045: "1 thousand 40 5", -3: "minus 3", 2000001: "2 million 1"} {
		var got []string
		for _, f := range numberFiles(n) {
			f = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(f, "digits/"), "currency/"), ".wav")
			got = append(got, f)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("numberFiles(%d) = %v, want %s", n, got, want)
		}
	}
}
