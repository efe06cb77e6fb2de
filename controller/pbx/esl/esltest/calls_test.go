package esltest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx/esl"
)

// spy is a listener subscribed to every event, without filters, that
// keeps what it is sent.
type spy struct {
	mu  sync.Mutex
	evs []*esl.Event
}

func watch(t *testing.T, s *Server) *spy {
	t.Helper()
	sp := &spy{}
	l := newListener(s, nil)
	l.authed, l.events, l.all = true, true, true
	l.enqueueHook = func(b []byte) {
		_, body, ok := bytes.Cut(b, []byte("\n\n"))
		if !ok {
			t.Errorf("frame without a header block: %q", b)
			return
		}
		ev, err := esl.ParseEvent(body)
		if err != nil {
			t.Errorf("event does not parse: %v\n%s", err, body)
			return
		}
		sp.mu.Lock()
		sp.evs = append(sp.evs, ev)
		sp.mu.Unlock()
	}
	s.mu.Lock()
	s.listeners[l] = true
	s.mu.Unlock()
	t.Cleanup(func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	})
	return sp
}

// last returns the last event named name, or nil.
func (sp *spy) last(name string) *esl.Event {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for i := len(sp.evs) - 1; i >= 0; i-- {
		if sp.evs[i].Name() == name {
			return sp.evs[i]
		}
	}
	return nil
}

func (sp *spy) count(name string) int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	n := 0
	for _, e := range sp.evs {
		if e.Name() == name {
			n++
		}
	}
	return n
}

