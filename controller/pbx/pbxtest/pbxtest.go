// Package pbxtest is the driver-contract suite: the scenarios every
// pbx.Driver must pass against a real switch, with real calls.
//
// A driver's own test supplies a Harness (how to build the driver, how to
// make a call arrive, which endpoint answers like an agent's phone, how
// to cut the driver's link) and calls Run. The suite owns no switch and
// no SIP stack; it only drives the pbx port and checks what comes back:
// wire order, consecutive Seq, and the events each command must cause.
package pbxtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// Harness is what a driver's test provides to the suite.
type Harness interface {
	// NewDriver returns a driver that is not yet running, connected to
	// the switch under test through the link DropLink cuts.
	NewDriver(t *testing.T) pbx.Driver
	// PlaceCall makes a real call arrive at the switch for
	// spec.Service from spec.Caller. It returns once the call is under
	// way; the Call reports when the caller's side has ended.
	PlaceCall(ctx context.Context, t *testing.T, spec CallSpec) Call
	// AgentEndpoint returns an endpoint (for pbx.Originate) that rings
	// about a second and answers: agent i's phone, i from 0.
	AgentEndpoint(t *testing.T, i int) string
	// DropLink abruptly cuts the connection between the driver and the
	// switch (both directions, no goodbye), without touching calls.
	DropLink(t *testing.T)
	// Prompt is the name of a short prompt the switch has, for
	// "sound:"+Prompt() media.
	Prompt() string
	// RecordingFile is where the switch writes recording name in format.
	RecordingFile(name pbx.RecordingName, format string) string
}

// ReplyDelayer is an optional Harness capability: a switch whose replies
// can be held back. With it, RepliesMatchCommands also lets commands time
// out before their reply and checks that the late reply reaches nobody
// else.
type ReplyDelayer interface {
	// DelayReplies makes the switch wait d before handling each command
	// (keeping their order) until restore is called.
	DelayReplies(t *testing.T, d time.Duration) (restore func())
}

// CallSpec describes one test call.
type CallSpec struct {
	Service string // the dialled service number
	Caller  string // the calling number
	// Keys are DTMF groups the caller sends, in order, RFC 2833 style,
	// each KeyDelay after the answer or the previous group (at most 3).
	Keys     []string
	KeyDelay time.Duration
	// HangupAfter: the caller hangs up this long after its last keys
	// (or the answer); zero means it waits for the far end to hang up.
	HangupAfter time.Duration
}

// Call is the caller's side of a test call.
type Call interface {
	// Wait blocks until the caller's side has ended and says whether it
	// ended as expected (answered and hung up by either side).
	Wait(ctx context.Context) error
}

// Timeouts for one expectation; generous because a loaded CI machine runs
// the switch, SIPp and the race detector on two cores.
const (
	eventTimeout = 20 * time.Second
)

// Run runs every scenario against the switch behind h. One driver serves
// the whole suite, as in production; scenarios tell their calls apart by
// caller number and by the IDs hotline chose.
func Run(t *testing.T, h Harness) {
	ctx, cancel := context.WithCancel(context.Background())
	d := h.NewDriver(t)
	s := &suite{h: h, d: d, log: newEventLog(), prefix: strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()
	go s.log.consume(d.Events())
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-runErr:
			if err != nil && err != context.Canceled {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of cancel")
		}
		if err := s.log.seqError(); err != nil {
			t.Error(err)
		}
	})
	if _, err := s.log.await(ctx, 0, func(e pbx.Event) bool { return e.Kind == pbx.Resynced }); err != nil {
		t.Fatalf("no Resynced after start: %v", err)
	}

	t.Run("InboundAnswerPlay", s.inboundAnswerPlay)
	t.Run("DTMF", s.dtmf)
	t.Run("OriginateToAgent", s.originate)
	t.Run("BridgeAndRecord", s.bridgeAndRecord)
	t.Run("RecordChannel", s.recordChannel)
	t.Run("RecordChannelEndsOnKey", s.recordChannelOnKey)
	t.Run("HangupFromCaller", s.hangupFromCaller)
	t.Run("LinkDropResync", s.linkDrop)
	t.Run("ConcurrentCalls", s.concurrent)
	t.Run("RepliesMatchCommands", s.repliesMatch)
}

