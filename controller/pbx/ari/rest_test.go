package ari

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

func TestDoSendsRenderedRequest(t *testing.T) {
	f := newFakeARI(t)
	d, err := New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range renderCases {
		if err := d.Do(ctx, c.cmd); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	got := f.got()
	if len(got) != len(renderCases) {
		t.Fatalf("server saw %d requests, want %d", len(got), len(renderCases))
	}
	for i, c := range renderCases {
		r, _ := render(c.cmd, "hotline")
		if got[i] != r.String() {
			t.Errorf("%s: server saw %q, want %q", c.name, got[i], r)
		}
	}
}

func TestDoErrors(t *testing.T) {
	f := newFakeARI(t)
	d, _ := New(f.config())
	ctx := context.Background()

	if err := d.Do(ctx, pbx.Answer{Channel: "bad id/../x"}); !errors.Is(err, pbx.ErrInvalid) {
		t.Errorf("invalid: %v", err)
	}
	if err := d.Do(ctx, nil); !errors.Is(err, pbx.ErrInvalid) {
		t.Errorf("nil: %v", err)
	}
	if len(f.got()) != 0 {
		t.Errorf("invalid commands were sent: %v", f.got())
	}

	f.reply("POST /channels/gone/answer", http.StatusNotFound, `{"message":"Channel not found"}`)
	err := d.Do(ctx, pbx.Answer{Channel: "gone"})
	if !errors.Is(err, pbx.ErrNotFound) || !strings.Contains(err.Error(), "Channel not found") {
		t.Errorf("404: %v", err)
	}
	f.reply("POST /channels/c2/answer", http.StatusConflict, `{"message":"Channel not in Stasis application"}`)
	err = d.Do(ctx, pbx.Answer{Channel: "c2"})
	if err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "Channel not in Stasis application") {
		t.Errorf("409: %v", err)
	}
	f.reply("POST /bridges/b1/record", http.StatusUnprocessableEntity, `not json`)
	err = d.Do(ctx, pbx.RecordBridge{Bridge: "b1", Name: "r", Format: "wav"})
	if err == nil || !strings.Contains(err.Error(), "422") || !strings.Contains(err.Error(), "not json") {
		t.Errorf("422: %v", err)
	}
	f.reply("DELETE /channels/c3", http.StatusInternalServerError, `{"message":"boom"}`)
	if err := d.Do(ctx, pbx.Hangup{Channel: "c3"}); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("500: %v", err)
	}

	cfg := f.config()
	cfg.Password = "wrong"
	bad, _ := New(cfg)
	if err := bad.Do(ctx, pbx.Answer{Channel: "c1"}); !errors.Is(err, pbx.ErrAuth) {
		t.Errorf("401: %v", err)
	}
	if _, err := bad.Snapshot(ctx); !errors.Is(err, pbx.ErrAuth) {
		t.Errorf("snapshot 401: %v", err)
	}
	f.srv.Close()
	d.http.CloseIdleConnections() // as the driver does on LinkDown
	if err := d.Do(ctx, pbx.Answer{Channel: "c1"}); !errors.Is(err, pbx.ErrNotConnected) {
		t.Errorf("refused: %v", err)
	}
}

// TestDoConcurrent: hundreds of callers at once, each request arrives.
func TestDoConcurrent(t *testing.T) {
	f := newFakeARI(t)
	d, _ := New(f.config())
	const n = 300
	answerAll(t, d, n)
	if got := len(f.got()); got != n {
		t.Fatalf("server saw %d requests, want %d", got, n)
	}
}

func TestSnapshotWithoutApplication(t *testing.T) {
	f := newFakeARI(t)
	f.reply("GET /applications/hotline", http.StatusNotFound, `{"message":"Application not found"}`)
	f.channels = `[{"id":"c1","state":"Up","dialplan":{"app_name":"Stasis","app_data":"hotline"}},{"id":"c2","state":"Down","dialplan":{"app_name":"Dial","app_data":"PJSIP/x"}}]`
	d, _ := New(f.config())
	s, err := d.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := s.Channel("c1")
	c2, _ := s.Channel("c2")
	if !c1.InApp || c2.InApp || c2.State != pbx.StateDown {
		t.Errorf("c1 %+v c2 %+v", c1, c2)
	}
}

// TestDoStaysUnderAsteriskSessionLimit: however many commands run at
// once, the driver opens at most MaxConns connections to Asterisk
// (which drops connections beyond its sessionlimit, 100 by default);
// the others wait for a free one, and every command succeeds.
func TestDoStaysUnderAsteriskSessionLimit(t *testing.T) {
	var mu sync.Mutex
	open, most := 0, 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // a busy Asterisk
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open++
			most = max(most, open)
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	srv.Start()
	defer srv.Close()
	d, err := New(Config{URL: srv.URL, Username: "hotline", Password: "s3cret", App: "hotline"})
	if err != nil {
		t.Fatal(err)
	}
	answerAll(t, d, 400)
	mu.Lock()
	defer mu.Unlock()
	if most > MaxConns || most < 2 {
		t.Fatalf("%d connections open at once, want at most %d (and more than one)", most, MaxConns)
	}
}

// answerAll sends n Answer commands at once and fails on any error.
func answerAll(t *testing.T, d *Driver, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- d.Do(context.Background(), pbx.Answer{Channel: pbx.ChannelID(fmt.Sprintf("c%d", i))})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
