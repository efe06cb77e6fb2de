package esl_test

// Evidence for docs/decisions/0002-esl-client.md: the same esltest server
// shows github.com/percipia/eslgo v1.5.2 misbehaving where esl.Conn does
// not (TestConnRepliesUnderLoad, TestConnLateReplyDiscarded,
// TestDriverSurvivesBadInput). These tests pass because eslgo DOES
// misbehave; if a future eslgo fixes a defect, the test fails and the
// decision should be revisited.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/percipia/eslgo"

	"github.com/hotline-cc/hotline/controller/pbx/esl/esltest"
)

type rawCommand string

func (r rawCommand) BuildMessage() string { return string(r) }

func dialEslgo(t *testing.T, srv *esltest.Server) *eslgo.Conn {
	t.Helper()
	opts := eslgo.DefaultInboundOptions
	opts.Password = testPassword
	opts.Logger = nil
	c, err := opts.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestEslgoDeliversEventsOutOfOrder: eslgo calls each listener in a new
// goroutine per event (connection.go, callEventListener: "go
// listener(event)"), so while the handler of one event is busy the next
// events are handled: a consumer cannot rely on order.
func TestEslgoDeliversEventsOutOfOrder(t *testing.T) {
	out := runEslgoChild(t, "order")
	if !strings.Contains(out, "ESLGO-RESULT overtaken") {
		t.Fatalf("eslgo delivered events one at a time, in order: re-read docs/decisions/0002-esl-client.md\n%s", out)
	}
	t.Log(firstLine(out, "ESLGO-RESULT"))
}

func eslgoOrder(t *testing.T) {
	srv := startServer(t)
	c := dialEslgo(t, srv)
	var mu sync.Mutex
	var order []string
	overtaken := make(chan struct{})
	var once sync.Once
	first := true
	c.RegisterEventListener(eslgo.EventListenAll, func(ev *eslgo.Event) {
		seq := ev.GetHeader("Event-Sequence")
		mu.Lock()
		isFirst := first
		first = false
		mu.Unlock()
		if isFirst {
			// An in-order consumer would block every later event here.
			select {
			case <-overtaken:
			case <-time.After(3 * time.Second):
			}
		} else {
			once.Do(func() { close(overtaken) })
		}
		mu.Lock()
		order = append(order, seq)
		mu.Unlock()
	})
	if _, err := c.SendCommand(context.Background(), rawCommand("event plain HEARTBEAT")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-overtaken:
	case <-time.After(3 * time.Second):
		fmt.Println("ESLGO-RESULT in order")
		return
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("ESLGO-RESULT overtaken: eslgo handled events in order %v (the first finished last)\n", order)
}

// TestEslgoLateReplyGoesToNextCommand: eslgo's SendCommand waits on one
// shared reply channel (connection.go, SendCommand/doMessage); after a
// command times out, its late reply is handed to the next command.
func TestEslgoLateReplyGoesToNextCommand(t *testing.T) {
	out := runEslgoChild(t, "late")
	if !strings.Contains(out, "ESLGO-RESULT got first") {
		t.Fatalf("eslgo no longer hands a late reply to the next command\n%s", out)
	}
	t.Log(firstLine(out, "ESLGO-RESULT"))
}

func eslgoLate(t *testing.T) {
	srv := startServer(t)
	c := dialEslgo(t, srv)
	srv.SetReplyDelay(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.SendCommand(ctx, rawCommand("api eval first")); err == nil {
		t.Fatal("first command did not time out")
	}
	resp, err := c.SendCommand(context.Background(), rawCommand("api eval second"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ESLGO-RESULT got %s: \"api eval second\" returned the reply to the timed-out command \"api eval first\"\n", resp.Body)
}

// TestEslgoNegativeContentLengthPanics: eslgo's readResponse
// (response.go) does make([]byte, Content-Length) with no bounds check;
// "Content-Length: -1" panics its reader goroutine and so the process.
// Run in a child process.
func TestEslgoNegativeContentLengthPanics(t *testing.T) {
	out := runEslgoChild(t, "negative")
	if !strings.Contains(out, "makeslice: len out of range") {
		t.Fatalf("want a makeslice panic in eslgo\n%s", out)
	}
	t.Logf("eslgo on Content-Length: -1: %s", firstLine(out, "panic:"))
}

// runEslgoChild runs one eslgo scenario in a child test process: eslgo
// has data races of its own (Conn.close deletes from responseChannels
// while inbound.go's disconnectLoop reads it unlocked), which -race
// reports, and one scenario panics. The child's exit status is ignored;
// its ESLGO-RESULT line is the evidence.
func runEslgoChild(t *testing.T, mode string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEslgoHelperProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "HOTLINE_ESLGO_HELPER="+mode)
	out, _ := cmd.CombinedOutput()
	if strings.Contains(string(out), "WARNING: DATA RACE") {
		t.Logf("the race detector flagged eslgo itself in the %s scenario", mode)
	}
	return string(out)
}

func firstLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestEslgoHelperProcess is the child of TestEslgoNegativeContentLengthPanics;
// it does nothing unless HOTLINE_ESLGO_HELPER is set.
func TestEslgoHelperProcess(t *testing.T) {
	switch os.Getenv("HOTLINE_ESLGO_HELPER") {
	case "order":
		eslgoOrder(t)
	case "late":
		eslgoLate(t)
	case "negative":
		srv := startServer(t)
		dialEslgo(t, srv)
		srv.SendRaw([]byte("Content-Type: text/event-plain\nContent-Length: -1\n\n"))
		time.Sleep(2 * time.Second)
	}
}