type suite struct {
	h      Harness
	d      pbx.Driver
	log    *eventLog
	prefix string // makes IDs unique per run
	n      int
	mu     sync.Mutex
}

// id returns a fresh identifier for hotline-chosen IDs.
func (s *suite) id(kind string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return fmt.Sprintf("pt-%s-%s-%d", s.prefix, kind, s.n)
}

// callerNumber returns a fresh calling number, so scenarios can find
// their own inbound channel.
func (s *suite) callerNumber() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return fmt.Sprintf("1380%07d", (time.Now().UnixNano()/1e6+int64(s.n)*7919)%1e7)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (s *suite) do(t *testing.T, ctx context.Context, cmd pbx.Command) {
	t.Helper()
	if err := s.d.Do(ctx, cmd); err != nil {
		t.Fatalf("Do(%T %+v): %v", cmd, cmd, err)
	}
}

// hangupLater hangs ch up when the test ends, whatever happened.
func (s *suite) hangupLater(t *testing.T, ch pbx.ChannelID) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.d.Do(ctx, pbx.Hangup{Channel: ch}) // ErrNotFound is the usual, fine outcome
	})
}

// expect waits for the next event matching pred at or after *from and
// moves *from past it.
func (s *suite) expect(t *testing.T, ctx context.Context, from *int, what string, pred func(pbx.Event) bool) pbx.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, eventTimeout)
	defer cancel()
	i, err := s.log.await(ctx, *from, pred)
	if err != nil {
		t.Fatalf("waiting for %s: %v\nevents since #%d:\n%s", what, err, *from, s.log.dump(*from))
	}
	*from = i + 1
	return s.log.at(i)
}

func is(kind pbx.EventKind, ch pbx.ChannelID) func(pbx.Event) bool {
	return func(e pbx.Event) bool { return e.Kind == kind && e.Channel == ch }
}

// inbound places a call and waits for its ChannelStarted.
func (s *suite) inbound(t *testing.T, ctx context.Context, spec CallSpec) (pbx.ChannelID, Call, int) {
	t.Helper()
	from := s.log.len()
	call := s.h.PlaceCall(ctx, t, spec)
	ev := s.expect(t, ctx, &from, "ChannelStarted from "+spec.Caller, func(e pbx.Event) bool {
		return e.Kind == pbx.ChannelStarted && e.Caller == spec.Caller
	})
	if ev.Dialed != spec.Service {
		t.Errorf("ChannelStarted Dialed = %q, want %q", ev.Dialed, spec.Service)
	}
	if ev.At.IsZero() {
		t.Error("ChannelStarted without At")
	}
	s.hangupLater(t, ev.Channel)
	return ev.Channel, call, from
}

