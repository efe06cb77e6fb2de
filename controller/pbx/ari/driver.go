package ari

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// MaxConns is how many HTTP connections the driver opens to Asterisk at
// most: below Asterisk's default sessionlimit (100), leaving room for the
// event websocket and an operator's own ARI clients.
const MaxConns = 64

// Config says where Asterisk's ARI is and who hotline is to it.
type Config struct {
	// URL is Asterisk's HTTP server, e.g. "http://127.0.0.1:8088"; a
	// trailing "/ari" is accepted and ignored.
	URL string
	// Username and Password are an ARI user from ari.conf.
	Username string
	Password string
	// App is the Stasis application name the dialplan hands calls to.
	App    string
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the reconnect delay (defaults 100ms
	// and 5s); each wait is jittered.
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient carries commands; nil means a client tuned for many
	// concurrent commands to one host.
	HTTPClient *http.Client
	// CommandTimeout bounds the wait for a command's reply when the
	// caller's context does not end sooner (default pbx.DefaultCommandTimeout).
	CommandTimeout time.Duration
}

// Tunables that are not configuration.
const (
	eventBuffer     = 4096             // events queued for a slow consumer before the reader blocks
	dialTimeout     = 10 * time.Second // WebSocket handshake
	pingInterval    = 10 * time.Second // WebSocket keepalive; Asterisk answers pings with pongs
	readIdleTimeout = 3 * pingInterval // no frame at all for this long: the link is dead
	maxErrorBody    = 4096             // bytes of an ARI error reply kept in the error
)

// errReplaced: another client connected an event socket for our
// application, and Asterisk sends this one nothing more.
var errReplaced = errors.New("ari: another client took over the ARI application (ApplicationReplaced); is a second controller running with the same app name?")

// Driver is a pbx.Driver for Asterisk over ARI. Create it with New; call
// Run once; call Do and Snapshot from any number of goroutines.
type Driver struct {
	cfg    Config
	base   *url.URL // http(s)://host:port/ari
	wsURL  string
	log    *slog.Logger
	http   *http.Client
	events chan pbx.Event
	seq    uint64 // written only by Run's goroutine
	// connected is true between a Resynced and the next LinkDown.
	connected atomic.Bool
	running   atomic.Bool
	dialer    *websocket.Dialer
	hangups   *hangups
	latency   pbx.Latency // per command type: how long Asterisk took to reply
}

// Latency summarises, per command type, how long Asterisk took to reply.
func (d *Driver) Latency() []pbx.LatencyStat { return d.latency.Stats() }

var _ pbx.Driver = (*Driver)(nil)

// New checks cfg and returns a driver that is not yet connected.
func New(cfg Config) (*Driver, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil {
		return nil, fmt.Errorf("ari: URL %q: %w", cfg.URL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ari: URL %q must be http://host:port or https://host:port", cfg.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("ari: URL %q must not carry a query, fragment or credentials", cfg.URL)
	}
	if !pbx.ValidID(cfg.App) {
		return nil, fmt.Errorf("ari: app %q is not a valid name", cfg.App)
	}
	if cfg.Username == "" {
		return nil, errors.New("ari: username is empty")
	}
	if cfg.Password == "" {
		return nil, errors.New("ari: password is empty")
	}
	b, err := pbx.Backoff{Min: cfg.MinBackoff, Max: cfg.MaxBackoff}.Defaults("ari")
	if err != nil {
		return nil, err
	}
	cfg.MinBackoff, cfg.MaxBackoff = b.Min, b.Max
	cfg.CommandTimeout = pbx.CommandTimeout(cfg.CommandTimeout)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil // Asterisk is local or on the switch's own network
		tr.MaxIdleConns = 256
		tr.MaxIdleConnsPerHost = MaxConns
		// Asterisk serves at most http.conf's sessionlimit (100 by
		// default) HTTP connections and drops the rest ("HTTP session
		// count exceeded"): at 30 calls/s the commands of hundreds of
		// calls at once failed that way. Commands beyond MaxConns wait
		// for a free connection instead.
		tr.MaxConnsPerHost = MaxConns
		cfg.HTTPClient = &http.Client{Transport: tr}
	}
	base := *u
	base.Path = strings.TrimSuffix(strings.TrimSuffix(base.Path, "/"), "/ari") + "/ari"
	ws := base
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	ws.Path += "/events"
	ws.RawQuery = url.Values{"app": {cfg.App}, "subscribeAll": {"false"}}.Encode()

	return &Driver{
		cfg:     cfg,
		base:    &base,
		wsURL:   ws.String(),
		log:     cfg.Logger.With("component", "ari", "app", cfg.App),
		http:    cfg.HTTPClient,
		events:  make(chan pbx.Event, eventBuffer),
		dialer:  &websocket.Dialer{HandshakeTimeout: dialTimeout, ReadBufferSize: 64 << 10},
		hangups: newHangups(),
	}, nil
}

// Events implements pbx.Driver. The channel is closed when Run returns.
func (d *Driver) Events() <-chan pbx.Event { return d.events }

// Connected reports whether the event link is up and resynced.
func (d *Driver) Connected() bool { return d.connected.Load() }

// Run implements pbx.Driver. It may be called once.
func (d *Driver) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("ari: Run called twice")
	}
	defer close(d.events)
	defer d.connected.Store(false)

	attempt := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		conn, err := d.dial(ctx)
		if err == nil {
			before := d.seq
			err = d.session(ctx, conn)
			if d.seq > before {
				attempt = 0 // it came up (Resynced): back-off starts afresh
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, pbx.ErrAuth) {
				return err
			}
			if errors.Is(err, errReplaced) {
				// Taking the application back at once would start a
				// tug of war with the other client: wait the longest.
				d.log.Error("asterisk ARI application taken over by another client, reconnecting", "url", d.wsURL, "error", err)
				attempt = 64
			} else {
				d.log.Warn("asterisk ARI link lost, reconnecting", "url", d.wsURL, "error", err)
			}
		} else {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, pbx.ErrAuth) {
				d.log.Error("asterisk ARI rejected credentials", "url", d.wsURL, "user", d.cfg.Username, "error", err)
				return err
			}
		}
		wait := pbx.Backoff{Min: d.cfg.MinBackoff, Max: d.cfg.MaxBackoff}.Wait(attempt)
		attempt++
		if err != nil && conn == nil {
			d.log.Warn("asterisk ARI unreachable, retrying", "url", d.wsURL, "error", err,
				"attempt", attempt, "retry_in", wait.Round(time.Millisecond))
		}
		if err := pbx.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// dial opens the event WebSocket. A 401 or 403 wraps pbx.ErrAuth.
