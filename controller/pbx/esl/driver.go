package esl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// Config says where FreeSWITCH's event socket is and how to use it.
type Config struct {
	// Addr is mod_event_socket's listen address, e.g. "127.0.0.1:8021".
	Addr string
	// Password is event_socket.conf.xml's password. The shipped default
	// "ClueCon" is refused.
	Password string
	// RecordingDir is where FreeSWITCH writes recordings (an absolute
	// path as FreeSWITCH sees it), e.g. /var/lib/freeswitch/recordings.
	RecordingDir string
	Logger       *slog.Logger
	// MinBackoff and MaxBackoff bound the reconnect delay (defaults 100ms
	// and 5s); each wait is jittered.
	MinBackoff, MaxBackoff time.Duration
	// EventBuffer is the capacity of Events (default 4096).
	EventBuffer int
	// OutboundListen, when set, is the address hotline listens on for
	// FreeSWITCH's socket application (outbound mode), e.g.
	// "127.0.0.1:8084": each call the dialplan hands to
	// "socket 127.0.0.1:8084 async full" is controlled over its own
	// connection. Empty: inbound mode only (the dialplan parks calls).
	OutboundListen string
	// CommandTimeout bounds the wait for a reply when the caller's
	// context does not end sooner (default pbx.DefaultCommandTimeout).
	CommandTimeout time.Duration
}

// Tunables that are not configuration.
const (
	keepalive = 20 * time.Second // "api status" on an idle link
)

var recordingDirPattern = regexp.MustCompile(`^/[A-Za-z0-9/._-]{0,255}$`)

// Driver is a pbx.Driver for FreeSWITCH. Create it with New; call Run
// once; call Do and Snapshot from any number of goroutines.
type Driver struct {
	cfg    Config
	log    *slog.Logger
	events chan pbx.Event

	conn    atomic.Pointer[Conn] // the control connection, set between Resynced and LinkDown
	running atomic.Bool
	outAddr atomic.Pointer[string] // the outbound listener's address once listening

	mu        sync.Mutex // guards the maps below
	playbacks map[pbx.PlaybackID]pbx.ChannelID
	bridges   map[pbx.BridgeID][]pbx.ChannelID
	chBridge  map[pbx.ChannelID]pbx.BridgeID
	recs      map[pbx.RecordingName]recording
	calls     map[pbx.ChannelID]*Conn // channels controlled over their own outbound socket

	// dmu serialises mapping and delivery: the control connection and
	// every outbound socket deliver through it, so Seq is one sequence.
	dmu     sync.Mutex
	seq     uint64
	started map[pbx.ChannelID]bool
	ringing map[pbx.ChannelID]bool
	held    map[pbx.ChannelID]bool // put on hold by its phone (mapHold)

	bg sync.WaitGroup // commands the driver sends of its own accord (stopOnKey)

	// testDropTimedOutWaiter is passed to every Conn (see Conn); only
	// tests set it.
	testDropTimedOutWaiter bool
}

// recording is a recording hotline started, until its RECORD_STOP.
type recording struct {
	bridge    pbx.BridgeID  // RecordBridge: the bridge; RecordChannel: ""
	channel   pbx.ChannelID // the channel uuid_record runs on
	format    string
	terminate string // RecordChannel.TerminateOn
	live      bool   // its RECORD_START has come
	stopping  bool   // the driver has asked for the stop (stopOnKey)
}

var _ pbx.Driver = (*Driver)(nil)