func (s *suite) inboundAnswerPlay(t *testing.T) {
	ctx := ctxFor(t)
	ch, call, from := s.inbound(t, ctx, CallSpec{Service: "10000", Caller: s.callerNumber()})
	s.do(t, ctx, pbx.Answer{Channel: ch})
	s.expect(t, ctx, &from, "ChannelAnswered", is(pbx.ChannelAnswered, ch))

	pb := pbx.PlaybackID(s.id("pb"))
	s.do(t, ctx, pbx.Play{Channel: ch, ID: pb, Media: []string{"sound:" + s.h.Prompt(), "digits:12"}})
	st := s.expect(t, ctx, &from, "PlaybackStarted", func(e pbx.Event) bool { return e.Kind == pbx.PlaybackStarted && e.Playback == pb })
	if st.Channel != ch {
		t.Errorf("PlaybackStarted channel %q, want %q", st.Channel, ch)
	}
	s.expect(t, ctx, &from, "PlaybackFinished", func(e pbx.Event) bool { return e.Kind == pbx.PlaybackFinished && e.Playback == pb })

	// Commands that must simply succeed on a live, answered channel.
	s.do(t, ctx, pbx.Hold{Channel: ch})
	s.do(t, ctx, pbx.Unhold{Channel: ch})
	s.do(t, ctx, pbx.StartMOH{Channel: ch})
	s.do(t, ctx, pbx.StopMOH{Channel: ch})

	// A playback stopped early still finishes.
	pb2 := pbx.PlaybackID(s.id("pb"))
	s.do(t, ctx, pbx.Play{Channel: ch, ID: pb2, Media: []string{"silence:10"}})
	s.expect(t, ctx, &from, "PlaybackStarted (long)", func(e pbx.Event) bool { return e.Kind == pbx.PlaybackStarted && e.Playback == pb2 })
	s.do(t, ctx, pbx.StopPlayback{ID: pb2})
	s.expect(t, ctx, &from, "PlaybackFinished (stopped)", func(e pbx.Event) bool { return e.Kind == pbx.PlaybackFinished && e.Playback == pb2 })

	// Hang-up from hotline's side.
	s.do(t, ctx, pbx.Hangup{Channel: ch})
	hu := s.expect(t, ctx, &from, "ChannelHungup", is(pbx.ChannelHungup, ch))
	if hu.Cause == 0 {
		t.Errorf("ChannelHungup without cause: %+v", hu)
	}
	if err := call.Wait(ctx); err != nil {
		t.Errorf("caller: %v", err)
	}
	if err := s.d.Do(ctx, pbx.Answer{Channel: ch}); !errorIs(err, pbx.ErrNotFound) {
		t.Errorf("Answer on a gone channel = %v, want ErrNotFound", err)
	}
}

func (s *suite) dtmf(t *testing.T) {
	ctx := ctxFor(t)
	ch, call, from := s.inbound(t, ctx, CallSpec{Service: "10000", Caller: s.callerNumber(),
		Keys: []string{"12", "3#"}, KeyDelay: time.Second, HangupAfter: time.Second})
	s.do(t, ctx, pbx.Answer{Channel: ch})
	var got string
	for range 4 {
		ev := s.expect(t, ctx, &from, "DTMF", is(pbx.DTMF, ch))
		got += ev.Digit
	}
	if got != "123#" {
		t.Errorf("digits %q, want 123#", got)
	}
	hu := s.expect(t, ctx, &from, "ChannelHungup (caller hung up)", is(pbx.ChannelHungup, ch))
	if hu.Cause != 16 {
		t.Logf("note: caller hang-up cause %d %q", hu.Cause, hu.CauseText)
	}
	if err := call.Wait(ctx); err != nil {
		t.Errorf("caller: %v", err)
	}
}

// originateAgent originates to agent i and waits until it is up and
// under hotline's control.
func (s *suite) originateAgent(t *testing.T, ctx context.Context, i int) pbx.ChannelID {
	t.Helper()
	from := s.log.len()
	leg := pbx.ChannelID(s.id("leg"))
	s.hangupLater(t, leg)
	s.do(t, ctx, pbx.Originate{ID: leg, Endpoint: s.h.AgentEndpoint(t, i), CallerID: "10000",
		CallerName: "Hotline", Timeout: 15 * time.Second, Args: []string{"agent", strconv.Itoa(i)}})
	ringAt := from
	s.expect(t, ctx, &ringAt, "ChannelRinging", is(pbx.ChannelRinging, leg))
	ansAt := ringAt
	s.expect(t, ctx, &ansAt, "ChannelAnswered after Ringing", is(pbx.ChannelAnswered, leg))
	stAt := from
	st := s.expect(t, ctx, &stAt, "ChannelStarted", is(pbx.ChannelStarted, leg))
	if fmt.Sprint(st.Args) != fmt.Sprint([]string{"agent", strconv.Itoa(i)}) {
		t.Errorf("originated ChannelStarted args %q", st.Args)
	}
	return leg
}