func (d *Driver) dial(ctx context.Context) (*websocket.Conn, error) {
	h := http.Header{}
	req := &http.Request{Header: h}
	req.SetBasicAuth(d.cfg.Username, d.cfg.Password)
	conn, resp, err := d.dialer.DialContext(ctx, d.wsURL, h)
	if err != nil {
		if resp != nil {
			defer resp.Body.Close()
			msg := readMessage(resp)
			switch resp.StatusCode {
			case http.StatusUnauthorized, http.StatusForbidden:
				return nil, fmt.Errorf("%w: websocket handshake: %s %s", pbx.ErrAuth, resp.Status, msg)
			}
			return nil, fmt.Errorf("ari: websocket handshake: %s %s: %w", resp.Status, msg, err)
		}
		return nil, fmt.Errorf("ari: dial %s: %w", d.wsURL, err)
	}
	return conn, nil
}

// session runs one connected WebSocket: resync, then read and deliver
// frames until the link fails or ctx ends. It is the only reader.
func (d *Driver) session(ctx context.Context, conn *websocket.Conn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()

	done := make(chan struct{})
	defer close(done)
	go d.keepalive(conn, done)
	conn.SetPongHandler(func(string) error {
		return conn.SetReadDeadline(time.Now().Add(readIdleTimeout))
	})

	if err := d.setEventFilter(ctx); err != nil {
		d.log.Warn("ARI event filter not set: Asterisk sends every event type", "error", err)
	}
	// Events that arrive while the snapshot is taken wait in the socket
	// and are delivered after Resynced; a consumer may see an event about
	// something the snapshot already shows, never the reverse.
	snap, err := d.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("ari: resync: %w", err)
	}
	// Connected before Resynced is delivered: a consumer that has
	// received Resynced must never see Connected() false.
	d.connected.Store(true)
	if err := d.deliver(ctx, pbx.Event{Kind: pbx.Resynced, At: time.Now(), Snapshot: &snap}); err != nil {
		return err
	}
	d.log.Info("asterisk ARI connected", "url", d.wsURL,
		"channels", len(snap.Channels), "bridges", len(snap.Bridges))

	for {
		if err := conn.SetReadDeadline(time.Now().Add(readIdleTimeout)); err != nil {
			return d.linkDown(ctx, err)
		}
		mt, data, err := conn.ReadMessage()
		if err != nil {
			return d.linkDown(ctx, err)
		}
		if mt != websocket.TextMessage {
			d.log.Debug("ARI binary frame ignored", "bytes", len(data))
			continue
		}
		f, err := decodeEvent(data)
		if err != nil {
			d.log.Error("ARI event skipped: cannot decode", "error", err, "frame", truncate(data, 512))
			continue
		}
		if f.Type == "ApplicationReplaced" {
			return d.linkDown(ctx, errReplaced)
		}
		if !d.hangups.observe(&f, time.Now()) {
			d.log.Debug("ARI event not delivered", "type", f.Type, "channel", f.Event.Channel)
			continue
		}
		if err := d.deliver(ctx, f.Event); err != nil {
			return err
		}
	}
}

// linkDown delivers LinkDown for a session that was up and returns err.
func (d *Driver) linkDown(ctx context.Context, err error) error {
	d.connected.Store(false)
	// Pooled command connections to a restarted Asterisk are dead too;
	// drop them so the next command dials afresh instead of failing.
	d.http.CloseIdleConnections()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if derr := d.deliver(ctx, pbx.Event{Kind: pbx.LinkDown, At: time.Now()}); derr != nil {
		return derr
	}
	return err
}

// keepalive pings Asterisk so a silently dead link is noticed.
func (d *Driver) keepalive(conn *websocket.Conn, done <-chan struct{}) {
	t := time.NewTicker(pingInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			// WriteControl may run concurrently with the reader.
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(pingInterval)); err != nil {
				return
			}
		}
	}
}

// deliver assigns the next Seq and blocks until the consumer takes the
// event or ctx ends: back-pressure, never a drop.
func (d *Driver) deliver(ctx context.Context, ev pbx.Event) error {
	ev.Seq = d.seq + 1
	select {
	case d.events <- ev:
		d.seq++
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
