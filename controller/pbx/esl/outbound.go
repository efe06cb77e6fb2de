package esl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// Outbound mode: FreeSWITCH's socket application ("socket
// 127.0.0.1:8084 async full" in the dialplan) connects to hotline once
// per call. mod_event_socket.c (socket_function, listener_run,
// parse_command) says how such a connection goes:
//
//   - no auth/request: the listener is authenticated; it waits up to 25 s
//     for the first command, which must be "connect";
//   - "connect" is answered with the channel's data serialized as an
//     event (switch_event_serialize, values URL-encoded): the CHANNEL_DATA
//     headers, the channel variables as variable_*, then Content-Type:
//     command/reply, Reply-Text: +OK, Socket-Mode and Control. In async
//     mode the channel parks once connected;
//   - "myevents" subscribes to a fixed list of channel events of this
//     call only; "event"/"nixevent" adjust the list, the Unique-ID check
//     stays;
//   - "linger N": when the call ends FreeSWITCH sends a
//     text/disconnect-notice with Content-Disposition: linger, keeps
//     sending the events still queued (CHANNEL_HANGUP_COMPLETE among
//     them) and closes N seconds later with a disconnect-notice
//     (Content-Disposition: disconnect). Without linger it closes at the
//     hang-up and the later events are lost;
//   - "sendmsg" without a UUID acts on the controlled call.
//
// The call appears to hotline as a ChannelStarted when its socket has
// connected; sendmsg commands for it go over its socket, api and bgapi
// over the control connection.

// Outbound tunables.
const (
	callLinger       = 30 * time.Second // bound on FreeSWITCH keeping a socket after the hang-up
	callSetupTimeout = 10 * time.Second
)

// listenOutbound binds Config.OutboundListen and serves connections
// until ctx ends. stop closes the listener and every call socket and
// waits for their goroutines.
func (d *Driver) listenOutbound(ctx context.Context) (stop func(), err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", d.cfg.OutboundListen)
	if err != nil {
		return nil, fmt.Errorf("esl: outbound listener: %w", err)
	}
	addr := ln.Addr().String()
	d.outAddr.Store(&addr)
	d.log.Info("listening for FreeSWITCH's socket application", "outbound_addr", addr)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
					d.log.Error("outbound listener failed", "error", err)
				}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.serveCall(ctx, nc)
			}()
		}
	}()
	stopped := context.AfterFunc(ctx, func() { ln.Close() })
	return func() {
		stopped()
		ln.Close()
		d.mu.Lock()
		for _, c := range d.calls {
			go c.Close()
		}
		d.mu.Unlock()
		wg.Wait()
	}, nil
}

// acceptCall runs the outbound handshake on nc: "connect", and the
// channel data in the reply. On success the Conn's reader is running.
func acceptCall(ctx context.Context, nc net.Conn, opts ConnOptions) (*Conn, *Event, error) {
	opts = opts.withDefaults()
	hctx, cancel := context.WithTimeout(ctx, opts.HandshakeTimeout)
	defer cancel()
	stop := context.AfterFunc(hctx, func() { nc.SetDeadline(time.Now()) })
	c := newConn(nc, opts)
	data, err := connect(c)
	if !stop() || err != nil {
		if err == nil {
			err = hctx.Err()
		}
		return nil, nil, err
	}
	nc.SetDeadline(time.Time{})
	go c.readLoop()
	return c, data, nil
}

func connect(c *Conn) (*Event, error) {
	if _, err := c.nc.Write([]byte("connect\n\n")); err != nil {
		return nil, fmt.Errorf("esl: send connect: %w", err)
	}
	f, err := c.rd.Next()
	if err != nil {
		return nil, fmt.Errorf("esl: waiting for the reply to connect: %w", err)
	}
	if f.ContentType != TypeReply {
		return nil, fmt.Errorf("esl: expected command/reply to connect, got %q", f.ContentType)
	}
	data := &Event{Headers: make(Headers, 0, len(f.Headers))}
	for _, h := range f.Headers {
		data.Headers = append(data.Headers, Header{Name: h.Name, Value: urlDecode(h.Value)})
	}
	if rt := strings.TrimSpace(data.Get("Reply-Text")); !strings.HasPrefix(rt, "+OK") {
		return nil, fmt.Errorf("esl: FreeSWITCH replied %q to connect", rt)
	}
	if id := data.Get("Unique-ID"); !pbx.ValidID(id) {
		return nil, fmt.Errorf("esl: connect reply without a usable Unique-ID (%q)", truncate([]byte(id), 80))
	}
	return data, nil
}