func (s *suite) originate(t *testing.T) {
	ctx := ctxFor(t)
	leg := s.originateAgent(t, ctx, 0)
	from := s.log.len()
	s.do(t, ctx, pbx.Hangup{Channel: leg})
	s.expect(t, ctx, &from, "ChannelHungup", is(pbx.ChannelHungup, leg))
}

func (s *suite) bridgeAndRecord(t *testing.T) {
	ctx := ctxFor(t)
	ch, call, from := s.inbound(t, ctx, CallSpec{Service: "10000", Caller: s.callerNumber()})
	s.do(t, ctx, pbx.Answer{Channel: ch})
	leg := s.originateAgent(t, ctx, 1)

	br := pbx.BridgeID(s.id("br"))
	s.do(t, ctx, pbx.CreateBridge{ID: br})
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.d.Do(c, pbx.DestroyBridge{Bridge: br})
	})
	s.do(t, ctx, pbx.AddToBridge{Bridge: br, Channels: []pbx.ChannelID{ch, leg}})
	for _, c := range []pbx.ChannelID{ch, leg} {
		f := from
		ev := s.expect(t, ctx, &f, "ChannelEnteredBridge "+string(c), is(pbx.ChannelEnteredBridge, c))
		if ev.Bridge != br {
			t.Errorf("entered bridge %q, want %q", ev.Bridge, br)
		}
	}
	snap, err := s.d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := snap.Bridge(br); !ok || len(b.Channels) != 2 {
		t.Errorf("snapshot bridge %s = %+v (found %v), want 2 channels", br, b, ok)
	}

	name := pbx.RecordingName(s.id("rec"))
	name2 := pbx.RecordingName(s.id("rec"))
	s.do(t, ctx, pbx.RecordBridge{Bridge: br, Name: name, Format: "wav", MaxDuration: time.Minute})
	rs := s.expect(t, ctx, &from, "RecordingStarted", func(e pbx.Event) bool { return e.Kind == pbx.RecordingStarted && e.Recording == name })
	if rs.Bridge != br {
		t.Errorf("RecordingStarted bridge %q, want %q", rs.Bridge, br)
	}
	time.Sleep(2 * time.Second) // two seconds of the bridged call's audio
	s.do(t, ctx, pbx.StopRecording{Name: name})
	s.expect(t, ctx, &from, "RecordingFinished", func(e pbx.Event) bool { return e.Kind == pbx.RecordingFinished && e.Recording == name })
	path := s.h.RecordingFile(name, "wav")
	t.Cleanup(func() { os.Remove(path) })
	t.Cleanup(func() { os.Remove(s.h.RecordingFile(name2, "wav")) })
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("recording file: %v", err)
	}
	// 2 s of 8 kHz 16-bit mono is 32 000 bytes; a header-only file is 44.
	if fi.Size() < 16000 {
		t.Errorf("recording %s is %d bytes, want about 32000 for 2 s", path, fi.Size())
	}

	// Second recording, ended by the calls hanging up rather than Stop.
	s.do(t, ctx, pbx.RecordBridge{Bridge: br, Name: name2, Format: "wav"})
	s.expect(t, ctx, &from, "RecordingStarted (2)", func(e pbx.Event) bool { return e.Kind == pbx.RecordingStarted && e.Recording == name2 })
	time.Sleep(time.Second)

	s.do(t, ctx, pbx.RemoveFromBridge{Bridge: br, Channel: leg})
	f := from
	s.expect(t, ctx, &f, "ChannelLeftBridge", is(pbx.ChannelLeftBridge, leg))
	s.do(t, ctx, pbx.Hangup{Channel: leg})
	s.do(t, ctx, pbx.Hangup{Channel: ch})
	s.do(t, ctx, pbx.DestroyBridge{Bridge: br})
	end := s.expect(t, ctx, &from, "RecordingFinished after hang-up", func(e pbx.Event) bool {
		return (e.Kind == pbx.RecordingFinished || e.Kind == pbx.RecordingFailed) && e.Recording == name2
	})
	if end.Kind != pbx.RecordingFinished {
		t.Errorf("recording ended by hang-up and bridge teardown: %v %q, want RecordingFinished", end.Kind, end.CauseText)
	}
	if fi, err := os.Stat(s.h.RecordingFile(name2, "wav")); err != nil {
		t.Errorf("second recording: %v", err)
	} else if fi.Size() < 8000 {
		t.Errorf("second recording is %d bytes for about 1 s of audio", fi.Size())
	}
	if err := call.Wait(ctx); err != nil {
		t.Errorf("caller: %v", err)
	}
}

