package esl

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// Errors a Conn returns.
var (
	// ErrClosed: the connection is gone; the command may or may not have
	// reached FreeSWITCH.
	ErrClosed = errors.New("esl: connection closed")
	// ErrUnsafe: the command text would break ESL framing (a newline,
	// CR, NUL or other control byte where one line is expected).
	ErrUnsafe = errors.New("esl: unsafe command text")
)

// ReplyError is a -ERR (or -USAGE) reply from FreeSWITCH.
type ReplyError struct{ Text string }

func (e *ReplyError) Error() string { return "esl: FreeSWITCH replied " + e.Text }

// Is makes a missing channel, session, user or recording match
// pbx.ErrNotFound. uuid_record's stop, mask and unmask fail only when
// the channel has no recording of that file (switch_ivr_async.c): it
// has ended.
func (e *ReplyError) Is(target error) bool {
	if target != pbx.ErrNotFound {
		return false
	}
	t := strings.ToLower(e.Text)
	for _, s := range []string{"invalid session id", "no such channel", "cannot locate session", "invalid uuid", "not found",
		"cannot stop record session", "cannot mask recording session", "cannot unmask recording session"} {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// ConnOptions tune a Conn.
type ConnOptions struct {
	Logger *slog.Logger
	Limits Limits
	// EventBuffer is the capacity of Events (default 4096). When it is
	// full the reader blocks: back-pressure, never a drop.
	EventBuffer int
	// HandshakeTimeout bounds connect plus auth (default 10s).
	HandshakeTimeout time.Duration
}

type waiter struct {
	ch chan result // buffered 1: a late reply to a gone waiter is dropped here
}

type result struct {
	f   *Frame
	err error
}

// Conn is one authenticated inbound Event Socket connection. Its methods
// are safe for concurrent use.
type Conn struct {
	nc  net.Conn
	log *slog.Logger
	rd  *Reader

	wmu     sync.Mutex // guards writes and waiters together: FIFO order is write order
	waiters []*waiter
	closed  bool

	jmu  sync.Mutex
	jobs map[string]chan *Event

	events    chan *Event
	lingering chan struct{} // closed when FreeSWITCH announces it lingers (outbound mode)
	lingerOne sync.Once
	quit      chan struct{} // closed by Close: the reader stops even when blocked on Events
	closeOnce sync.Once
	done      chan struct{}
	err       error // set before done is closed

	// testDropTimedOutWaiter is a test hook that breaks reply pairing
	// the way eslgo does: a command whose context ends leaves the FIFO,
	// so its late reply goes to the next command. Only tests set it
	// (through export_test.go), to prove the contract suite catches it.
	testDropTimedOutWaiter bool
}

// Dial connects to addr, answers auth/request with password, and starts
// the reader. A rejected password or an ACL rejection wraps pbx.ErrAuth.
func Dial(ctx context.Context, addr, password string, opts ConnOptions) (*Conn, error) {
	if err := checkLine(password); err != nil || password == "" {
		return nil, fmt.Errorf("%w: password must be one non-empty line", ErrUnsafe)
	}
	opts = opts.withDefaults()
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, opts.HandshakeTimeout)
	defer cancel()
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("esl: dial %s: %w", addr, err)
	}
	stop := context.AfterFunc(dctx, func() { nc.SetDeadline(time.Now()) })
	c, err := handshake(nc, password, opts)
	if !stop() || err != nil {
		nc.Close()
		if err == nil {
			err = dctx.Err()
		}
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	go c.readLoop()
	return c, nil
}

func newConn(nc net.Conn, opts ConnOptions) *Conn {
	rd := NewReader(nc, opts.Limits)
	rd.reuseEventBodies = true // read decodes every event before the next frame
	return &Conn{nc: nc, log: opts.Logger, rd: rd, jobs: map[string]chan *Event{},
		events: make(chan *Event, opts.EventBuffer), lingering: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
}

func (o ConnOptions) withDefaults() ConnOptions {
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func handshake(nc net.Conn, password string, opts ConnOptions) (*Conn, error) {
	c := newConn(nc, opts)
	f, err := c.rd.Next()
	if err != nil {
		return nil, fmt.Errorf("esl: waiting for auth/request: %w", err)
	}
	switch f.ContentType {
	case TypeAuthRequest:
	case TypeRude:
		return nil, fmt.Errorf("%w: FreeSWITCH's event_socket ACL rejected this address: %s", pbx.ErrAuth, strings.TrimSpace(string(f.Body)))
	default:
		return nil, fmt.Errorf("esl: expected auth/request, got %q", f.ContentType)
	}
	if _, err := nc.Write([]byte("auth " + password + "\n\n")); err != nil {
		return nil, fmt.Errorf("esl: send auth: %w", err)
	}
	f, err = c.rd.Next()
	if err != nil {
		return nil, fmt.Errorf("esl: waiting for auth reply: %w", err)
	}
	if f.ContentType != TypeReply {
		return nil, fmt.Errorf("esl: expected command/reply to auth, got %q", f.ContentType)
	}
	if rt := f.ReplyText(); !strings.HasPrefix(rt, "+OK") {
		return nil, fmt.Errorf("%w: FreeSWITCH replied %q to auth", pbx.ErrAuth, rt)
	}
	return c, nil
}

// Events delivers events in wire order; it is closed when the
// connection ends. BACKGROUND_JOB events claimed by BgAPI are not on it.
func (c *Conn) Events() <-chan *Event { return c.events }

// Done is closed when the connection has ended; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is up).
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close ends the connection without a goodbye.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { close(c.quit) })
	c.nc.Close()
	<-c.done
	return nil
}

func (c *Conn) readLoop() {
	err := c.read()
	c.wmu.Lock()
	c.closed = true
	ws := c.waiters
	c.waiters = nil
	c.wmu.Unlock()
	c.nc.Close()
	for _, w := range ws {
		w.ch <- result{err: fmt.Errorf("%w: %v", ErrClosed, err)}
	}
	c.jmu.Lock()
	for id, ch := range c.jobs {
		close(ch)
		delete(c.jobs, id)
	}
	c.jmu.Unlock()
	c.err = err
	close(c.events)
	close(c.done)
}

func (c *Conn) read() error {
	for {
		f, err := c.rd.Next()
		if err != nil {
			return err
		}
		switch f.ContentType {
		case TypeReply, TypeAPIResponse:
			c.wmu.Lock()
			if len(c.waiters) == 0 {
				c.wmu.Unlock()
				return fmt.Errorf("esl: %s at byte %d with no command waiting", f.ContentType, f.Offset)
			}
			w := c.waiters[0]
			c.waiters[0] = nil
			c.waiters = c.waiters[1:]
			c.wmu.Unlock()
			w.ch <- result{f: f}
		case TypeEventPlain:
			ev, err := ParseEvent(f.Body)
			if err != nil {
				c.log.Error("FreeSWITCH event skipped", "offset", f.Offset, "error", err, "body", truncate(f.Body, 256))
				continue
			}
			if ev.Name() == "BACKGROUND_JOB" && c.claimJob(ev) {
				continue
			}
			select {
			case c.events <- ev:
			case <-c.closing():
				return ErrClosed
			}
		case TypeDisconnect:
			if strings.EqualFold(f.Headers.Get("Content-Disposition"), "linger") {
				// Outbound mode: the call is gone, FreeSWITCH keeps the
				// socket open to send the events still queued for it.
				c.log.Debug("FreeSWITCH lingers after the call ended", "channel", f.Headers.Get("Controlled-Session-UUID"),
					"linger_time", f.Headers.Get("Linger-Time"))
				c.lingerOne.Do(func() { close(c.lingering) })
				continue
			}
			return fmt.Errorf("esl: FreeSWITCH disconnected: %s", strings.TrimSpace(string(f.Body)))
		case TypeRude:
			return fmt.Errorf("%w: FreeSWITCH's event_socket ACL rejected this address", pbx.ErrAuth)
		default:
			c.log.Debug("FreeSWITCH frame ignored", "content_type", f.ContentType, "offset", f.Offset)
		}
	}
}

func (c *Conn) closing() <-chan struct{} { return c.quit }

func (c *Conn) claimJob(ev *Event) bool {
	id := ev.Get("Job-UUID")
	c.jmu.Lock()
	ch, ok := c.jobs[id]
	delete(c.jobs, id)
	c.jmu.Unlock()
	if ok {
		ch <- ev
	}
	return ok
}

// Send writes one complete command (text without the terminating blank
// line: "api status" or "sendmsg <uuid>\nheader: value...") and waits
// for its own reply. A -ERR reply is a *ReplyError alongside the frame.
// If ctx ends first the command stays queued on the wire and its reply,
// when it comes, is discarded.
func (c *Conn) Send(ctx context.Context, text string) (*Frame, error) {
	if err := checkMessage(text); err != nil {
		return nil, err
	}
	return c.send(ctx, []byte(text+"\n\n"))
}

func (c *Conn) send(ctx context.Context, msg []byte) (*Frame, error) {
	w := &waiter{ch: make(chan result, 1)}
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return nil, ErrClosed
	}
	c.waiters = append(c.waiters, w)
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(msg)
	c.wmu.Unlock()
	if err != nil {
		// A partial write leaves the stream unusable.
		c.nc.Close()
		return nil, fmt.Errorf("%w: write: %v", ErrClosed, err)
	}
	select {
	case r := <-w.ch:
		if r.err != nil {
			return nil, r.err
		}
		if t := r.f.ReplyText(); strings.HasPrefix(t, "-") {
			return r.f, &ReplyError{Text: t}
		}
		return r.f, nil
	case <-ctx.Done():
		if c.testDropTimedOutWaiter {
			c.dropWaiter(w)
		}
		return nil, fmt.Errorf("esl: no reply: %w", ctx.Err())
	}
}

