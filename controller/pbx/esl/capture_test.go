package esl_test

import (
	"bufio"
	"context"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/pbx/esl/esltest"
)

var updateCapture = flag.Bool("update-capture", false, "re-record testdata/capture.esl from esltest")

const capturePath = "testdata/capture.esl"

// TestCapture re-records (with -update-capture) the raw byte stream a
// listener subscribed to ALL receives while esltest runs calls through
// answer, playback, DTMF, originate, bridge, record and hang-up; the
// stream is the benchmark input, the fuzz seed and the CLI's test input.
// Without the flag it checks the capture is there and decodes cleanly.
func TestCapture(t *testing.T) {
	if *updateCapture {
		recordCapture(t)
	}
	data, err := os.ReadFile(capturePath)
	if err != nil {
		t.Fatalf("%v (run with -update-capture)", err)
	}
	n, err := countEvents(data)
	if err != nil || n < 50 {
		t.Fatalf("capture: %d events, %v", n, err)
	}
}

func recordCapture(t *testing.T) {
	srv, err := esltest.Start(esltest.Options{Password: testPassword, AgentAnswerDelay: 200 * time.Millisecond, FileDuration: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var out strings.Builder
	br := bufio.NewReader(nc)
	captured := make(chan struct{})
	go func() {
		defer close(captured)
		io.Copy(&out, br)
	}()
	io.WriteString(nc, "auth "+testPassword+"\n\nevent plain ALL\n\n")
	time.Sleep(100 * time.Millisecond)

	h := &harness{srv: srv, dir: t.TempDir()}
	d := h.NewDriver(t)
	ctx, cancel := context.WithCancel(context.Background())
	go d.Run(ctx)
	evs := d.Events()
	wait := func(k pbx.EventKind) pbx.Event {
		for e := range evs {
			if e.Kind == k {
				return e
			}
		}
		t.Fatal("events closed")
		return pbx.Event{}
	}
	wait(pbx.Resynced)
	for i, caller := range []string{"13800000001", "13800000002"} {
		srv.PlaceCall(esltest.CallSpec{Service: "10000", Caller: caller, Keys: []string{"1#"}, KeyDelay: 50 * time.Millisecond, HangupAfter: 2 * time.Second})
		ch := wait(pbx.ChannelStarted).Channel
		d.Do(ctx, pbx.Answer{Channel: ch})
		d.Do(ctx, pbx.Play{Channel: ch, ID: pbx.PlaybackID("pb-" + caller), Media: []string{"sound:ivr/ivr-welcome", "digits:12"}})
		leg := pbx.ChannelID("leg-" + caller)
		d.Do(ctx, pbx.Originate{ID: leg, Endpoint: "user/agent1", CallerID: "10000", CallerName: "Hotline Q1", Args: []string{"agent", "1"}})
		for e := wait(pbx.ChannelStarted); e.Channel != leg; e = wait(pbx.ChannelStarted) {
		}
		br := pbx.BridgeID("br-" + caller)
		d.Do(ctx, pbx.CreateBridge{ID: br})
		d.Do(ctx, pbx.AddToBridge{Bridge: br, Channels: []pbx.ChannelID{ch, leg}})
		d.Do(ctx, pbx.RecordBridge{Bridge: br, Name: pbx.RecordingName("rec-" + caller), Format: "wav"})
		if i == 0 {
			d.Do(ctx, pbx.Hangup{Channel: leg})
		}
		wait(pbx.ChannelHungup)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	nc.Close()
	<-captured
	if err := os.WriteFile(filepath.Clean(capturePath), []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