// recordChannel records what a caller says (a voice message), pauses
// and resumes the recording as a secret entry does, and stops it: the
// recording's events carry its name and channel, and the file is there.
func (s *suite) recordChannel(t *testing.T) {
	ctx := ctxFor(t)
	ch, call, from := s.inbound(t, ctx, CallSpec{Service: "10000", Caller: s.callerNumber()})
	s.do(t, ctx, pbx.Answer{Channel: ch})
	s.expect(t, ctx, &from, "ChannelAnswered", is(pbx.ChannelAnswered, ch))

	name := pbx.RecordingName(s.id("vm"))
	path := s.h.RecordingFile(name, "wav")
	t.Cleanup(func() { os.Remove(path) })
	s.do(t, ctx, pbx.RecordChannel{Channel: ch, Name: name, Format: "wav", MaxDuration: time.Minute})
	st := s.expect(t, ctx, &from, "RecordingStarted", func(e pbx.Event) bool { return e.Kind == pbx.RecordingStarted && e.Recording == name })
	if st.Channel != ch || st.Bridge != "" {
		t.Errorf("RecordingStarted channel %q bridge %q, want channel %q and no bridge", st.Channel, st.Bridge, ch)
	}
	time.Sleep(time.Second)
	s.do(t, ctx, pbx.PauseRecording{Name: name})
	time.Sleep(time.Second)
	s.do(t, ctx, pbx.ResumeRecording{Name: name})
	time.Sleep(time.Second)
	s.do(t, ctx, pbx.StopRecording{Name: name})
	end := s.expect(t, ctx, &from, "RecordingFinished", func(e pbx.Event) bool {
		return (e.Kind == pbx.RecordingFinished || e.Kind == pbx.RecordingFailed) && e.Recording == name
	})
	if end.Kind != pbx.RecordingFinished || end.Channel != ch {
		t.Errorf("recording stopped: %v channel %q (%q), want RecordingFinished on %q", end.Kind, end.Channel, end.CauseText, ch)
	}
	// At least the two seconds recorded outside the pause: 8 kHz 16-bit
	// mono is 16 000 bytes a second.
	if fi, err := os.Stat(path); err != nil {
		t.Errorf("voice message: %v", err)
	} else if fi.Size() < 16000 {
		t.Errorf("voice message %s is %d bytes, want most of the 2 s recorded outside the pause", path, fi.Size())
	}
	// A secret entry that outlives the recording finds it gone.
	if err := s.d.Do(ctx, pbx.PauseRecording{Name: name}); !errorIs(err, pbx.ErrNotFound) {
		t.Errorf("PauseRecording of a finished recording = %v, want ErrNotFound", err)
	}

	s.do(t, ctx, pbx.Hangup{Channel: ch})
	s.expect(t, ctx, &from, "ChannelHungup", is(pbx.ChannelHungup, ch))
	if err := call.Wait(ctx); err != nil {
		t.Errorf("caller: %v", err)
	}
}

