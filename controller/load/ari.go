package load

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// watcher is a read-only ARI observer (its own app, subscribeAll) that
// measures app_queue's queue-entry → agent-ringing delay from Asterisk's
// own event timestamps: the caller's ChannelDialplan event for Queue, the
// Dial event linking caller and agent channel, the agent channel's change
// to Ringing. It is connected during both sides so that its cost to
// Asterisk is the same for both.
type watcher struct {
	conn *websocket.Conn
	mu   sync.Mutex
	// caller channel id → time it entered Queue()
	queued map[string]time.Time
	// caller id → first agent channel dialled, and when
	firstPeer map[string]peerDial
	// agent channel id → time it went Ringing
	ringing map[string]time.Time
	// every agent channel dialled by a caller (answered or not)
	peerCaller map[string]string
	done       chan struct{}
}

type peerDial struct {
	peer string
	at   time.Time
}

const ariTime = "2006-01-02T15:04:05.000-0700"

func dialWatcher(ctx context.Context, ariURL, user, pass, app string) (*watcher, error) {
	u, err := url.Parse(ariURL)
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ari/events"
	u.RawQuery = url.Values{"app": {app}, "subscribeAll": {"true"}}.Encode()
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, ReadBufferSize: 256 << 10}
	conn, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("ARI events: %s: %w", resp.Status, err)
		}
		return nil, fmt.Errorf("ARI events: %w", err)
	}
	conn.SetReadLimit(16 << 20)
	w := &watcher{conn: conn, done: make(chan struct{})}
	w.reset()
	go w.read()
	// Only the three event kinds we use: less for Asterisk to send.
	body := `{"allowed":[{"type":"ChannelDialplan"},{"type":"Dial"},{"type":"ChannelStateChange"}]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(ariURL, "/")+"/ari/applications/"+app+"/eventFilter", strings.NewReader(body))
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	return w, nil
}

func (w *watcher) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queued = map[string]time.Time{}
	w.firstPeer = map[string]peerDial{}
	w.ringing = map[string]time.Time{}
	w.peerCaller = map[string]string{}
}

type ariEvent struct {
	Type        string `json:"type"`
	Timestamp   string `json:"timestamp"`
	DialplanApp string `json:"dialplan_app"`
	DialStatus  string `json:"dialstatus"`
	Channel     *struct {
		ID, Name, State string
	} `json:"channel"`
	Caller *struct{ ID, Name string } `json:"caller"`
	Peer   *struct{ ID, Name string } `json:"peer"`
}

func (w *watcher) read() {
	defer close(w.done)
	for {
		_, b, err := w.conn.ReadMessage()
		if err != nil {
			return
		}
		var e ariEvent
		if json.Unmarshal(b, &e) != nil {
			continue
		}
		at, err := time.Parse(ariTime, e.Timestamp)
		if err != nil {
			continue
		}
		w.mu.Lock()
		switch e.Type {
		case "ChannelDialplan":
			if e.Channel != nil && e.DialplanApp == "Queue" && strings.HasPrefix(e.Channel.Name, "PJSIP/appqueue-") {
				if _, ok := w.queued[e.Channel.ID]; !ok {
					w.queued[e.Channel.ID] = at
				}
			}
		case "Dial":
			if e.Caller != nil && e.Peer != nil && e.DialStatus == "" {
				if _, ok := w.queued[e.Caller.ID]; ok {
					if _, ok := w.firstPeer[e.Caller.ID]; !ok {
						w.firstPeer[e.Caller.ID] = peerDial{e.Peer.ID, at}
					}
					w.peerCaller[e.Peer.ID] = e.Caller.ID
				}
			}
		case "ChannelStateChange":
			if e.Channel != nil && e.Channel.State == "Ringing" {
				if _, ok := w.ringing[e.Channel.ID]; !ok {
					w.ringing[e.Channel.ID] = at
				}
			}
		}
		w.mu.Unlock()
	}
}

// delays returns queue entry → agent ringing in ms: for callers whose
// first agent was dialled within 1 s of entering the queue (agent free,
// as hotline's measure), and for every caller whose agent phone rang
// (the earliest ringing agent channel; with ringinuse=no a queued caller
// rings the next free agent).
func (w *watcher) delays() (free, all []float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	firstRing := map[string]time.Time{}
	for peer, caller := range w.peerCaller {
		r, ok := w.ringing[peer]
		if !ok {
			continue
		}
		if t, ok := firstRing[caller]; !ok || r.Before(t) {
			firstRing[caller] = r
		}
	}
	for caller, q := range w.queued {
		r, ok := firstRing[caller]
		if !ok {
			continue
		}
		ms := float64(r.Sub(q).Microseconds()) / 1000
		all = append(all, ms)
		if fp, ok := w.firstPeer[caller]; ok && fp.at.Sub(q) < time.Second {
			if r1, ok := w.ringing[fp.peer]; ok {
				free = append(free, float64(r1.Sub(q).Microseconds())/1000)
			}
		}
	}
	return free, all
}

func (w *watcher) close() {
	_ = w.conn.Close()
	<-w.done
}
