package ari

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// Do implements pbx.Driver: validate, render, send, and map ARI's reply.
// It is safe for concurrent use. Errors wrap pbx.ErrInvalid (not sent),
// pbx.ErrNotFound (404), pbx.ErrAuth (401/403) or pbx.ErrNotConnected
// (Asterisk's HTTP port unreachable); other failures carry the status and
// ARI's message.
func (d *Driver) Do(ctx context.Context, cmd pbx.Command) error {
	if cmd == nil {
		return fmt.Errorf("%w: nil command", pbx.ErrInvalid)
	}
	if err := cmd.Validate(); err != nil {
		return err
	}
	req, err := render(cmd, d.cfg.App)
	if err != nil {
		return err
	}
	// Record the cause before sending: the hang-up's events can arrive
	// before the reply does.
	if h, ok := cmd.(pbx.Hangup); ok {
		d.hangups.request(h.Channel, h.Reason)
	}
	start := time.Now()
	resp, err := d.send(ctx, req)
	d.latency.Observe(cmd, time.Since(start))
	if err != nil {
		if h, ok := cmd.(pbx.Hangup); ok {
			d.hangups.forget(h.Channel)
		}
		return fmt.Errorf("ari: %T: %w", cmd, err)
	}
	resp.Body.Close()
	return nil
}

// send performs one request, waiting for its reply at most the command
// timeout (less if ctx ends sooner); a non-2xx reply becomes an error and
// the caller gets the response only on success (and must close its body).
func (d *Driver) send(ctx context.Context, r request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.CommandTimeout)
	resp, err := d.sendCtx(ctx, r)
	if err != nil {
		cancel()
		return nil, err
	}
	// The body is read by the caller within ctx's life; cancel when it is
	// closed.
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

func (d *Driver) sendCtx(ctx context.Context, r request) (*http.Response, error) {
	u := *d.base
	u.Path += r.Path
	u.RawQuery = r.Query.Encode()
	var body io.Reader
	if r.JSON != nil {
		body = bytes.NewReader(r.JSON)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(d.cfg.Username, d.cfg.Password)
	req.Header.Set("Accept", "application/json")
	if r.JSON != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.http.Do(req)
	if err != nil {
		if isDialError(err) {
			return nil, fmt.Errorf("%w: %s %s: %v", pbx.ErrNotConnected, r.Method, r.Path, err)
		}
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	msg := readMessage(resp)
	switch resp.StatusCode {
	case http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s %s: %s", pbx.ErrNotFound, r.Method, r.Path, msg)
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, fmt.Errorf("%w: %s %s: %s", pbx.ErrAuth, r.Method, r.Path, resp.Status)
	}
	return nil, fmt.Errorf("%s %s: asterisk replied %s: %s", r.Method, r.Path, resp.Status, msg)
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// isDialError reports whether err means no TCP connection could be made.
func isDialError(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// readMessage returns ARI's error text: the "message" of its JSON error
// body, else the body itself, bounded.
func readMessage(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		return m.Message
	}
	return strings.TrimSpace(string(b))
}

// getJSON GETs path and decodes the reply into v.
func (d *Driver) getJSON(ctx context.Context, path string, v any) error {
	resp, err := d.send(ctx, request{Method: "GET", Path: path})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode reply: %w", path, err)
	}
	return nil
}

// setEventFilter asks Asterisk to send the application only the event
// types hotline decodes (decodedTypes): at hundreds of live channels the
// others (variable sets, dialplan steps, ...) are most of what Asterisk
// would otherwise encode and write to the socket. The filter lives with
// the application, so it is set on every connect. An Asterisk without
// the call (before 16.24/18.10) keeps sending everything, which the
// decoder skips.
func (d *Driver) setEventFilter(ctx context.Context) error {
	type typ struct {
		Type string `json:"type"`
	}
	var f struct {
		Allowed []typ `json:"allowed"`
	}
	for _, t := range decodedTypes {
		f.Allowed = append(f.Allowed, typ{t})
	}
	body, _ := json.Marshal(f)
	resp, err := d.send(ctx, request{Method: "PUT", Path: "/applications/" + d.cfg.App + "/eventFilter", JSON: body})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Snapshot implements pbx.Driver: GET /channels, /bridges and
// /applications/{app}. A channel is InApp when the application lists it,
// or when its dialplan location is Stasis(app...) (a channel that entered
// from the dialplan but is not yet in the application's list).
func (d *Driver) Snapshot(ctx context.Context) (pbx.Snapshot, error) {
	var (
		chans   []wireChannel
		bridges []wireBridge
		app     struct {
			ChannelIDs []string `json:"channel_ids"`
		}
	)
	if err := d.getJSON(ctx, "/channels", &chans); err != nil {
		return pbx.Snapshot{}, fmt.Errorf("ari: snapshot: %w", err)
	}
	if err := d.getJSON(ctx, "/bridges", &bridges); err != nil {
		return pbx.Snapshot{}, fmt.Errorf("ari: snapshot: %w", err)
	}
	// 404 means the application is not registered (no event socket yet):
	// then no channel is in it by that list.
	if err := d.getJSON(ctx, "/applications/"+d.cfg.App, &app); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		return pbx.Snapshot{}, fmt.Errorf("ari: snapshot: %w", err)
	}
	inApp := make(map[string]bool, len(app.ChannelIDs))
	for _, id := range app.ChannelIDs {
		inApp[id] = true
	}
	snap := pbx.Snapshot{Channels: make([]pbx.ChannelInfo, 0, len(chans)), Bridges: make([]pbx.BridgeInfo, 0, len(bridges))}
	for _, c := range chans {
		stasisApp, _, _ := strings.Cut(c.Dialplan.AppData, ",")
		snap.Channels = append(snap.Channels, pbx.ChannelInfo{
			ID:      pbx.ChannelID(c.ID),
			Name:    c.Name,
			State:   channelState(c.State),
			Caller:  c.Caller.Number,
			Dialed:  c.Dialplan.Exten,
			Created: parseTime(c.CreationTime),
			InApp:   inApp[c.ID] || (strings.EqualFold(c.Dialplan.AppName, "Stasis") && strings.TrimSpace(stasisApp) == d.cfg.App),
		})
	}
	for _, b := range bridges {
		bi := pbx.BridgeInfo{ID: pbx.BridgeID(b.ID), Channels: make([]pbx.ChannelID, len(b.Channels))}
		for i, c := range b.Channels {
			bi.Channels[i] = pbx.ChannelID(c)
		}
		snap.Bridges = append(snap.Bridges, bi)
	}
	return snap, nil
}