// recordChannelOnKey: a voice message ends when the caller presses its
// terminator key, with no command from hotline.
func (s *suite) recordChannelOnKey(t *testing.T) {
	ctx := ctxFor(t)
	const keyAfter = 4 * time.Second
	ch, call, from := s.inbound(t, ctx, CallSpec{Service: "10000", Caller: s.callerNumber(), Keys: []string{"#"}, KeyDelay: keyAfter})
	s.do(t, ctx, pbx.Answer{Channel: ch})
	name := pbx.RecordingName(s.id("vm"))
	path := s.h.RecordingFile(name, "wav")
	t.Cleanup(func() { os.Remove(path) })
	const limit = 40 * time.Second
	begin := time.Now()
	s.do(t, ctx, pbx.RecordChannel{Channel: ch, Name: name, Format: "wav", MaxDuration: limit, TerminateOn: "#"})
	s.expect(t, ctx, &from, "RecordingStarted", func(e pbx.Event) bool { return e.Kind == pbx.RecordingStarted && e.Recording == name })
	end := s.expect(t, ctx, &from, "RecordingFinished on #", func(e pbx.Event) bool {
		return (e.Kind == pbx.RecordingFinished || e.Kind == pbx.RecordingFailed) && e.Recording == name
	})
	if took := time.Since(begin); end.Kind != pbx.RecordingFinished || took > limit/2 {
		t.Errorf("recording ended by # after %s: %v (%q), want RecordingFinished about %s in, long before its %s limit",
			took.Round(time.Millisecond), end.Kind, end.CauseText, keyAfter, limit)
	}
	if fi, err := os.Stat(path); err != nil {
		t.Errorf("voice message: %v", err)
	} else if fi.Size() < 16000 {
		t.Errorf("voice message %s is %d bytes, want at least 1 s of audio", path, fi.Size())
	}
	s.do(t, ctx, pbx.Hangup{Channel: ch})
	s.expect(t, ctx, &from, "ChannelHungup", is(pbx.ChannelHungup, ch))
	if err := call.Wait(ctx); err != nil {
		t.Errorf("caller: %v", err)
	}
}

func (s *suite) hangupFromCaller(t *testing.T) {
	ctx := ctxFor(t)
	ch, call, from := s.inbound(t, ctx, CallSpec{Service: "10000", Caller: s.callerNumber(), HangupAfter: time.Second})
	s.do(t, ctx, pbx.Answer{Channel: ch})
	hu := s.expect(t, ctx, &from, "ChannelHungup", is(pbx.ChannelHungup, ch))
	if hu.Cause != 16 {
		t.Errorf("caller hang-up cause %d %q, want 16 (normal clearing)", hu.Cause, hu.CauseText)
	}
	if err := call.Wait(ctx); err != nil {
		t.Errorf("caller: %v", err)
	}
}

func (s *suite) linkDrop(t *testing.T) {
	ctx := ctxFor(t)
	ch, call, from := s.inbound(t, ctx, CallSpec{Service: "10000", Caller: s.callerNumber()})
	s.do(t, ctx, pbx.Answer{Channel: ch})
	s.expect(t, ctx, &from, "ChannelAnswered", is(pbx.ChannelAnswered, ch))

	s.h.DropLink(t)
	s.expect(t, ctx, &from, "LinkDown", func(e pbx.Event) bool { return e.Kind == pbx.LinkDown })
	ev := s.expect(t, ctx, &from, "Resynced", func(e pbx.Event) bool { return e.Kind == pbx.Resynced })
	if ev.Snapshot == nil {
		t.Fatal("Resynced without snapshot")
	}
	c, ok := ev.Snapshot.Channel(ch)
	if !ok {
		t.Fatalf("resync snapshot lacks the live call %s: %+v", ch, ev.Snapshot)
	}
	if c.State != pbx.StateUp || !c.InApp {
		t.Errorf("live call in snapshot = %+v, want up and in app", c)
	}
	// The call is still controllable and its events still arrive.
	pb := pbx.PlaybackID(s.id("pb"))
	s.do(t, ctx, pbx.Play{Channel: ch, ID: pb, Media: []string{"digits:1"}})
	s.expect(t, ctx, &from, "PlaybackFinished after resync", func(e pbx.Event) bool { return e.Kind == pbx.PlaybackFinished && e.Playback == pb })
	s.do(t, ctx, pbx.Hangup{Channel: ch})
	s.expect(t, ctx, &from, "ChannelHungup", is(pbx.ChannelHungup, ch))
	if err := call.Wait(ctx); err != nil {
		t.Errorf("caller: %v", err)
	}
}

