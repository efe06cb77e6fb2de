package esl_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/pbx/esl"
	"github.com/hotline-cc/hotline/controller/pbx/esl/esltest"
)

// fsRig is a driver running against esltest, with its events gathered.
type fsRig struct {
	srv      *esltest.Server
	d        *esl.Driver
	dir      string
	outbound bool
	evs      <-chan pbx.Event
}

func newRig(t *testing.T, outbound bool) *fsRig {
	t.Helper()
	srv := startServer(t)
	r := &fsRig{srv: srv, dir: t.TempDir(), outbound: outbound}
	cfg := esl.Config{Addr: srv.Addr(), Password: testPassword, RecordingDir: r.dir}
	if outbound {
		cfg.OutboundListen = "127.0.0.1:0"
	}
	d, err := esl.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.d, r.evs = d, d.Events()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	r.wait(t, "Resynced", func(e pbx.Event) bool { return e.Kind == pbx.Resynced })
	return r
}

// wait returns the next event matching pred, failing the test after 10 s.
func (r *fsRig) wait(t *testing.T, what string, pred func(pbx.Event) bool) pbx.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-r.evs:
			if pred(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s in 10 s", what)
		}
	}
}

// none fails the test if an event matching pred comes within d.
func (r *fsRig) none(t *testing.T, d time.Duration, what string, pred func(pbx.Event) bool) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case e := <-r.evs:
			if pred(e) {
				t.Fatalf("unexpected %s: %+v", what, e)
			}
		case <-timeout:
			return
		}
	}
}

// answered places a call (parked, or over its own socket) and answers it.
func (r *fsRig) answered(t *testing.T, spec esltest.CallSpec) (*esltest.Call, pbx.ChannelID) {
	t.Helper()
	spec.Service = "10000"
	if r.outbound {
		spec.Socket = r.d.OutboundAddr() + " async full"
	}
	call := r.srv.PlaceCall(spec)
	ch := pbx.ChannelID(call.UUID)
	r.wait(t, "ChannelStarted", func(e pbx.Event) bool { return e.Kind == pbx.ChannelStarted && e.Channel == ch })
	if err := r.d.Do(context.Background(), pbx.Answer{Channel: ch}); err != nil {
		t.Fatal(err)
	}
	r.wait(t, "ChannelAnswered", func(e pbx.Event) bool { return e.Kind == pbx.ChannelAnswered && e.Channel == ch })
	return call, ch
}

func kind(k pbx.EventKind, ch pbx.ChannelID) func(pbx.Event) bool {
	return func(e pbx.Event) bool { return e.Kind == k && e.Channel == ch }
}

func bothModes(t *testing.T, f func(t *testing.T, outbound bool)) {
	t.Run("inbound", func(t *testing.T) { f(t, false) })
	t.Run("outbound", func(t *testing.T) { f(t, true) })
}

// TestPhoneHoldIsReported: a phone putting the call on hold and taking
// it off reaches hotline as ChannelHold and ChannelUnhold, whether the
// call is parked (control connection, hotline=true filter) or on its own
// socket (myevents plus the hold events).
func TestPhoneHoldIsReported(t *testing.T) {
	bothModes(t, func(t *testing.T, outbound bool) {
		r := newRig(t, outbound)
		_, ch := r.answered(t, esltest.CallSpec{Caller: "13900000101"})
		r.srv.PhoneHold(string(ch), true)
		if ev := r.wait(t, "ChannelHold", func(e pbx.Event) bool { return e.Kind == pbx.ChannelHold }); ev.Channel != ch || ev.At.IsZero() {
			t.Fatalf("ChannelHold %+v, want channel %s with a time", ev, ch)
		}
		r.srv.PhoneHold(string(ch), false)
		if ev := r.wait(t, "ChannelUnhold", func(e pbx.Event) bool { return e.Kind == pbx.ChannelUnhold }); ev.Channel != ch {
			t.Fatalf("ChannelUnhold %+v, want channel %s", ev, ch)
		}
		// A call taken off hold is UNHELD on FreeSWITCH: still up.
		snap, err := r.d.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := snap.Channel(ch); !ok || c.State != pbx.StateUp {
			t.Fatalf("after hold and unhold the snapshot has %+v (found %v), want the call up", c, ok)
		}
		if err := r.d.Do(context.Background(), pbx.Hangup{Channel: ch}); err != nil {
			t.Fatal(err)
		}
		r.wait(t, "ChannelHungup", kind(pbx.ChannelHungup, ch))
	})
}