// dropWaiter removes w from the FIFO: the defect testDropTimedOutWaiter
// injects, never called otherwise.
func (c *Conn) dropWaiter(w *waiter) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for i, x := range c.waiters {
		if x == w {
			c.waiters = append(c.waiters[:i:i], c.waiters[i+1:]...)
			return
		}
	}
}

// Lingering is closed when FreeSWITCH has announced (outbound mode,
// after "linger") that the call ended and it sends the remaining events
// before closing.
func (c *Conn) Lingering() <-chan struct{} { return c.lingering }

// API runs "api CMD" and returns the body of its api/response.
func (c *Conn) API(ctx context.Context, cmd string) (string, error) {
	if err := checkLine(cmd); err != nil {
		return "", err
	}
	f, err := c.send(ctx, []byte("api "+cmd+"\n\n"))
	if f == nil {
		return "", err
	}
	return string(f.Body), err
}

// Job is a running bgapi command.
type Job struct {
	UUID string
	ch   chan *Event
}

// Wait returns the job's BACKGROUND_JOB event (its body is the result).
func (j *Job) Wait(ctx context.Context) (*Event, error) {
	select {
	case ev, ok := <-j.ch:
		if !ok {
			return nil, ErrClosed
		}
		return ev, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// BgAPI runs "bgapi CMD" with a Job-UUID of its own and returns once
// FreeSWITCH accepted it. The events must include BACKGROUND_JOB for
// Wait to see the result.
func (c *Conn) BgAPI(ctx context.Context, cmd string) (*Job, error) {
	if err := checkLine(cmd); err != nil {
		return nil, err
	}
	j := &Job{UUID: NewUUID(), ch: make(chan *Event, 1)}
	c.jmu.Lock()
	c.jobs[j.UUID] = j.ch
	c.jmu.Unlock()
	if _, err := c.send(ctx, []byte(renderBgAPI(cmd, j.UUID))); err != nil {
		c.jmu.Lock()
		delete(c.jobs, j.UUID)
		c.jmu.Unlock()
		return nil, err
	}
	return j, nil
}

func renderBgAPI(cmd, jobUUID string) string {
	return "bgapi " + cmd + "\nJob-UUID: " + jobUUID + "\n\n"
}

// checkLine rejects text that is not one line of printable bytes.
func checkLine(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return fmt.Errorf("%w: byte 0x%02x at %d in %q", ErrUnsafe, c, i, truncate([]byte(s), 80))
		}
	}
	return nil
}

// checkMessage accepts one or more lines of printable bytes with no
// empty line (which would end the command early).
func checkMessage(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty command", ErrUnsafe)
	}
	for _, line := range strings.Split(s, "\n") {
		if line == "" {
			return fmt.Errorf("%w: empty line inside %q", ErrUnsafe, truncate([]byte(s), 80))
		}
		if err := checkLine(line); err != nil {
			return err
		}
	}
	return nil
}

// NewUUID returns a random RFC 4122 version 4 UUID, the form FreeSWITCH
// uses for channel and job UUIDs.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
