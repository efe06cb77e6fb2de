package esl_test

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/pbx/esl"
	"github.com/hotline-cc/hotline/controller/pbx/pbxtest"
)

// The driver-contract suite must catch the defects eslgo has (see
// docs/decisions/0002-esl-client.md): run the relevant scenarios against
// deliberately broken clients, each in a child process, and require that
// the suite fails them, in the check meant for the defect. A suite check
// that passes a broken client fails this test.

// brokenClients: the child's mode, the scenario it runs, and what the
// suite must report.
var brokenClients = []struct {
	mode, scenario string
	wantAny        []string
}{
	// Events handed to the consumer through a goroutine per event.
	{"reorder", "ConcurrentCalls", []string{"Seq must start at 1 and increase by one", "after a later-stage event"}},
	// A timed-out command's late reply handed to the next command.
	{"reply-mismatch", "RepliesMatchCommands", []string{"did it get the reply of another command?"}},
}

func TestContractCatchesBrokenClients(t *testing.T) {
	for _, bc := range brokenClients {
		t.Run(bc.mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenClientChild$/^"+bc.scenario+"$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "HOTLINE_BROKEN_CLIENT="+bc.mode, "HOTLINE_PBXTEST_CALLS=200")
			out, err := cmd.CombinedOutput()
			if _, failed := err.(*exec.ExitError); !failed {
				t.Fatalf("the contract suite passed a client with the %s defect (err %v):\n%s", bc.mode, err, tail(string(out), 40))
			}
			if !strings.Contains(string(out), "--- FAIL: TestBrokenClientChild") {
				t.Fatalf("child did not run the suite:\n%s", tail(string(out), 40))
			}
			for _, w := range bc.wantAny {
				if strings.Contains(string(out), w) {
					t.Logf("the suite caught %s: %s", bc.mode, firstContaining(string(out), w))
					return
				}
			}
			t.Fatalf("the suite failed the %s client, but not in the check for it (want one of %q):\n%s", bc.mode, bc.wantAny, tail(string(out), 40))
		})
	}
}

// TestBrokenClientChild is the child of TestContractCatchesBrokenClients;
// it does nothing unless HOTLINE_BROKEN_CLIENT is set.
func TestBrokenClientChild(t *testing.T) {
	h := newHarness(t, false)
	switch os.Getenv("HOTLINE_BROKEN_CLIENT") {
	case "":
		return
	case "reorder":
		h.wrap = func(d *esl.Driver) pbx.Driver { return newGoroutinePerEvent(d) }
	case "reply-mismatch":
		h.breakReplies = true
	default:
		t.Fatalf("unknown HOTLINE_BROKEN_CLIENT %q", os.Getenv("HOTLINE_BROKEN_CLIENT"))
	}
	pbxtest.Run(t, h)
}

// goroutinePerEvent is a pbx.Driver that hands each event to the
// consumer from a goroutine of its own, as eslgo calls its listeners
// ("go listener(event)"). The driver underneath assigns Seq in wire
// order; the delivery loses that order.
type goroutinePerEvent struct {
	*esl.Driver
	out chan pbx.Event
}

func newGoroutinePerEvent(d *esl.Driver) *goroutinePerEvent {
	g := &goroutinePerEvent{Driver: d, out: make(chan pbx.Event)}
	go func() {
		var wg sync.WaitGroup
		for ev := range d.Events() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g.out <- ev
			}()
		}
		wg.Wait()
		close(g.out)
	}()
	return g
}

func (g *goroutinePerEvent) Events() <-chan pbx.Event { return g.out }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func firstContaining(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