// TestHangupWhileHeld: FreeSWITCH takes a held leg off hold as it hangs
// up; hotline sees the hold end before the hang-up.
func TestHangupWhileHeld(t *testing.T) {
	r := newRig(t, false)
	_, ch := r.answered(t, esltest.CallSpec{Caller: "13900000102"})
	r.srv.PhoneHold(string(ch), true)
	r.wait(t, "ChannelHold", kind(pbx.ChannelHold, ch))
	r.srv.Hangup(string(ch), "NORMAL_CLEARING")
	ev := r.wait(t, "ChannelUnhold or ChannelHungup", func(e pbx.Event) bool {
		return e.Channel == ch && (e.Kind == pbx.ChannelUnhold || e.Kind == pbx.ChannelHungup)
	})
	if ev.Kind != pbx.ChannelUnhold {
		t.Fatalf("%v before ChannelUnhold", ev.Kind)
	}
	r.wait(t, "ChannelHungup", kind(pbx.ChannelHungup, ch))
}

// TestOwnHoldIsNotAPhoneHold: hotline's Hold and Unhold (uuid_hold)
// raise CHANNEL_HOLD/UNHOLD on FreeSWITCH, but, as on Asterisk, they are
// not the phone's hold and are not reported; repeating either succeeds
// (FreeSWITCH answers -ERR Operation failed to a hold the call is in).
// Hanging up a call hotline held reports no ChannelUnhold either.
func TestOwnHoldIsNotAPhoneHold(t *testing.T) {
	r := newRig(t, false)
	ctx := context.Background()
	_, ch := r.answered(t, esltest.CallSpec{Caller: "13900000103"})
	for _, cmd := range []pbx.Command{pbx.Hold{Channel: ch}, pbx.Hold{Channel: ch}, pbx.Unhold{Channel: ch}, pbx.Unhold{Channel: ch}, pbx.Hold{Channel: ch}} {
		if err := r.d.Do(ctx, cmd); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	if err := r.d.Do(ctx, pbx.Hangup{Channel: ch}); err != nil {
		t.Fatal(err)
	}
	hold := func(e pbx.Event) bool { return e.Kind == pbx.ChannelHold || e.Kind == pbx.ChannelUnhold }
	ev := r.wait(t, "ChannelHungup or a hold event", func(e pbx.Event) bool { return hold(e) || e.Kind == pbx.ChannelHungup })
	if ev.Kind != pbx.ChannelHungup {
		t.Fatalf("hotline's own hold reported as %v", ev.Kind)
	}
	r.none(t, 300*time.Millisecond, "hold event", hold)
}

// wavSamples reads the 16-bit mono samples of a WAV esltest wrote.
func wavSamples(t *testing.T, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[36:40]) != "data" {
		t.Fatalf("%s: not a plain WAV (%d bytes)", path, len(b))
	}
	out := make([]int16, (len(b)-44)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[44+2*i:]))
	}
	return out
}

// loud reports whether any sample in s is not silence.
func loud(s []int16) bool {
	for _, v := range s {
		if v != 0 {
			return true
		}
	}
	return false
}

