package esltest_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx/esl"
	"github.com/hotline-cc/hotline/controller/pbx/esl/esltest"
)

// callSocket places a call handed to the socket application and returns
// FreeSWITCH's connection to a listener of the test's own.
func callSocket(t *testing.T, srv *esltest.Server, caller string) (*esltest.Call, net.Conn, *esl.Reader) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	call := srv.PlaceCall(esltest.CallSpec{Service: "10000", Caller: caller, Socket: ln.Addr().String() + " async full"})
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return call, nc, esl.NewReader(bufio.NewReader(nc), esl.Limits{})
}

func command(t *testing.T, nc net.Conn, r *esl.Reader, cmd, wantReply string) {
	t.Helper()
	if _, err := io.WriteString(nc, cmd+"\n\n"); err != nil {
		t.Fatal(err)
	}
	f, err := r.Next()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	if f.ContentType != esl.TypeReply || f.ReplyText() != wantReply {
		t.Fatalf("%s: %s %q, want command/reply %q", cmd, f.ContentType, f.ReplyText(), wantReply)
	}
}

// nextEvent returns the next frame's event name, or the content type for
// a non-event frame (and its Content-Disposition).
func nextFrame(t *testing.T, r *esl.Reader) string {
	t.Helper()
	f, err := r.Next()
	if err != nil {
		return "error: " + err.Error()
	}
	if f.ContentType == esl.TypeEventPlain {
		ev, err := esl.ParseEvent(f.Body)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Name()
	}
	return f.ContentType + " " + f.Headers.Get("Content-Disposition")
}

// TestOutboundConnect: "connect" is answered with the channel's data,
// URL-encoded, as a command/reply; myevents gives this call's events.
func TestOutboundConnect(t *testing.T) {
	srv, err := esltest.Start(esltest.Options{Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	call, nc, r := callSocket(t, srv, "13900000001")
	io.WriteString(nc, "connect\n\n")
	f, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Content-Type": "command/reply", "Reply-Text": "%2BOK%0A", "Unique-ID": call.UUID,
		"Event-Name": "CHANNEL_DATA", "Channel-Caller-ID-Number": "13900000001", "Caller-Destination-Number": "10000",
		"Socket-Mode": "async", "Control": "full", "variable_park_after_bridge": "true"}
	for k, v := range want {
		if got := f.Headers.Get(k); got != v {
			t.Errorf("connect reply %s = %q, want %q", k, got, v)
		}
	}
	if h := f.Headers.Get("variable_socket_host"); !strings.HasPrefix(h, "127.0.0.1%3A") {
		t.Errorf("connect reply variable_socket_host = %q, want 127.0.0.1:PORT URL-encoded", h)
	}
	command(t, nc, r, "myevents", "+OK Events Enabled")
	command(t, nc, r, "myevents", "-ERR aready enabled.")
	srv.PlaceCall(esltest.CallSpec{Service: "10000", Caller: "13900000002"}) // another call's events must not come here
	command(t, nc, r, "sendmsg\ncall-command: execute\nexecute-app-name: answer", "+OK")
	for {
		f, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		ev, err := esl.ParseEvent(f.Body)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Get("Unique-ID") != call.UUID {
			t.Fatalf("myevents socket got %s of another channel %s", ev.Name(), ev.Get("Unique-ID"))
		}
		if ev.Name() == "CHANNEL_ANSWER" {
			break
		}
	}
}

// TestOutboundLinger: with linger, CHANNEL_HANGUP_COMPLETE still comes
// after the linger disconnect-notice; without, the socket closes at the
// hang-up and it is lost.
func TestOutboundLinger(t *testing.T) {
	srv, err := esltest.Start(esltest.Options{Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, linger := range []bool{true, false} {
		call, nc, r := callSocket(t, srv, "13900000003")
		io.WriteString(nc, "connect\n\n")
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		if linger {
			command(t, nc, r, "linger 1", "+OK will linger 1 seconds")
		}
		command(t, nc, r, "myevents", "+OK Events Enabled")
		command(t, nc, r, "nixevent CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_STATE CHANNEL_DESTROY", "+OK events nixed")
		srv.Hangup(call.UUID, "NORMAL_CLEARING")
		var got []string
		for {
			s := nextFrame(t, r)
			got = append(got, s)
			if strings.HasPrefix(s, "error") || len(got) > 10 {
				break
			}
		}
		want := "CHANNEL_HANGUP,text/disconnect-notice linger,CHANNEL_HANGUP_COMPLETE,text/disconnect-notice disconnect,error: EOF"
		if !linger {
			want = "CHANNEL_HANGUP,text/disconnect-notice disconnect,error: EOF"
		}
		if strings.Join(got, ",") != want {
			t.Errorf("linger %v: frames %s, want %s", linger, strings.Join(got, ","), want)
		}
	}
}

// TestOutboundSocketClosedHangsUp: a call whose socket closes leaves the
// socket application and the dialplan hangs it up.
func TestOutboundSocketClosedHangsUp(t *testing.T) {
	srv, err := esltest.Start(esltest.Options{Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	call, nc, r := callSocket(t, srv, "13900000004")
	io.WriteString(nc, "connect\n\n")
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	if err := call.Wait(t.Context()); err == nil || !strings.Contains(err.Error(), "unanswered") {
		t.Fatalf("caller: %v, want the call ended unanswered", err)
	}
}
