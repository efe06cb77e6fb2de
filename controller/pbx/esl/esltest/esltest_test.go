package esltest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/pbx/esl"
	"github.com/hotline-cc/hotline/controller/pbx/esl/esltest"
)

const password = "esltest-s3cret"

// run starts a server and a driver connected to it, and returns the
// driver's events after its first Resynced.
func run(t *testing.T, opts esltest.Options) (*esltest.Server, *esl.Driver, <-chan pbx.Event) {
	t.Helper()
	opts.Password = password
	srv, err := esltest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := esl.New(esl.Config{Addr: srv.Addr(), Password: password, RecordingDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	if ev := next(t, d.Events()); ev.Kind != pbx.Resynced {
		t.Fatalf("first event %s, want Resynced", ev.Kind)
	}
	return srv, d, d.Events()
}

func next(t *testing.T, evs <-chan pbx.Event) pbx.Event {
	t.Helper()
	select {
	case ev := <-evs:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event in 10 s")
		return pbx.Event{}
	}
}

// until returns the first event of kind on ch, skipping others.
func until(t *testing.T, evs <-chan pbx.Event, kind pbx.EventKind, ch pbx.ChannelID) pbx.Event {
	t.Helper()
	for {
		if ev := next(t, evs); ev.Kind == kind && (ch == "" || ev.Channel == ch) {
			return ev
		}
	}
}

func TestAgentAnswerBehaviour(t *testing.T) {
	_, d, evs := run(t, esltest.Options{AgentAnswerDelay: 5 * time.Second,
		Agents: map[string]esltest.Agent{"bob": {AnswerAfter: 200 * time.Millisecond}, "agent7": {NoAnswer: true}}})
	ctx := context.Background()

	// A listed user answers after its own delay, whatever its name.
	begin := time.Now()
	if err := d.Do(ctx, pbx.Originate{ID: "leg-bob", Endpoint: "user/bob", Timeout: 3 * time.Second, Args: []string{"agent", "x"}}); err != nil {
		t.Fatal(err)
	}
	until(t, evs, pbx.ChannelRinging, "leg-bob")
	ev := until(t, evs, pbx.ChannelStarted, "leg-bob")
	if took := time.Since(begin); took < 200*time.Millisecond || took > 2*time.Second {
		t.Errorf("user/bob answered after %s, want about 200ms", took)
	}
	if len(ev.Args) != 2 || ev.Args[0] != "agent" {
		t.Errorf("args %v", ev.Args)
	}

	// A NoAnswer user rings out at originate_timeout with NO_ANSWER.
	begin = time.Now()
	if err := d.Do(ctx, pbx.Originate{ID: "leg-7", Endpoint: "user/agent7", Timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	until(t, evs, pbx.ChannelRinging, "leg-7")
	ev = until(t, evs, pbx.ChannelHungup, "leg-7")
	if ev.Cause != 19 || ev.CauseText != "NO_ANSWER" {
		t.Errorf("hang-up cause %d %s, want 19 NO_ANSWER", ev.Cause, ev.CauseText)
	}
	if took := time.Since(begin); took < time.Second {
		t.Errorf("rang out after %s, before originate_timeout 1s", took)
	}
}

func TestKeysOnPrompt(t *testing.T) {
	srv, d, evs := run(t, esltest.Options{FileDuration: 300 * time.Millisecond})
	ctx := context.Background()
	call := srv.PlaceCall(esltest.CallSpec{Service: "10000", Caller: "555", Keys: []string{"7"},
		KeysOnPrompt: "menu", KeyDelay: 100 * time.Millisecond})
	ch := pbx.ChannelID(call.UUID)
	until(t, evs, pbx.ChannelStarted, ch)
	if err := d.Do(ctx, pbx.Answer{Channel: ch}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		id    pbx.PlaybackID
		media string
	}{{"p1", "sound:greeting"}, {"p2", "sound:menu"}} {
		if err := d.Do(ctx, pbx.Play{Channel: ch, ID: p.id, Media: []string{p.media}}); err != nil {
			t.Fatal(err)
		}
	}
	// Both plays are queued on the channel and run in turn: the key
	// comes in the middle of the menu, not during the greeting.
	var seen []string
	for {
		ev := next(t, evs)
		switch ev.Kind {
		case pbx.PlaybackStarted, pbx.PlaybackFinished:
			seen = append(seen, ev.Kind.String()+" "+string(ev.Playback))
		case pbx.DTMF:
			seen = append(seen, "DTMF "+ev.Digit)
		}
		if ev.Kind == pbx.DTMF {
			break
		}
	}
	want := "PlaybackStarted p1,PlaybackFinished p1,PlaybackStarted p2,DTMF 7"
	if got := strings.Join(seen, ","); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	srv.Hangup(call.UUID, "NORMAL_CLEARING")
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := call.Wait(wctx); err != nil {
		t.Fatal(err)
	}
}