// TestPausedRecordingKeepsItsTiming: PauseRecording (a secret entry)
// silences the recording without shortening it, so the file still
// matches the call's length and holds nothing of what was keyed while
// paused; ResumeRecording brings the caller back.
func TestPausedRecordingKeepsItsTiming(t *testing.T) {
	bothModes(t, func(t *testing.T, outbound bool) {
		r := newRig(t, outbound)
		ctx := context.Background()
		_, ch := r.answered(t, esltest.CallSpec{Caller: "13900000104"})
		const name = pbx.RecordingName("vm-pci")
		begin := time.Now()
		if err := r.d.Do(ctx, pbx.RecordChannel{Channel: ch, Name: name, Format: "wav", MaxDuration: time.Minute}); err != nil {
			t.Fatal(err)
		}
		r.wait(t, "RecordingStarted", func(e pbx.Event) bool { return e.Kind == pbx.RecordingStarted && e.Recording == name })
		time.Sleep(time.Second)
		if err := r.d.Do(ctx, pbx.PauseRecording{Name: name}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := r.d.Do(ctx, pbx.ResumeRecording{Name: name}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := r.d.Do(ctx, pbx.StopRecording{Name: name}); err != nil {
			t.Fatal(err)
		}
		took := time.Since(begin).Seconds()
		ev := r.wait(t, "recording end", func(e pbx.Event) bool {
			return (e.Kind == pbx.RecordingFinished || e.Kind == pbx.RecordingFailed) && e.Recording == name
		})
		if ev.Kind != pbx.RecordingFinished || ev.Channel != ch {
			t.Fatalf("recording ended %v on %q (%s), want RecordingFinished on %s", ev.Kind, ev.Channel, ev.CauseText, ch)
		}
		s := wavSamples(t, filepath.Join(r.dir, string(name)+".wav"))
		secs := float64(len(s)) / 8000
		if secs < 2.8 || secs > took+0.05 {
			t.Fatalf("recording holds %.2f s for %.2f s recorded with 1 s paused, want all of it", secs, took)
		}
		// Seconds 0-1 and 2-3 are the caller; the paused second (with
		// 150 ms either side for scheduling) is silence.
		if !loud(s[:6000]) || !loud(s[len(s)-6000:]) {
			t.Error("the recording lacks the caller before or after the pause")
		}
		if loud(s[int(1.15*8000):int(1.85*8000)]) {
			t.Error("the paused second holds audio")
		}
	})
}

// TestRecordingFailures: a voice message FreeSWITCH cannot start is an
// error and leaves nothing behind; one it cannot write ends as
// RecordingFailed with FreeSWITCH's completion cause; starting a name
// that is still recording is refused.
func TestRecordingFailures(t *testing.T) {
	r := newRig(t, false)
	ctx := context.Background()
	_, ch := r.answered(t, esltest.CallSpec{Caller: "13900000105"})
	// Not started: the directory is not there (FreeSWITCH cannot open
	// the file).
	if err := os.RemoveAll(r.dir); err != nil {
		t.Fatal(err)
	}
	err := r.d.Do(ctx, pbx.RecordChannel{Channel: ch, Name: "vm-x", Format: "wav", MaxDuration: time.Minute})
	if err == nil || errors.Is(err, pbx.ErrNotFound) || errors.Is(err, pbx.ErrInvalid) {
		t.Fatalf("RecordChannel into a missing directory = %v, want the switch's refusal", err)
	}
	if err := r.d.Do(ctx, pbx.StopRecording{Name: "vm-x"}); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("StopRecording of a recording that never started = %v, want ErrNotFound", err)
	}

	// Started, then the file cannot be written.
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Do(ctx, pbx.RecordChannel{Channel: ch, Name: "vm-y", Format: "wav", MaxDuration: time.Minute}); err != nil {
		t.Fatal(err)
	}
	r.wait(t, "RecordingStarted", func(e pbx.Event) bool { return e.Kind == pbx.RecordingStarted && e.Recording == "vm-y" })
	if err := r.d.Do(ctx, pbx.RecordChannel{Channel: ch, Name: "vm-y", Format: "wav", MaxDuration: time.Minute}); !errors.Is(err, pbx.ErrInvalid) {
		t.Fatalf("a second RecordChannel of a live name = %v, want ErrInvalid", err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := os.RemoveAll(r.dir); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Do(ctx, pbx.StopRecording{Name: "vm-y"}); err != nil {
		t.Fatal(err)
	}
	ev := r.wait(t, "recording end", func(e pbx.Event) bool {
		return (e.Kind == pbx.RecordingFinished || e.Kind == pbx.RecordingFailed) && e.Recording == "vm-y"
	})
	if ev.Kind != pbx.RecordingFailed || ev.CauseText != "uri-failure" {
		t.Fatalf("unwritable recording ended %v %q, want RecordingFailed uri-failure", ev.Kind, ev.CauseText)
	}
	if err := r.d.Do(ctx, pbx.ResumeRecording{Name: "vm-y"}); !errors.Is(err, pbx.ErrNotFound) {
		t.Fatalf("ResumeRecording after the end = %v, want ErrNotFound", err)
	}
}

// TestRecordingEndsAtItsLimit: MaxDuration bounds a voice message on
// FreeSWITCH's side (uuid_record's limit).
func TestRecordingEndsAtItsLimit(t *testing.T) {
	r := newRig(t, false)
	_, ch := r.answered(t, esltest.CallSpec{Caller: "13900000106"})
	begin := time.Now()
	if err := r.d.Do(context.Background(), pbx.RecordChannel{Channel: ch, Name: "vm-max", Format: "wav", MaxDuration: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ev := r.wait(t, "recording end", func(e pbx.Event) bool {
		return (e.Kind == pbx.RecordingFinished || e.Kind == pbx.RecordingFailed) && e.Recording == "vm-max"
	})
	took := time.Since(begin)
	if ev.Kind != pbx.RecordingFinished || took < 2*time.Second || took > 4*time.Second {
		t.Fatalf("recording ended %v after %s, want RecordingFinished at its limit rounded up to 2 s", ev.Kind, took)
	}
	if s := wavSamples(t, filepath.Join(r.dir, "vm-max.wav")); len(s) < 15000 {
		t.Fatalf("recording holds %d samples, want about 2 s", len(s))
	}
}
