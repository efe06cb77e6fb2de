package esl_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/pbx/esl"
	"github.com/hotline-cc/hotline/controller/pbx/esl/esltest"
)

func startServer(t *testing.T) *esltest.Server {
	t.Helper()
	srv, err := esltest.Start(esltest.Options{Password: testPassword, Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func dial(t *testing.T, srv *esltest.Server) *esl.Conn {
	t.Helper()
	c, err := esl.Dial(context.Background(), srv.Addr(), testPassword, esl.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestConnRepliesUnderLoad: 500 concurrent commands, replies delayed and
// each preceded by events; every command gets its own reply and events
// arrive in Event-Sequence order.
func TestConnRepliesUnderLoad(t *testing.T) {
	srv := startServer(t)
	c := dial(t, srv)
	if _, err := c.Send(context.Background(), "event plain ALL"); err != nil {
		t.Fatal(err)
	}
	srv.SetInterleave(3)
	srv.SetReplyDelay(100 * time.Microsecond)
	var seqErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := uint64(0)
		for ev := range c.Events() {
			n, _ := strconv.ParseUint(ev.Get("Event-Sequence"), 10, 64)
			if n <= last && seqErr == nil {
				seqErr = fmt.Errorf("event sequence %d after %d", n, last)
			}
			last = n
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("reply-%d", i)
			got, err := c.API(context.Background(), "eval "+want)
			if err != nil || got != want {
				errs <- fmt.Errorf("command %d got %q, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c.Close()
	<-done
	if seqErr != nil {
		t.Error(seqErr)
	}
}

// TestConnLateReplyDiscarded: a command that timed out leaves its reply
// to nobody; the next command gets its own.
func TestConnLateReplyDiscarded(t *testing.T) {
	srv := startServer(t)
	c := dial(t, srv)
	srv.SetReplyDelay(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.API(ctx, "eval first"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first command: %v, want deadline exceeded", err)
	}
	got, err := c.API(context.Background(), "eval second")
	if err != nil || got != "second" {
		t.Fatalf("second command got %q, %v; want its own reply", got, err)
	}
}

func TestConnBgAPIJob(t *testing.T) {
	srv := startServer(t)
	c := dial(t, srv)
	if _, err := c.Send(context.Background(), "event plain BACKGROUND_JOB"); err != nil {
		t.Fatal(err)
	}
	job, err := c.BgAPI(context.Background(), "eval job-result")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := job.Wait(context.Background())
	if err != nil || string(ev.Body) != "job-result" || ev.Get("Job-UUID") != job.UUID {
		t.Fatalf("job event %+v, %v", ev, err)
	}
}

func TestConnAuth(t *testing.T) {
	srv := startServer(t)
	if _, err := esl.Dial(context.Background(), srv.Addr(), "wrong", esl.ConnOptions{}); !errors.Is(err, pbx.ErrAuth) {
		t.Errorf("wrong password: %v, want ErrAuth", err)
	}
	srv.SetACLReject(true)
	if _, err := esl.Dial(context.Background(), srv.Addr(), testPassword, esl.ConnOptions{}); !errors.Is(err, pbx.ErrAuth) {
		t.Errorf("ACL: %v, want ErrAuth", err)
	}
}

func TestConnRejectsUnsafeText(t *testing.T) {
	srv := startServer(t)
	c := dial(t, srv)
	for _, s := range []string{"eval a\n\napi shutdown", "eval a\rb", "eval \x00"} {
		if _, err := c.API(context.Background(), s); !errors.Is(err, esl.ErrUnsafe) {
			t.Errorf("API(%q) = %v, want ErrUnsafe", s, err)
		}
	}
	if _, err := c.Send(context.Background(), "sendmsg x\n\ncall-command: hangup"); !errors.Is(err, esl.ErrUnsafe) {
		t.Errorf("Send with blank line: %v", err)
	}
}

func TestNewRefusesDefaultPassword(t *testing.T) {
	if _, err := esl.New(esl.Config{Addr: "127.0.0.1:8021", Password: "ClueCon", RecordingDir: "/rec"}); err == nil {
		t.Fatal("New accepted ClueCon")
	}
}

func TestRunAuthFailure(t *testing.T) {
	srv := startServer(t)
	d, err := esl.New(esl.Config{Addr: srv.Addr(), Password: "not-it", RecordingDir: "/rec"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range d.Events() {
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Run(ctx); !errors.Is(err, pbx.ErrAuth) {
		t.Fatalf("Run = %v, want ErrAuth", err)
	}
}

// TestDriverSurvivesBadInput: garbage, a huge Content-Length, a 10 MB
// body, an unknown content type and a goodbye each end at worst in
// LinkDown and a new Resynced; the driver keeps working.
func TestDriverSurvivesBadInput(t *testing.T) {
	srv := startServer(t)
	d, err := esl.New(esl.Config{Addr: srv.Addr(), Password: testPassword, RecordingDir: t.TempDir(),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()
	evs := make(chan pbx.Event, 10000)
	go func() {
		for e := range d.Events() {
			evs <- e
		}
		close(evs)
	}()
	waitKind := func(k pbx.EventKind) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case e := <-evs:
				if e.Kind == k {
					return
				}
			case <-timeout:
				t.Fatalf("no %v", k)
			}
		}
	}
	waitKind(pbx.Resynced)
	big := strings.Repeat("x", 10<<20)
	bigEvent := "Event-Name: CUSTOM\nContent-Length: " + strconv.Itoa(len(big)) + "\n\n" + big
	faults := []struct {
		name     string
		raw      string
		linkDown bool
	}{
		{"unknown type", "Content-Type: text/future\nContent-Length: 3\n\nabc", false},
		{"bad event body", "Content-Type: text/event-plain\nContent-Length: 7\n\ngarbage", false},
		{"10 MB event", "Content-Type: text/event-plain\nContent-Length: " + strconv.Itoa(len(bigEvent)) + "\n\n" + bigEvent, false},
		{"huge length", "Content-Type: text/event-plain\nContent-Length: 99999999999\n\n", true},
		{"negative length", "Content-Type: text/event-plain\nContent-Length: -1\n\n", true},
		{"garbage", "\x00\xff\xfe not a header\n\n", true},
		{"stray reply", "Content-Type: command/reply\nReply-Text: +OK\n\n", true},
	}
	for _, f := range faults {
		srv.SendRaw([]byte(f.raw))
		if f.linkDown {
			waitKind(pbx.LinkDown)
			waitKind(pbx.Resynced)
		}
		// The link works: a command gets its reply.
		for {
			err := d.Do(ctx, pbx.Hangup{Channel: "no-such-channel"})
			if errors.Is(err, pbx.ErrNotFound) {
				break
			}
			if !errors.Is(err, pbx.ErrNotConnected) {
				t.Fatalf("%s: Do = %v, want ErrNotFound", f.name, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	srv.Disconnect()
	waitKind(pbx.LinkDown)
	waitKind(pbx.Resynced)
	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}