// concurrentCalls is the number of simultaneous calls in ConcurrentCalls;
// HOTLINE_PBXTEST_CALLS overrides it.
func concurrentCalls() int {
	if n, err := strconv.Atoi(os.Getenv("HOTLINE_PBXTEST_CALLS")); err == nil && n > 0 {
		return n
	}
	return 50
}

func (s *suite) concurrent(t *testing.T) {
	ctx := ctxFor(t)
	n := concurrentCalls()
	callers := make(map[string]bool, n)
	specs := make([]CallSpec, n)
	for i := range specs {
		// The callers hang up themselves (after the playback is long
		// done): hang-ups from hotline's side are covered one call at a
		// time above.
		specs[i] = CallSpec{Service: "10000", Caller: fmt.Sprintf("1390%07d", (time.Now().UnixNano()/1e6+int64(i))%1e7),
			HangupAfter: 6 * time.Second}
		for callers[specs[i].Caller] {
			specs[i].Caller += "1"
		}
		callers[specs[i].Caller] = true
	}
	start := s.log.len()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.oneCall(ctx, t, specs[i])
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			if failed <= 5 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d concurrent calls failed", failed, n)
	}
	// Per-channel order over everything delivered during the scenario.
	order := map[pbx.EventKind]int{pbx.ChannelStarted: 1, pbx.ChannelAnswered: 2, pbx.PlaybackStarted: 3, pbx.PlaybackFinished: 4, pbx.ChannelHungup: 5}
	last := map[pbx.ChannelID]int{}
	mine := map[pbx.ChannelID]bool{}
	for _, e := range s.log.since(start) {
		if e.Kind == pbx.ChannelStarted && callers[e.Caller] {
			mine[e.Channel] = true
		}
		if !mine[e.Channel] || order[e.Kind] == 0 {
			continue
		}
		if order[e.Kind] < last[e.Channel] {
			t.Errorf("channel %s: %v (seq %d) after a later-stage event", e.Channel, e.Kind, e.Seq)
		}
		last[e.Channel] = order[e.Kind]
	}
	if len(mine) != n {
		t.Errorf("%d channels started, want %d", len(mine), n)
	}
	for ch, l := range last {
		if l != order[pbx.ChannelHungup] {
			t.Errorf("channel %s ended at stage %d, not hung up", ch, l)
		}
	}
}

// oneCall runs one inbound call through answer, a short playback and the
// caller's hang-up, returning the first failure.
func (s *suite) oneCall(ctx context.Context, t *testing.T, spec CallSpec) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	from := s.log.len()
	call := s.h.PlaceCall(ctx, t, spec)
	i, err := s.log.await(ctx, from, func(e pbx.Event) bool { return e.Kind == pbx.ChannelStarted && e.Caller == spec.Caller })
	if err != nil {
		wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return fmt.Errorf("caller %s: no ChannelStarted: %w (caller side: %v)", spec.Caller, err, call.Wait(wctx))
	}
	ch := s.log.at(i).Channel
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.d.Do(c, pbx.Hangup{Channel: ch})
	}()
	step := func(what string, cmd pbx.Command, pred func(pbx.Event) bool) error {
		if cmd != nil {
			if err := s.d.Do(ctx, cmd); err != nil {
				return fmt.Errorf("channel %s: %s: %w", ch, what, err)
			}
		}
		j, err := s.log.await(ctx, i+1, pred)
		if err != nil {
			return fmt.Errorf("channel %s: waiting for %s: %w", ch, what, err)
		}
		i = j
		return nil
	}
	pb := pbx.PlaybackID(s.id("pb"))
	if err := step("answer", pbx.Answer{Channel: ch}, is(pbx.ChannelAnswered, ch)); err != nil {
		return err
	}
	if err := step("play", pbx.Play{Channel: ch, ID: pb, Media: []string{"digits:1"}}, func(e pbx.Event) bool { return e.Kind == pbx.PlaybackStarted && e.Playback == pb }); err != nil {
		return err
	}
	if err := step("playback finished", nil, func(e pbx.Event) bool { return e.Kind == pbx.PlaybackFinished && e.Playback == pb }); err != nil {
		return err
	}
	if err := step("caller's hang-up", nil, is(pbx.ChannelHungup, ch)); err != nil {
		return err
	}
	if err := call.Wait(ctx); err != nil {
		return fmt.Errorf("caller %s: %w", spec.Caller, err)
	}
	return nil
}

