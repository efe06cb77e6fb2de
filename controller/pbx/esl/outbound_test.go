package esl_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/pbx/esl"
	"github.com/hotline-cc/hotline/controller/pbx/esl/esltest"
)

// TestCallSocketLost: a call's outbound socket that closes before the
// call ended is reported as the call gone, and the call is gone on the
// switch.
func TestCallSocketLost(t *testing.T) {
	srv := startServer(t)
	d, err := esl.New(esl.Config{Addr: srv.Addr(), Password: testPassword, RecordingDir: t.TempDir(), OutboundListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	evs := d.Events()
	wait := func(pred func(pbx.Event) bool) pbx.Event {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case e := <-evs:
				if pred(e) {
					return e
				}
			case <-timeout:
				t.Fatal("event not delivered in 10 s")
			}
		}
	}
	wait(func(e pbx.Event) bool { return e.Kind == pbx.Resynced })
	call := srv.PlaceCall(esltest.CallSpec{Service: "10000", Caller: "13900000009", Socket: d.OutboundAddr() + " async full"})
	st := wait(func(e pbx.Event) bool { return e.Kind == pbx.ChannelStarted })
	if st.Channel != pbx.ChannelID(call.UUID) || st.Caller != "13900000009" || st.Dialed != "10000" {
		t.Fatalf("ChannelStarted %+v for call %s", st, call.UUID)
	}
	if err := d.Do(ctx, pbx.Answer{Channel: st.Channel}); err != nil {
		t.Fatal(err)
	}
	wait(func(e pbx.Event) bool { return e.Kind == pbx.ChannelAnswered && e.Channel == st.Channel })
	srv.DropCallSockets()
	hu := wait(func(e pbx.Event) bool { return e.Kind == pbx.ChannelHungup && e.Channel == st.Channel })
	if hu.Cause == 0 {
		t.Errorf("ChannelHungup without cause: %+v", hu)
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := call.Wait(wctx); err != nil {
		t.Fatalf("caller: %v", err)
	}
	if err := d.Do(ctx, pbx.Answer{Channel: st.Channel}); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("Answer after the call ended = %v, want ErrNotFound", err)
	}
}

// TestOutboundListenBusy: a listen address that cannot be bound ends Run
// with an error naming it.
func TestOutboundListenBusy(t *testing.T) {
	srv := startServer(t)
	d1, err := esl.New(esl.Config{Addr: srv.Addr(), Password: testPassword, RecordingDir: "/rec", OutboundListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d1.Run(ctx)
	for d1.OutboundAddr() == "" {
		time.Sleep(5 * time.Millisecond)
	}
	d2, err := esl.New(esl.Config{Addr: srv.Addr(), Password: testPassword, RecordingDir: "/rec", OutboundListen: d1.OutboundAddr()})
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Run(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("Run with a busy outbound address = %v", err)
	}
	if _, err := esl.New(esl.Config{Addr: srv.Addr(), Password: testPassword, RecordingDir: "/rec", OutboundListen: "8084"}); err == nil {
		t.Fatal("New accepted outbound listen address 8084")
	}
}

// TestFilterHidesOtherCalls: on a switch that also carries calls hotline
// does not own (no hotline=true: here a call handed to another program's
// socket), the control connection's filters keep their events away;
// hotline's own calls still arrive.
func TestFilterHidesOtherCalls(t *testing.T) {
	srv := startServer(t)
	d, err := esl.New(esl.Config{Addr: srv.Addr(), Password: testPassword, RecordingDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	evs := d.Events()
	if e := <-evs; e.Kind != pbx.Resynced {
		t.Fatalf("first event %v", e.Kind)
	}
	// Another program takes a call over its own socket and answers it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	other := srv.PlaceCall(esltest.CallSpec{Service: "20000", Caller: "13700000001", Socket: ln.Addr().String() + " async full"})
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "connect\n\nsendmsg\ncall-command: execute\nexecute-app-name: answer\n\n")
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	// hotline's own call comes after the other call's answer.
	time.Sleep(100 * time.Millisecond)
	mine := srv.PlaceCall(esltest.CallSpec{Service: "10000", Caller: "13700000002"})
	for {
		select {
		case e := <-evs:
			if e.Channel == pbx.ChannelID(other.UUID) {
				t.Fatalf("event %v of a call hotline does not own passed the filters", e.Kind)
			}
			if e.Kind == pbx.ChannelStarted && e.Channel == pbx.ChannelID(mine.UUID) {
				return
			}
		case <-wctx.Done():
			t.Fatal("hotline's own call did not arrive")
		}
	}
}