// New checks cfg and returns a driver that is not yet connected.
func New(cfg Config) (*Driver, error) {
	if cfg.Addr == "" || checkLine(cfg.Addr) != nil {
		return nil, fmt.Errorf("esl: address %q must be host:port", cfg.Addr)
	}
	switch {
	case cfg.Password == "":
		return nil, errors.New("esl: password is empty")
	case cfg.Password == "ClueCon":
		return nil, errors.New("esl: password is FreeSWITCH's default ClueCon; set a password of your own in event_socket.conf.xml")
	case checkLine(cfg.Password) != nil || strings.ContainsAny(cfg.Password, " "):
		return nil, errors.New("esl: password must be one line without spaces")
	}
	if cfg.OutboundListen != "" {
		if host, port, err := net.SplitHostPort(cfg.OutboundListen); err != nil || host == "" || port == "" || checkLine(cfg.OutboundListen) != nil {
			return nil, fmt.Errorf("esl: outbound listen address %q must be host:port", cfg.OutboundListen)
		}
	}
	if !recordingDirPattern.MatchString(cfg.RecordingDir) || strings.Contains(cfg.RecordingDir, "..") {
		return nil, fmt.Errorf("esl: recording dir %q must be an absolute path of [A-Za-z0-9/._-]", cfg.RecordingDir)
	}
	b, err := pbx.Backoff{Min: cfg.MinBackoff, Max: cfg.MaxBackoff}.Defaults("esl")
	if err != nil {
		return nil, err
	}
	cfg.MinBackoff, cfg.MaxBackoff = b.Min, b.Max
	cfg.CommandTimeout = pbx.CommandTimeout(cfg.CommandTimeout)
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 4096
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Driver{
		cfg: cfg, log: cfg.Logger.With("component", "esl", "addr", cfg.Addr),
		events:    make(chan pbx.Event, cfg.EventBuffer),
		playbacks: map[pbx.PlaybackID]pbx.ChannelID{}, bridges: map[pbx.BridgeID][]pbx.ChannelID{},
		chBridge: map[pbx.ChannelID]pbx.BridgeID{}, recs: map[pbx.RecordingName]recording{},
		calls:   map[pbx.ChannelID]*Conn{},
		started: map[pbx.ChannelID]bool{}, ringing: map[pbx.ChannelID]bool{}, held: map[pbx.ChannelID]bool{},
	}, nil
}

// Events implements pbx.Driver. The channel is closed when Run returns.
func (d *Driver) Events() <-chan pbx.Event { return d.events }

// Connected reports whether the link is up and resynced.
func (d *Driver) Connected() bool { return d.conn.Load() != nil }

// OutboundAddr is the address the outbound listener is bound to (useful
// with a ":0" port), or "" when there is none or Run has not bound it yet.
func (d *Driver) OutboundAddr() string {
	if a := d.outAddr.Load(); a != nil {
		return *a
	}
	return ""
}