// repliesMatch checks that every command gets its own reply: commands
// whose outcomes differ (a live channel: success; a channel that does
// not exist: ErrNotFound) run concurrently, and, when the harness can
// delay replies, right after a command that timed out waiting for its
// reply.
func (s *suite) repliesMatch(t *testing.T) {
	ctx := ctxFor(t)
	ch, call, from := s.inbound(t, ctx, CallSpec{Service: "10000", Caller: s.callerNumber()})
	s.do(t, ctx, pbx.Answer{Channel: ch})
	s.expect(t, ctx, &from, "ChannelAnswered", is(pbx.ChannelAnswered, ch))
	gone := pbx.ChannelID(s.id("gone"))
	type attempt struct {
		cmd  pbx.Command
		live bool // true: must succeed; false: must be ErrNotFound
	}
	liveCmd := func(i int) attempt {
		if i%2 == 0 {
			return attempt{pbx.Hold{Channel: ch}, true}
		}
		return attempt{pbx.Unhold{Channel: ch}, true}
	}
	goneCmd := attempt{pbx.Answer{Channel: gone}, false}
	check := func(what string, a attempt, err error) {
		t.Helper()
		switch {
		case a.live && err != nil:
			t.Errorf("%s: %T on live channel %s = %v, want success (did it get the reply of another command?)", what, a.cmd, ch, err)
		case !a.live && !errorIs(err, pbx.ErrNotFound):
			t.Errorf("%s: %T on channel %s that does not exist = %v, want ErrNotFound (did it get the reply of another command?)", what, a.cmd, gone, err)
		}
	}

	var wg sync.WaitGroup
	for i := range 32 {
		a := goneCmd
		if i%4 != 3 {
			a = liveCmd(i)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			check(fmt.Sprintf("concurrent command %d", i), a, s.d.Do(ctx, a.cmd))
		}()
	}
	wg.Wait()

	if rd, ok := s.h.(ReplyDelayer); ok {
		const delay, deadline = 300 * time.Millisecond, 50 * time.Millisecond
		restore := rd.DelayReplies(t, delay)
		for _, pair := range [][2]attempt{{liveCmd(0), goneCmd}, {goneCmd, liveCmd(1)}} {
			tctx, cancel := context.WithTimeout(ctx, deadline)
			err := s.d.Do(tctx, pair[0].cmd)
			cancel()
			if err == nil {
				t.Errorf("%T with a %s deadline succeeded although the switch replies after %s", pair[0].cmd, deadline, delay)
			}
			check(fmt.Sprintf("%T after a %T that timed out", pair[1].cmd, pair[0].cmd), pair[1], s.d.Do(ctx, pair[1].cmd))
		}
		restore()
	}

	s.do(t, ctx, pbx.Hangup{Channel: ch})
	s.expect(t, ctx, &from, "ChannelHungup", is(pbx.ChannelHungup, ch))
	if err := call.Wait(ctx); err != nil {
		t.Errorf("caller: %v", err)
	}
}
