package sipp

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCallOverLoopback places a real SIP call from the caller scenario to
// the agent scenario on 127.0.0.1 (no Asterisk involved): INVITE, ringing,
// answer with SDP, RTP audio, RFC 4733 DTMF, and a BYE from either side.
func TestCallOverLoopback(t *testing.T) {
	cases := []struct {
		name     string
		uas      string
		vars     map[string]string
		hold     string // caller's hold ms after the keys; 0: wait for BYE
		callerBy string // how the caller's call ends
		agentBy  string // how the agent's call ends
	}{
		{"caller hangs up", "agent-uas.xml", map[string]string{"ring_ms": "300"}, "2500", "near-bye", "far-bye"},
		{"agent hangs up", "agent-uas-hangup.xml", map[string]string{"ring_ms": "200", "hangup_ms": "4000"}, "0", "far-bye", "near-bye"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			agent, err := Start(ctx, Options{
				Scenario: tc.uas,
				Vars:     tc.vars,
				Timeout:  40 * time.Second,
				Dir:      t.TempDir(),
			})
			if err != nil {
				t.Fatal(err)
			}
			caller, err := Run(ctx, Options{
				Scenario:       "caller-uac.xml",
				Target:         "127.0.0.1:" + itoa(agent.LocalPort),
				Service:        "10000",
				Calls:          1,
				CSV:            [][]string{{"13800138000", "0", "300", "12", "1500", "", "0", tc.hold}},
				Timeout:        30 * time.Second,
				TimeoutIsError: true,
				Dir:            t.TempDir(),
			})
			if err != nil {
				t.Fatal(err)
			}
			if caller.Successful != 1 || caller.Failed != 0 || caller.ExitCode != 0 {
				t.Errorf("caller: %s\n%s", caller.Summary(), caller.Errors())
			}
			if caller.Events["answered"] != 1 || caller.Events["keys"] != 2 || caller.Events[tc.callerBy] != 1 {
				t.Errorf("caller events: %s", caller.Summary())
			}
			res, err := agent.Stop(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res.Successful != 1 || res.Failed != 0 {
				t.Errorf("agent: %s\n%s", res.Summary(), res.Errors())
			}
			if res.Events["answered"] != 1 || res.Events[tc.agentBy] != 1 {
				t.Errorf("agent events: %s", res.Summary())
			}
		})
	}
}

func itoa(i int) string {
	return strconv.Itoa(i)
}

// Every phone scenario in sipp/ loads and listens: SIPp refuses a
// scenario with a mistake in it (a variable declared but used once) by
// exiting at once, and a phone that is not there would pass for one that
// never answers.
func TestEveryPhoneScenarioStarts(t *testing.T) {
	dir, err := ScenarioDir()
	if err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*-uas*.xml"))
	if err != nil || len(names) < 5 {
		t.Fatalf("phone scenarios %v, %v", names, err)
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			p, err := Start(context.Background(), Options{Scenario: filepath.Base(name), Timeout: 20 * time.Second, Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Stop(2 * time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Start reports a scenario SIPp refuses instead of handing back a process
// that has already exited.
func TestStartRefusesABrokenScenario(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.xml")
	scenario := `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="declares a variable it never uses">
  <Global variables="unused" />
  <recv request="INVITE" />
</scenario>
`
	if err := os.WriteFile(bad, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Start(context.Background(), Options{Scenario: bad, Timeout: 20 * time.Second, Dir: t.TempDir()})
	if err == nil {
		_, _ = p.Stop(time.Second)
		t.Fatal("Start accepted a scenario SIPp refuses")
	}
	if !strings.Contains(err.Error(), "exited as it started") || !strings.Contains(err.Error(), "unused") {
		t.Errorf("error %q, want it to say SIPp exited and why", err)
	}
}