// Run implements pbx.Driver. It may be called once. With
// Config.OutboundListen it first binds that address; failing to bind is
// returned at once.
func (d *Driver) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("esl: Run called twice")
	}
	// Last: every connection is closed by then, so the driver's own
	// commands have their answer or ErrClosed.
	defer d.bg.Wait()
	defer close(d.events)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if d.cfg.OutboundListen != "" {
		stop, err := d.listenOutbound(ctx)
		if err != nil {
			return err
		}
		// Before close(d.events): no socket delivers after it. Cancel
		// first, so a socket blocked delivering to a consumer that
		// stopped reading gives up.
		defer func() { cancel(); stop() }()
	}
	attempt := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := Dial(ctx, d.cfg.Addr, d.cfg.Password, ConnOptions{Logger: d.log, EventBuffer: d.cfg.EventBuffer})
		if err == nil {
			c.testDropTimedOutWaiter = d.testDropTimedOutWaiter
			before := d.delivered()
			err = d.session(ctx, c)
			if d.delivered() > before {
				attempt = 0 // it came up: back-off starts afresh
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, pbx.ErrAuth) {
			d.log.Error("FreeSWITCH rejected hotline", "error", err)
			return err
		}
		wait := pbx.Backoff{Min: d.cfg.MinBackoff, Max: d.cfg.MaxBackoff}.Wait(attempt)
		attempt++
		d.log.Warn("FreeSWITCH event socket down, reconnecting", "error", err, "attempt", attempt, "retry_in", wait.Round(time.Millisecond))
		if err := pbx.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// session runs one connection: subscribe, snapshot, Resynced, then map
// and deliver events until the link fails or ctx ends. Events that
// arrive while the snapshot is taken wait in the Conn's buffer and are
// delivered after Resynced.
func (d *Driver) session(ctx context.Context, c *Conn) error {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()

	sctx, cancel := context.WithTimeout(ctx, d.cfg.CommandTimeout)
	var err error
	for _, m := range renderControlSetup() {
		if _, err = c.send(sctx, []byte(m)); err != nil {
			break
		}
	}
	if err == nil {
		var snap pbx.Snapshot
		var held []pbx.ChannelID
		snap, held, err = d.snapshotOn(sctx, c)
		if err == nil {
			cancel()
			// Commands work from the moment Resynced is delivered: whoever
			// reads it may act on the snapshot at once.
			d.conn.Store(c)
			if err := d.resynced(ctx, snap, held); err != nil {
				d.conn.Store(nil)
				return err
			}
			d.log.Info("FreeSWITCH connected", "channels", len(snap.Channels), "bridges", len(snap.Bridges))
		}
	}
	cancel()
	if err != nil {
		return fmt.Errorf("esl: resync: %w", err)
	}
	defer d.conn.Store(nil)

	tick := time.NewTicker(keepalive)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				return d.linkDown(ctx, c.Err())
			}
			if err := d.handle(ctx, ev, ""); err != nil {
				return err
			}
		case <-tick.C:
			go func() {
				kctx, cancel := context.WithTimeout(ctx, d.cfg.CommandTimeout)
				defer cancel()
				if _, err := c.API(kctx, "status"); err != nil && kctx.Err() != nil {
					d.log.Warn("FreeSWITCH keepalive unanswered, dropping link", "error", err)
					c.Close()
				}
			}()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (d *Driver) linkDown(ctx context.Context, err error) error {
	d.conn.Store(nil)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if derr := d.emit(ctx, pbx.Event{Kind: pbx.LinkDown, At: time.Now()}); derr != nil {
		return derr
	}
	if err == nil {
		err = ErrClosed
	}
	return err
}

// resynced resets the per-channel state from snap and delivers Resynced.
// held are the channels on hold now (callstate HELD).
func (d *Driver) resynced(ctx context.Context, snap pbx.Snapshot, held []pbx.ChannelID) error {
	d.dmu.Lock()
	defer d.dmu.Unlock()
	clear(d.started)
	clear(d.ringing)
	clear(d.held)
	for _, ch := range snap.Channels {
		if ch.InApp {
			d.started[ch.ID] = true
		}
	}
	for _, ch := range held {
		d.held[ch] = true
	}
	d.mu.Lock()
	for ch := range d.calls {
		d.started[ch] = true // announced when its socket connected
	}
	d.mu.Unlock()
	return d.deliver(ctx, pbx.Event{Kind: pbx.Resynced, At: time.Now(), Snapshot: &snap})
}

// handle maps one FreeSWITCH event and delivers what it means. call is
// the channel whose outbound socket it came over, "" for the control
// connection.
func (d *Driver) handle(ctx context.Context, ev *Event, call pbx.ChannelID) error {
	d.dmu.Lock()
	defer d.dmu.Unlock()
	if call == "" && d.ownedBySocket(pbx.ChannelID(ev.Get("Unique-ID"))) {
		// The call's own socket delivers its events (this is a DTMF,
		// which the control connection's filters pass by name).
		return nil
	}
	for _, pe := range d.mapEvent(ev) {
		if err := d.deliver(ctx, pe); err != nil {
			return err
		}
	}
	return nil
}

// emit delivers events that do not come from a FreeSWITCH event.
func (d *Driver) emit(ctx context.Context, evs ...pbx.Event) error {
	d.dmu.Lock()
	defer d.dmu.Unlock()
	for _, ev := range evs {
		if err := d.deliver(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

func (d *Driver) delivered() uint64 {
	d.dmu.Lock()
	defer d.dmu.Unlock()
	return d.seq
}

func (d *Driver) ownedBySocket(ch pbx.ChannelID) bool {
	if ch == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[ch] != nil
}

// deliver assigns the next Seq and blocks until the consumer takes the
// event or ctx ends: back-pressure, never a drop. Call with dmu held.
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

// Do implements pbx.Driver. Errors wrap pbx.ErrInvalid (not sent),
// pbx.ErrNotFound (FreeSWITCH or the driver does not know the channel,
// playback, bridge or recording) or pbx.ErrNotConnected.
func (d *Driver) Do(ctx context.Context, cmd pbx.Command) (err error) {
	if cmd == nil {
		return fmt.Errorf("%w: nil command", pbx.ErrInvalid)
	}
	if err := cmd.Validate(); err != nil {
		return err
	}
	env, err := d.prepare(cmd)
	if err != nil {
		return fmt.Errorf("esl: %T: %w", cmd, err)
	}
	defer func() {
		if err != nil {
			d.rollback(cmd)
		}
	}()
	c := d.conn.Load()
	if sc := d.callConn(cmd); sc != nil {
		c, env.Outbound = sc, true
	}
	msgs, err := render(cmd, env)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("esl: %T: %w", cmd, pbx.ErrNotConnected)
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.CommandTimeout) // or sooner, if ctx ends sooner
	defer cancel()
	for _, m := range msgs {
		if _, err := c.send(ctx, []byte(m)); err != nil {
			if errors.Is(err, ErrClosed) {
				return fmt.Errorf("esl: %T: %w: %w", cmd, pbx.ErrNotConnected, err)
			}
			if _, ok := cmd.(pbx.DestroyBridge); ok && errors.Is(err, pbx.ErrNotFound) {
				break // its channels are gone already
			}
			if alreadySo(cmd, err) {
				break
			}
			return fmt.Errorf("esl: %T: %w", cmd, err)
		}
	}
	d.commit(cmd)
	return nil
}

// alreadySo reports whether err is uuid_hold's "-ERR Operation failed"
// for Hold or Unhold. switch_ivr_hold fails only when the call is held
// already, switch_ivr_unhold only when it is not held (switch_ivr.c,
// callstate HELD): the channel is in the state asked for, which is what
// a repeated hold or unhold leaves on Asterisk too.
func alreadySo(cmd pbx.Command, err error) bool {
	switch cmd.(type) {
	case pbx.Hold, pbx.Unhold:
		var re *ReplyError
		return errors.As(err, &re) && re.Text == "-ERR Operation failed"
	}
	return false
}

// callConn returns the outbound socket of the channel a sendmsg command
// acts on, or nil (api commands and channels without a socket use the
// control connection).
func (d *Driver) callConn(cmd pbx.Command) *Conn {
	var ch pbx.ChannelID
	switch c := cmd.(type) {
	case pbx.Answer:
		ch = c.Channel
	case pbx.Ring:
		ch = c.Channel
	case pbx.Hangup:
		ch = c.Channel
	case pbx.Play:
		ch = c.Channel
	case pbx.StartMOH:
		ch = c.Channel
	default:
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[ch]
}

// prepare resolves the driver state a command needs and records what its
// events will need before they can arrive.
func (d *Driver) prepare(cmd pbx.Command) (renderEnv, error) {
	env := renderEnv{RecordingDir: d.cfg.RecordingDir}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch c := cmd.(type) {
	case pbx.Play:
		d.playbacks[c.ID] = c.Channel
	case pbx.StopPlayback:
		ch, ok := d.playbacks[c.ID]
		if !ok {
			return env, fmt.Errorf("%w: playback %s", pbx.ErrNotFound, c.ID)
		}
		env.Channel = ch
	case pbx.Originate:
		env.JobUUID = NewUUID()
	case pbx.AddToBridge:
		m, ok := d.bridges[c.Bridge]
		if !ok {
			return env, fmt.Errorf("%w: bridge %s", pbx.ErrNotFound, c.Bridge)
		}
		env.Members = m
		for _, ch := range c.Channels {
			d.chBridge[ch] = c.Bridge
		}
	case pbx.RemoveFromBridge, pbx.DestroyBridge, pbx.RecordBridge:
		br := bridgeOf(c)
		m, ok := d.bridges[br]
		if !ok {
			return env, fmt.Errorf("%w: bridge %s", pbx.ErrNotFound, br)
		}
		env.Members = m
		if rb, ok := c.(pbx.RecordBridge); ok && len(m) > 0 {
			d.recs[rb.Name] = recording{bridge: br, channel: m[0], format: rb.Format}
		}
	case pbx.RecordChannel:
		if _, ok := d.recs[c.Name]; ok {
			return env, fmt.Errorf("%w: recording %s is running already", pbx.ErrInvalid, c.Name)
		}
		d.recs[c.Name] = recording{channel: c.Channel, format: c.Format, terminate: c.TerminateOn}
	case pbx.StopRecording, pbx.PauseRecording, pbx.ResumeRecording:
		name := recordingOf(c)
		r, ok := d.recs[name]
		if !ok {
			return env, fmt.Errorf("%w: recording %s", pbx.ErrNotFound, name)
		}
		env.Channel, env.Format = r.channel, r.format
	}
	return env, nil
}

// bridgeOf is the bridge RemoveFromBridge, DestroyBridge or RecordBridge
// acts on ("" for other commands).
func bridgeOf(cmd pbx.Command) pbx.BridgeID {
	switch c := cmd.(type) {
	case pbx.RemoveFromBridge:
		return c.Bridge
	case pbx.DestroyBridge:
		return c.Bridge
	case pbx.RecordBridge:
		return c.Bridge
	}
	return ""
}

// recordingOf is the recording a recording command names ("" for
// others).
func recordingOf(cmd pbx.Command) pbx.RecordingName {
	switch c := cmd.(type) {
	case pbx.RecordChannel:
		return c.Name
	case pbx.RecordBridge:
		return c.Name
	case pbx.StopRecording:
		return c.Name
	case pbx.PauseRecording:
		return c.Name
	case pbx.ResumeRecording:
		return c.Name
	}
	return ""
}

// rollback undoes what prepare recorded for a command that failed: a
// recording that never started has no RECORD_STOP to end it.
func (d *Driver) rollback(cmd pbx.Command) {
	switch cmd.(type) {
	case pbx.RecordChannel, pbx.RecordBridge:
	default:
		return
	}
	name := recordingOf(cmd)
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.recs[name]; ok && !r.live {
		delete(d.recs, name)
	}
}

// commit applies a command's effect on driver state once it succeeded.
func (d *Driver) commit(cmd pbx.Command) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch c := cmd.(type) {
	case pbx.CreateBridge:
		if _, ok := d.bridges[c.ID]; !ok {
			d.bridges[c.ID] = []pbx.ChannelID{}
		}
	case pbx.AddToBridge:
		d.bridges[c.Bridge] = append(d.bridges[c.Bridge], c.Channels...)
	case pbx.RemoveFromBridge:
		d.bridges[c.Bridge] = without(d.bridges[c.Bridge], c.Channel)
	case pbx.DestroyBridge:
		for _, ch := range d.bridges[c.Bridge] {
			if d.chBridge[ch] == c.Bridge {
				delete(d.chBridge, ch)
			}
		}
		delete(d.bridges, c.Bridge)
	}
}

func without(s []pbx.ChannelID, ch pbx.ChannelID) []pbx.ChannelID {
	out := s[:0:0]
	for _, x := range s {
		if x != ch {
			out = append(out, x)
		}
	}
	return out
}

// Snapshot implements pbx.Driver.
func (d *Driver) Snapshot(ctx context.Context) (pbx.Snapshot, error) {
	c := d.conn.Load()
	if c == nil {
		return pbx.Snapshot{}, fmt.Errorf("esl: snapshot: %w", pbx.ErrNotConnected)
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.CommandTimeout) // or sooner, if ctx ends sooner
	defer cancel()
	snap, _, err := d.snapshotOn(ctx, c)
	return snap, err
}

// showRows is the shape of "show ... as json" (mod_commands.c): every
// value is a string; "rows" is absent when row_count is 0.
type showRows struct {
	RowCount int                 `json:"row_count"`
	Rows     []map[string]string `json:"rows"`
}

// snapshotOn lists what is live over c, and which channels are on hold.
func (d *Driver) snapshotOn(ctx context.Context, c *Conn) (pbx.Snapshot, []pbx.ChannelID, error) {
	var snap pbx.Snapshot
	chans, err := showJSON(ctx, c, "show channels as json")
	if err != nil {
		return snap, nil, err
	}
	bridged, err := showJSON(ctx, c, "show bridged_calls as json")
	if err != nil {
		return snap, nil, err
	}
	inBridge := map[string]bool{}
	d.mu.Lock()
	for _, r := range bridged {
		a, b := r["uuid"], r["b_uuid"]
		if a == "" || b == "" {
			continue
		}
		inBridge[a], inBridge[b] = true, true
		br, ok := d.chBridge[pbx.ChannelID(a)]
		if !ok {
			if br, ok = d.chBridge[pbx.ChannelID(b)]; !ok {
				br = pbx.BridgeID(a) // bridged before this controller knew it
			}
		}
		snap.Bridges = append(snap.Bridges, pbx.BridgeInfo{ID: br, Channels: []pbx.ChannelID{pbx.ChannelID(a), pbx.ChannelID(b)}})
	}
	d.mu.Unlock()
	var held []pbx.ChannelID
	for _, r := range chans {
		if r["callstate"] == "HELD" {
			held = append(held, pbx.ChannelID(r["uuid"]))
		}
		ci := pbx.ChannelInfo{ID: pbx.ChannelID(r["uuid"]), Name: r["name"], Caller: r["cid_num"], Dialed: r["dest"],
			State: callState(r["callstate"]), InApp: r["application"] == "park" || inBridge[r["uuid"]] ||
				d.cfg.OutboundListen != "" && r["application"] == "socket"}
		if ep, err := strconv.ParseInt(r["created_epoch"], 10, 64); err == nil {
			ci.Created = time.Unix(ep, 0)
		}
		snap.Channels = append(snap.Channels, ci)
	}
	return snap, held, nil
}

func showJSON(ctx context.Context, c *Conn, cmd string) ([]map[string]string, error) {
	body, err := c.API(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	var rows showRows
	if err := json.Unmarshal([]byte(body), &rows); err != nil {
		return nil, fmt.Errorf("%s: %w (reply %q)", cmd, err, truncate([]byte(body), 200))
	}
	return rows.Rows, nil
}

// callState maps a channel's callstate (switch_channel_callstate2str).
// A call taken off hold is UNHELD, not ACTIVE (switch_channel.c).
func callState(s string) pbx.ChannelState {
	switch s {
	case "ACTIVE", "HELD", "UNHELD":
		return pbx.StateUp
	case "RINGING", "EARLY", "RING_WAIT":
		return pbx.StateRinging
	}
	return pbx.StateDown
}