// answeredCall starts a server with one answered, parked call.
func answeredCall(t *testing.T) (*Server, string) {
	t.Helper()
	s, err := Start(Options{Password: "esltest-s3cret", FileDuration: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c := s.PlaceCall(CallSpec{Service: "10000", Caller: "555", HangupAfter: time.Minute})
	s.mu.Lock()
	s.channels[c.UUID].answer()
	s.mu.Unlock()
	return s, c.UUID
}

// TestUUIDRecordReplies: uuid_record's replies and events, as
// mod_commands and switch_ivr_async.c give them.
func TestUUIDRecordReplies(t *testing.T) {
	s, u := answeredCall(t)
	sp := watch(t, s)
	dir := t.TempDir()
	path := filepath.Join(dir, "vm.wav")
	usage := "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n"
	steps := []struct {
		cmd, reply string
		after      time.Duration // waited before the command
	}{
		{"uuid_record " + u, usage, 0},
		{"uuid_record " + u + " start", usage, 0},
		{"uuid_record no-such-uuid start " + path, "-ERR Cannot locate session!\n", 0},
		{"uuid_record " + u + " rewind " + path, usage, 0},
		{"uuid_record " + u + " stop " + path, "-ERR Cannot stop record session!\n", 0},
		{"uuid_record " + u + " mask " + path, "-ERR Cannot mask recording session!\n", 0},
		{"uuid_record " + u + " unmask " + path, "-ERR Cannot unmask recording session!\n", 0},
		{"uuid_record " + u + " pause " + path, "-ERR Cannot pause recording session!\n", 0},
		{"uuid_record " + u + " resume " + path, "-ERR Cannot resume recording session!\n", 0},
		{"uuid_record " + u + " start " + filepath.Join(dir, "missing", "vm.wav"), "-ERR Cannot record session!\n", 0},
		{"uuid_record " + u + " stop all", "-ERR Cannot stop record session!\n", 0},
		{"uuid_record " + u + " start " + path + " 60 {RECORD_READ_ONLY=true,RECORD_FINAL_TIMEOUT_MS=5000}", "+OK Success\n", 0},
		{"uuid_record " + u + " start " + path, "+OK Success\n", 0}, // already recording: nothing more
		{"uuid_record " + u + " mask " + path, "+OK Success\n", 0},
		{"uuid_record " + u + " unmask " + path, "+OK Success\n", 0},
		{"uuid_record " + u + " stop " + path, "+OK Success\n", 100 * time.Millisecond},
	}
	for _, st := range steps {
		time.Sleep(st.after)
		if got := s.api(st.cmd); got != st.reply {
			t.Errorf("%q replied %q, want %q", st.cmd, got, st.reply)
		}
	}
	if n := sp.count("RECORD_START"); n != 1 {
		t.Fatalf("%d RECORD_START events, want 1 (a repeated start adds none)", n)
	}
	start, stop := sp.last("RECORD_START"), sp.last("RECORD_STOP")
	if stop == nil {
		t.Fatal("no RECORD_STOP")
	}
	for _, e := range []*esl.Event{start, stop} {
		if e.Get("Record-File-Path") != path || e.Get("Unique-ID") != u || e.Get("Recording-Variable-RECORD_READ_ONLY") != "true" ||
			e.Get("Recording-Variable-RECORD_FINAL_TIMEOUT_MS") != "5000" || e.Get("variable_hotline") != "true" {
			t.Errorf("%s headers: %v", e.Name(), e.Headers)
		}
	}
	if stop.Get("Record-Completion-Cause") != "success-maxtime" || stop.Get("variable_record_completion_cause") != "success-maxtime" {
		t.Errorf("stopped recording: cause %q, variable %q, want success-maxtime", stop.Get("Record-Completion-Cause"), stop.Get("variable_record_completion_cause"))
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("recording file: %v", err)
	}

	// A recording stopped before one frame is written is discarded.
	short := filepath.Join(dir, "short.wav")
	s.api("uuid_record " + u + " start " + short)
	s.api("uuid_record " + u + " stop all")
	if c := sp.last("RECORD_STOP").Get("Record-Completion-Cause"); c != "empty-file" {
		t.Errorf("empty recording ended %q, want empty-file", c)
	}
	if _, err := os.Stat(short); !os.IsNotExist(err) {
		t.Errorf("empty recording left a file (%v)", err)
	}
}

// TestHoldCommandsAndEvents: uuid_hold's replies and callstates, and
// which function raises CHANNEL_HOLD and CHANNEL_UNHOLD.
func TestHoldCommandsAndEvents(t *testing.T) {
	s, u := answeredCall(t)
	sp := watch(t, s)
	steps := []struct{ cmd, reply, callstate string }{
		{"uuid_hold", "-USAGE: [off|toggle] <uuid> [<display>]\n", "ACTIVE"},
		{"uuid_hold off " + u, "-ERR Operation failed\n", "ACTIVE"},
		{"uuid_hold " + u, "+OK Success\n", "HELD"},
		{"uuid_hold " + u, "-ERR Operation failed\n", "HELD"},
		{"uuid_hold off " + u, "+OK Success\n", "UNHELD"},
		{"uuid_hold toggle " + u, "+OK Success\n", "HELD"},
		{"uuid_hold toggle " + u, "+OK Success\n", "UNHELD"},
		{"uuid_hold no-such-uuid", "+OK Success\n", "UNHELD"},
	}
	for _, st := range steps {
		got := s.api(st.cmd)
		s.mu.Lock()
		cs := s.channels[u].callstate
		s.mu.Unlock()
		if got != st.reply || cs != st.callstate {
			t.Errorf("%q: reply %q callstate %s, want %q %s", st.cmd, got, cs, st.reply, st.callstate)
		}
	}
	if h, uh := sp.count("CHANNEL_HOLD"), sp.count("CHANNEL_UNHOLD"); h != 2 || uh != 2 {
		t.Fatalf("%d CHANNEL_HOLD and %d CHANNEL_UNHOLD, want 2 each", h, uh)
	}
	if e := sp.last("CHANNEL_HOLD"); e.Get("Event-Calling-Function") != "switch_ivr_hold" || e.Get("Channel-Call-State") != "HELD" || e.Get("variable_hotline") != "true" {
		t.Errorf("uuid_hold's CHANNEL_HOLD: %v", e.Headers)
	}

	// The phone's hold comes from switch_channel_mark_hold, once per
	// change, and a hang-up while held ends it.
	s.PhoneHold(u, true)
	s.PhoneHold(u, true)
	if e := sp.last("CHANNEL_HOLD"); sp.count("CHANNEL_HOLD") != 3 || e.Get("Event-Calling-Function") != "switch_channel_mark_hold" || e.Get("Channel-Call-State") != "HELD" {
		t.Errorf("phone hold: %d CHANNEL_HOLD, last %v", sp.count("CHANNEL_HOLD"), e.Headers)
	}
	s.Hangup(u, "NORMAL_CLEARING")
	if e := sp.last("CHANNEL_UNHOLD"); sp.count("CHANNEL_UNHOLD") != 3 || e.Get("Event-Calling-Function") != "switch_channel_mark_hold" {
		t.Errorf("hang-up while held: %d CHANNEL_UNHOLD, last %v", sp.count("CHANNEL_UNHOLD"), e)
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var order []string
	for _, e := range sp.evs {
		if n := e.Name(); n == "CHANNEL_UNHOLD" || n == "CHANNEL_HANGUP" {
			order = append(order, n)
		}
	}
	if got := strings.Join(order[len(order)-2:], " "); got != "CHANNEL_UNHOLD CHANNEL_HANGUP" {
		t.Errorf("at the hang-up: %s, want CHANNEL_UNHOLD CHANNEL_HANGUP", got)
	}
}

// TestUUIDBroadcast: uuid_broadcast's replies; the path plays on the
// leg, for as long as its tones last.
func TestUUIDBroadcast(t *testing.T) {
	s, u := answeredCall(t)
	sp := watch(t, s)
	for _, st := range []struct{ cmd, reply string }{
		{"uuid_broadcast " + u, "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"},
		{"uuid_broadcast no-such-uuid tone_stream://%(100,0,640) aleg", "-ERR invalid uuid\n"},
	} {
		if got := s.api(st.cmd); got != st.reply {
			t.Errorf("%q replied %q, want %q", st.cmd, got, st.reply)
		}
	}
	begin := time.Now()
	if got := s.api("uuid_broadcast " + u + " tone_stream://%(1000,0,640);%(200,100,440) aleg"); got != "+OK Message sent\n" {
		t.Fatalf("uuid_broadcast replied %q", got)
	}
	for sp.last("PLAYBACK_STOP") == nil {
		if time.Since(begin) > 5*time.Second {
			t.Fatal("no PLAYBACK_STOP in 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if took := time.Since(begin); took < 1300*time.Millisecond {
		t.Errorf("the tones (1.3 s) played for %s", took)
	}
	if p := sp.last("PLAYBACK_START").Get("Playback-File-Path"); p != "tone_stream://%(1000,0,640);%(200,100,440)" {
		t.Errorf("Playback-File-Path %q", p)
	}
}

// TestHangupEndsPlaybackFirst: a playback the hang-up cuts short ends
// (PLAYBACK_STOP, break) before CHANNEL_HANGUP_COMPLETE, as the session
// thread leaves its application before the channel is reported; an
// outbound socket that stops at CHANNEL_HANGUP_COMPLETE still gets it.
func TestHangupEndsPlaybackFirst(t *testing.T) {
	s, u := answeredCall(t)
	sp := watch(t, s)
	if !s.sendmsg(u, esl.Headers{{Name: "call-command", Value: "execute"}, {Name: "execute-app-name", Value: "playback"},
		{Name: "execute-app-arg", Value: "{playback_id=p1}silence_stream://10000"}}) {
		t.Fatal("sendmsg refused")
	}
	for sp.last("PLAYBACK_START") == nil {
		time.Sleep(5 * time.Millisecond)
	}
	s.Hangup(u, "NORMAL_CLEARING")
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var order []string
	for _, e := range sp.evs {
		switch e.Name() {
		case "PLAYBACK_STOP":
			order = append(order, e.Name()+"/"+e.Get("Playback-Status"))
		case "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE":
			order = append(order, e.Name())
		}
	}
	if got := strings.Join(order, " "); got != "CHANNEL_HANGUP PLAYBACK_STOP/break CHANNEL_HANGUP_COMPLETE" {
		t.Fatalf("at the hang-up: %s", got)
	}
}
