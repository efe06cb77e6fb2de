package ari

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// syncBuffer is a log sink safe for the driver's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(t *testing.T) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// startDriver runs d until the test ends and returns Run's result channel.
func startDriver(t *testing.T, d *Driver) (context.CancelFunc, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-errc:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return cancel, errc
}

func next(t *testing.T, d *Driver) pbx.Event {
	t.Helper()
	select {
	case ev, ok := <-d.Events():
		if !ok {
			t.Fatal("events channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	panic("unreachable")
}

func acceptConn(t *testing.T, f *fakeARI) *websocket.Conn {
	t.Helper()
	select {
	case c := <-f.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("driver did not connect within 5s")
	}
	panic("unreachable")
}

func dtmfFrame(i int) []byte {
	return fmt.Appendf(nil, `{"type":"ChannelDtmfReceived","timestamp":"2026-11-23T11:20:45.777+0000","digit":"%d","duration_ms":100,"channel":{"id":"c-%d","state":"Up"},"application":"hotline"}`, i%10, i)
}

func TestNewValidates(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:8088", Username: "u", Password: "p", App: "hotline"}
	if _, err := New(ok); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := map[string]func(*Config){
		"no scheme":     func(c *Config) { c.URL = "127.0.0.1:8088" },
		"ws scheme":     func(c *Config) { c.URL = "ws://127.0.0.1:8088" },
		"unparseable":   func(c *Config) { c.URL = "http://[::1" },
		"query":         func(c *Config) { c.URL = "http://h:8088/?x=1" },
		"app empty":     func(c *Config) { c.App = "" },
		"app slash":     func(c *Config) { c.App = "hot/line" },
		"no password":   func(c *Config) { c.Password = "" },
		"no user":       func(c *Config) { c.Username = "" },
		"backoff order": func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond },
	}
	for name, mut := range bad {
		c := ok
		mut(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
	d, _ := New(Config{URL: "https://pbx.example:8089/ari/", Username: "u", Password: "p", App: "hotline"})
	if d.wsURL != "wss://pbx.example:8089/ari/events?app=hotline&subscribeAll=false" || d.base.String() != "https://pbx.example:8089/ari" {
		t.Errorf("ws %s base %s", d.wsURL, d.base)
	}
}

// TestFirstConnectResyncs: Resynced comes first, on the first connect,
// with the snapshot the controller adopts calls from.
func TestFirstConnectResyncs(t *testing.T) {
	f := newFakeARI(t)
	f.channels = `[{"id":"c1","name":"PJSIP/carrier-00000001","state":"Up","caller":{"number":"13800138000"},"dialplan":{"context":"from-carrier","exten":"10000","app_name":"Stasis","app_data":"hotline"},"creationtime":"2026-11-23T11:20:41.001+0000"},
		{"id":"leg-1","name":"PJSIP/agent1-00000002","state":"Up","caller":{"number":"10000"},"dialplan":{"context":"default","exten":"s","app_name":"AppDial2","app_data":"(Outgoing Line)"}},
		{"id":"c9","name":"PJSIP/carrier-00000009","state":"Ring","caller":{"number":"1"},"dialplan":{"exten":"10000","app_name":"Stasis","app_data":"otherapp,x"}},
		{"id":"c10","name":"PJSIP/carrier-0000000a","state":"Ringing","caller":{"number":"1"},"dialplan":{"exten":"10000","app_name":"Stasis","app_data":"hotline,in"}}]`
	f.bridges = `[{"id":"br-1","technology":"simple_bridge","bridge_type":"mixing","channels":["c1","leg-1"]}]`
	f.appChans = []string{"c1", "leg-1"}
	cfg := f.config()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	startDriver(t, d)
	acceptConn(t, f)
	ev := next(t, d)
	if ev.Kind != pbx.Resynced || ev.Seq != 1 || ev.Snapshot == nil {
		t.Fatalf("first event %+v, want Resynced seq 1 with snapshot", ev)
	}
	s := ev.Snapshot
	want := map[pbx.ChannelID]struct {
		state pbx.ChannelState
		inApp bool
	}{"c1": {pbx.StateUp, true}, "leg-1": {pbx.StateUp, true}, "c9": {pbx.StateRinging, false}, "c10": {pbx.StateRinging, true}}
	for id, w := range want {
		c, ok := s.Channel(id)
		if !ok || c.State != w.state || c.InApp != w.inApp {
			t.Errorf("channel %s = %+v (found %v), want state %s inApp %v", id, c, ok, w.state, w.inApp)
		}
	}
	c1, _ := s.Channel("c1")
	if c1.Caller != "13800138000" || c1.Dialed != "10000" || c1.Name != "PJSIP/carrier-00000001" || c1.Created.IsZero() {
		t.Errorf("c1 = %+v", c1)
	}
	b, ok := s.Bridge("br-1")
	if !ok || len(b.Channels) != 2 || b.Channels[1] != "leg-1" {
		t.Errorf("bridge = %+v", b)
	}
	if !d.Connected() {
		t.Error("Connected() false after Resynced")
	}
	// Asterisk is asked for the decoded event types only.
	if got := f.got(); !slices.Contains(got, "PUT /applications/hotline/eventFilter") {
		t.Errorf("requests %v: no event filter set on connect", got)
	}
}

// TestSlowConsumerLosesNothing floods 10,000 events while the consumer
// is slow: every one arrives, in order, with consecutive Seq.
func TestSlowConsumerLosesNothing(t *testing.T) {
	const n = 10000
	f := newFakeARI(t)
	d, err := New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	startDriver(t, d)
	conn := acceptConn(t, f)
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			if err := conn.WriteMessage(websocket.TextMessage, dtmfFrame(i)); err != nil {
				sent <- err
				return
			}
			if i == n/2 { // noise the driver must skip without losing neighbours
				conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ChannelVarset","variable":"X"}`))
				conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"StasisStart","channel":`))
			}
		}
		sent <- nil
	}()
	ev := next(t, d)
	if ev.Kind != pbx.Resynced {
		t.Fatalf("first event %v", ev.Kind)
	}
	for i := range n {
		if i%1000 == 0 {
			time.Sleep(20 * time.Millisecond) // slow consumer: the buffer fills, the reader must wait
		}
		ev := next(t, d)
		if ev.Kind != pbx.DTMF || ev.Channel != pbx.ChannelID(fmt.Sprintf("c-%d", i)) || ev.Seq != uint64(i+2) {
			t.Fatalf("event %d = %v %s seq %d, want DTMF c-%d seq %d", i, ev.Kind, ev.Channel, ev.Seq, i, i+2)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// TestReconnectAfterDrop: a dropped socket gives LinkDown, then Resynced
// after the driver reconnects by itself, with Seq still consecutive.
func TestReconnectAfterDrop(t *testing.T) {
	f := newFakeARI(t)
	log, logs := testLogger(t)
	cfg := f.config()
	cfg.Logger = log
	cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	startDriver(t, d)
	conn := acceptConn(t, f)
	if ev := next(t, d); ev.Kind != pbx.Resynced {
		t.Fatalf("got %v", ev.Kind)
	}
	conn.WriteMessage(websocket.TextMessage, dtmfFrame(1))
	if ev := next(t, d); ev.Kind != pbx.DTMF || ev.Seq != 2 {
		t.Fatalf("got %+v", ev)
	}
	f.mu.Lock()
	f.channels = `[{"id":"c1","state":"Up","dialplan":{"app_name":"Stasis","app_data":"hotline"}}]`
	f.mu.Unlock()
	conn.UnderlyingConn().Close() // abrupt: no close frame, like a dead TCP link

	if ev := next(t, d); ev.Kind != pbx.LinkDown || ev.Seq != 3 {
		t.Fatalf("got %+v, want LinkDown seq 3", ev)
	}
	conn2 := acceptConn(t, f)
	ev := next(t, d)
	if ev.Kind != pbx.Resynced || ev.Seq != 4 {
		t.Fatalf("got %+v, want Resynced seq 4", ev)
	}
	if c, ok := ev.Snapshot.Channel("c1"); !ok || !c.InApp {
		t.Fatalf("resync snapshot lacks live call: %+v", ev.Snapshot)
	}
	conn2.WriteMessage(websocket.TextMessage, dtmfFrame(2))
	if ev := next(t, d); ev.Kind != pbx.DTMF || ev.Seq != 5 {
		t.Fatalf("got %+v", ev)
	}
	// A graceful close by the server is a link drop too.
	conn2.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "shutdown"), time.Now().Add(time.Second))
	if ev := next(t, d); ev.Kind != pbx.LinkDown {
		t.Fatalf("got %v", ev.Kind)
	}
	acceptConn(t, f)
	if ev := next(t, d); ev.Kind != pbx.Resynced {
		t.Fatalf("got %v", ev.Kind)
	}
	if !strings.Contains(logs.String(), "link lost") {
		t.Errorf("no log line for the lost link:\n%s", logs)
	}
}

func TestBadCredentialsFailRunPromptly(t *testing.T) {
	f := newFakeARI(t)
	cfg := f.config()
	cfg.Password = "wrong"
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- d.Run(context.Background()) }()
	select {
	case err := <-errc:
		if !errors.Is(err, pbx.ErrAuth) {
			t.Fatalf("Run = %v, want ErrAuth", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return on 401")
	}
	if _, ok := <-d.Events(); ok {
		t.Error("events channel still open after Run returned")
	}
	if err := d.Run(context.Background()); err == nil {
		t.Error("second Run accepted")
	}
}

// TestServerDownAtStart: Run keeps retrying (and says so in the log)
// while nothing listens, then connects when the server comes up.
func TestServerDownAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	f := newFakeARIUnstarted(t)
	log, logs := testLogger(t)
	cfg := f.config()
	cfg.URL = "http://" + addr
	cfg.Logger = log
	cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 40*time.Millisecond
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, errc := startDriver(t, d)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "asterisk ARI unreachable, retrying") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no retry log lines:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-errc:
		t.Fatalf("Run returned while server down: %v", err)
	default:
	}
	if !strings.Contains(logs.String(), addr) {
		t.Errorf("retry log does not name the URL:\n%s", logs)
	}
	if err := d.Do(context.Background(), pbx.Answer{Channel: "c1"}); !errors.Is(err, pbx.ErrNotConnected) {
		t.Errorf("Do while down = %v, want ErrNotConnected", err)
	}
	if err := f.startOn(addr); err != nil {
		t.Fatal(err)
	}
	acceptConn(t, f)
	if ev := next(t, d); ev.Kind != pbx.Resynced || ev.Seq != 1 {
		t.Fatalf("got %+v, want Resynced seq 1", ev)
	}
}

func TestRunStopsOnCancelWhileConsumerAbsent(t *testing.T) {
	f := newFakeARI(t)
	d, _ := New(f.config())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	conn := acceptConn(t, f)
	// Fill the buffer and then some; nobody reads.
	go func() {
		for i := range eventBuffer + 100 {
			if conn.WriteMessage(websocket.TextMessage, dtmfFrame(i)) != nil {
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run blocked on a full buffer after cancel")
	}
}

// TestApplicationReplaced: when another client takes the application over,
// Asterisk goes silent on this socket; the driver reports LinkDown and
// reconnects only after the longest back-off.
func TestApplicationReplaced(t *testing.T) {
	f := newFakeARI(t)
	log, logs := testLogger(t)
	cfg := f.config()
	cfg.Logger = log
	cfg.MinBackoff, cfg.MaxBackoff = 5*time.Millisecond, 300*time.Millisecond
	d, _ := New(cfg)
	startDriver(t, d)
	conn := acceptConn(t, f)
	if ev := next(t, d); ev.Kind != pbx.Resynced {
		t.Fatalf("got %v", ev.Kind)
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ApplicationReplaced","application":"hotline"}`))
	if ev := next(t, d); ev.Kind != pbx.LinkDown {
		t.Fatalf("got %v, want LinkDown", ev.Kind)
	}
	down := time.Now()
	acceptConn(t, f)
	if waited := time.Since(down); waited < 150*time.Millisecond {
		t.Errorf("reconnected after %s, want the max back-off (>= half of 300ms)", waited)
	}
	if ev := next(t, d); ev.Kind != pbx.Resynced {
		t.Fatalf("got %v", ev.Kind)
	}
	if !strings.Contains(logs.String(), "taken over by another client") {
		t.Errorf("no log line naming the takeover:\n%s", logs)
	}
}