// serveCall controls one call over its outbound socket until the call
// ends, the socket closes or ctx ends.
func (d *Driver) serveCall(ctx context.Context, nc net.Conn) {
	log := d.log.With("remote", nc.RemoteAddr().String())
	c, data, err := acceptCall(ctx, nc, ConnOptions{Logger: d.log, EventBuffer: 256})
	if err != nil {
		nc.Close()
		if ctx.Err() == nil {
			log.Warn("FreeSWITCH call socket refused", "error", err)
		}
		return
	}
	defer c.Close()
	c.testDropTimedOutWaiter = d.testDropTimedOutWaiter
	ch := pbx.ChannelID(data.Get("Unique-ID"))
	log = log.With("channel", ch)
	d.mu.Lock()
	if d.calls[ch] != nil {
		d.mu.Unlock()
		log.Warn("FreeSWITCH connected a second socket for a call; closing it")
		return
	}
	d.calls[ch] = c
	d.mu.Unlock()
	ended := false // CHANNEL_HANGUP_COMPLETE delivered
	defer func() {
		d.release(ch, c)
		if !ended && ctx.Err() == nil {
			d.callSocketLost(ctx, ch, c.Err())
		}
	}()

	// Subscribe before announcing: a command sent on the announcement
	// then cannot cause an event before myevents is in place.
	sctx, cancel := context.WithTimeout(ctx, callSetupTimeout)
	for _, m := range renderCallSetup(callLinger) {
		if _, err := c.send(sctx, []byte(m)); err != nil {
			cancel()
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return
			}
			log.Warn("FreeSWITCH call socket set-up failed", "command", strings.TrimSpace(m), "error", err)
			return
		}
	}
	cancel()
	if err := d.announce(ctx, ch, data); err != nil {
		return
	}
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				return
			}
			last := ev.Name() == "CHANNEL_HANGUP_COMPLETE" && pbx.ChannelID(ev.Get("Unique-ID")) == ch
			if last {
				// Commands from now on go over the control connection
				// (and find the channel gone) instead of a lingering socket.
				d.release(ch, c)
			}
			if err := d.handle(ctx, ev, ch); err != nil {
				return
			}
			if last {
				ended = true
				return // the deferred Close ends the linger early
			}
		case <-ctx.Done():
			return
		}
	}
}

// announce delivers ChannelStarted for a call whose socket connected,
// from the connect reply's channel data.
func (d *Driver) announce(ctx context.Context, ch pbx.ChannelID, data *Event) error {
	d.dmu.Lock()
	defer d.dmu.Unlock()
	if d.started[ch] {
		return nil
	}
	d.started[ch] = true
	ev := pbx.Event{Kind: pbx.ChannelStarted, At: eventTime(data), Channel: ch,
		Caller: data.Get("Caller-Caller-ID-Number"), Dialed: data.Get("Caller-Destination-Number")}
	if a := data.Get("variable_hotline_args"); a != "" {
		ev.Args = strings.Split(a, ":")
	}
	return d.deliver(ctx, ev)
}

// release forgets c as ch's socket (if it still is).
func (d *Driver) release(ch pbx.ChannelID, c *Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.calls[ch] == c {
		delete(d.calls, ch)
	}
}

// callSocketLost handles a call socket that closed before the call's
// CHANNEL_HANGUP_COMPLETE: FreeSWITCH ends the socket application and
// goes on with the dialplan, which hangs the call up (freeswitch-conf).
// The driver makes sure of it over the control connection and reports
// the channel gone.
func (d *Driver) callSocketLost(ctx context.Context, ch pbx.ChannelID, why error) {
	d.log.Warn("FreeSWITCH call socket closed before the call ended; ending the call", "channel", ch, "error", why)
	if c := d.conn.Load(); c != nil {
		kctx, cancel := context.WithTimeout(ctx, d.cfg.CommandTimeout)
		if _, err := c.API(kctx, "uuid_kill "+string(ch)+" NORMAL_TEMPORARY_FAILURE"); err != nil && !errors.Is(err, pbx.ErrNotFound) {
			d.log.Warn("uuid_kill after a lost call socket failed", "channel", ch, "error", err)
		}
		cancel()
	}
	d.dmu.Lock()
	defer d.dmu.Unlock()
	if !d.started[ch] {
		return
	}
	delete(d.started, ch)
	delete(d.ringing, ch)
	delete(d.held, ch)
	d.forgetChannel(ch)
	d.deliver(ctx, pbx.Event{Kind: pbx.ChannelHungup, At: time.Now(), Channel: ch, Cause: 41, CauseText: "NORMAL_TEMPORARY_FAILURE"})
}
