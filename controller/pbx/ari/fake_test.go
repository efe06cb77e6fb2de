package ari

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// fakeARI is a minimal stand-in for Asterisk's ARI HTTP server, for unit
// tests that need to control the wire (flood it, cut it, refuse it). It
// speaks the same URLs, basic auth, JSON shapes and status codes as
// Asterisk 22 for the few resources the driver touches; the real thing is
// exercised by the integration suite (integration_test.go).
type fakeARI struct {
	t    *testing.T
	srv  *httptest.Server
	user string
	pass string

	mu        sync.Mutex
	channels  string // JSON of GET /channels
	bridges   string // JSON of GET /bridges
	appChans  []string
	requests  []string // "METHOD /path?query" of REST calls, in arrival order
	replies   map[string]fakeReply
	snapshots int

	conns chan *websocket.Conn // each accepted event socket
}

type fakeReply struct {
	status int
	body   string
}

func newFakeARI(t *testing.T) *fakeARI {
	f := newFakeARIUnstarted(t)
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func newFakeARIUnstarted(t *testing.T) *fakeARI {
	f := &fakeARI{
		t: t, user: "hotline", pass: "s3cret",
		channels: "[]", bridges: "[]",
		replies: map[string]fakeReply{},
		conns:   make(chan *websocket.Conn, 16),
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	return f
}

// startOn starts the unstarted server on addr (host:port).
func (f *fakeARI) startOn(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	f.srv.Listener.Close()
	f.srv.Listener = l
	f.srv.Start()
	f.t.Cleanup(f.srv.Close)
	return nil
}

func (f *fakeARI) config() Config {
	return Config{URL: f.srv.URL, Username: f.user, Password: f.pass, App: "hotline"}
}

var upgrader = websocket.Upgrader{}

func (f *fakeARI) serve(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || u != f.user || p != f.pass {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"Authentication required"}`))
		return
	}
	if r.URL.Path == "/ari/events" {
		if r.URL.Query().Get("app") != "hotline" || r.URL.Query().Get("subscribeAll") != "false" {
			http.Error(w, `{"message":"bad app"}`, http.StatusBadRequest)
			return
		}
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		f.conns <- c
		return
	}
	key := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/ari")
	if r.URL.RawQuery != "" {
		key += "?" + r.URL.Query().Encode()
	}
	f.mu.Lock()
	reply, canned := f.replies[r.Method+" "+strings.TrimPrefix(r.URL.Path, "/ari")]
	var body string
	switch {
	case canned:
	case r.Method == "GET" && r.URL.Path == "/ari/channels":
		f.snapshots++
		body = f.channels
	case r.Method == "GET" && r.URL.Path == "/ari/bridges":
		body = f.bridges
	case r.Method == "GET" && r.URL.Path == "/ari/applications/hotline":
		b, _ := json.Marshal(map[string]any{"name": "hotline", "channel_ids": f.appChans, "bridge_ids": []string{}, "endpoint_ids": []string{}, "device_names": []string{}})
		body = string(b)
	default:
		f.requests = append(f.requests, key)
		reply = fakeReply{status: http.StatusNoContent}
		canned = true
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if canned {
		w.WriteHeader(reply.status)
		w.Write([]byte(reply.body))
		return
	}
	w.Write([]byte(body))
}

func (f *fakeARI) reply(methodPath string, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[methodPath] = fakeReply{status, body}
}

func (f *fakeARI) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}
