// Package esltest is a wire-faithful FreeSWITCH Event Socket server for
// tests, with simulated calls. FreeSWITCH cannot run on the machines
// hotline is tested on, so the ESL driver is tested against this; every
// behaviour below is taken from FreeSWITCH's source (signalwire/freeswitch
// master, read for this package; facts only, no code):
//
//   - Connect: "Content-Type: auth/request\n\n" first (mod_event_socket.c,
//     listener_run). An address outside the ACL gets
//     "Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess
//     Denied, go away.\n" and the socket closes (listener_run, acl check).
//   - "auth PASSWORD": "Content-Type: command/reply\nReply-Text: +OK
//     accepted\n\n"; a wrong password gets "-ERR invalid", then the
//     listener stops: a text/disconnect-notice ("Disconnected, goodbye.\n
//     See you at ClueCon! http://www.cluecon.com/\n", send_disconnect) and
//     close (parse_command, listener_run's done: path).
//   - Commands are read as a header block up to a blank line, the first
//     line being the command, an optional Content-Length body after it
//     (read_packet); they are handled one at a time, in order, by the
//     listener thread, and each gets one reply. "api" runs inline
//     (api_exec with bg=0) and answers "Content-Type: api/response\n
//     Content-Length: N\n\n" + output, "-ERR CMD Command not found!\n" for
//     an unknown command; every other command answers command/reply with
//     Reply-Text.
//   - "bgapi CMD" with an optional Job-UUID header: "Reply-Text: +OK
//     Job-UUID: ID\nJob-UUID: ID" at once, then a BACKGROUND_JOB event with
//     Job-UUID, Job-Owner-UUID, Job-Command, Job-Command-Arg and the output
//     as the event body (api_exec with bg=1).
//   - "sendmsg UUID": "+OK" when the session exists (the message is queued
//     on it), "-ERR invalid session id [UUID]" otherwise.
//   - "event plain NAMES|ALL": "+OK event listener enabled plain" ("-ERR
//     no keywords supplied" when no name is known); "nixevent NAMES":
//     "+OK events nixed", a name nixed after ALL leaves every other event
//     on; "noevents": "+OK no longer listening for events" ("-ERR not
//     listening for events"); "exit": "+OK bye" then disconnect-notice
//     and close; "linger [SECS]"/"nolinger" on an inbound listener: "-ERR
//     not controlling a session" (commands.go; outbound sockets:
//     outbound.go).
//   - "filter H V" / "filter add H V": "+OK filter added. [H]=[V]";
//     "filter delete H [V]" / "filter delete all": "+OK filter deleted.
//     [H][V]". With filters set, an event goes to the listener only if a
//     filter's header is present with its value (compared without case;
//     "/regex/" values match as a regular expression), and none of the
//     "-value" filters matches it (event_handler).
//   - Channel events carry the channel's variables (variable_NAME) only
//     for the events switch_channel_event_set_extended_data lists
//     (CHANNEL_PARK, CHANNEL_ANSWER, PLAYBACK_*, RECORD_*...), not DTMF,
//     unless the channel has verbose_events=true.
//   - Events: "Content-Length: N\nContent-Type: text/event-plain\n\n" then
//     the event serialized as switch_event_serialize (switch_event.c)
//     does: "Name: value\n" per header, values URL-encoded by
//     switch_url_encode (bytes outside ' '..'~' and "\r\n
//     #%&+:;<=>?@[\]^`{|}\"" become %XX, an existing %XX is kept), an empty
//     value written "_undef_", then "\n", or "Content-Length: N\n\n" and
//     the body. Event-Sequence increases by one per event.
//   - Playback: PLAYBACK_START/STOP carry Playback-File-Path and the
//     {name=value} parameters given before the file
//     (switch_ivr_play_say.c merges fh->params); STOP has Playback-Status
//     done or break. A tone_stream:// plays for its tones' on and off
//     times.
//   - uuid_record (mod_commands.c, switch_ivr_async.c): start, stop,
//     mask, unmask, pause, resume with FreeSWITCH's replies ("+OK
//     Success", "-ERR Cannot stop record session!"...); RECORD_START and
//     RECORD_STOP carry Record-File-Path and the recording variables
//     (Recording-Variable-NAME), RECORD_STOP also
//     Record-Completion-Cause. A masked stretch is written as silence
//     and keeps its time; a paused one is left out.
//   - Hold: uuid_hold [off|toggle] (switch_ivr_hold: "-ERR Operation
//     failed" for a hold the call is already in) raises CHANNEL_HOLD and
//     CHANNEL_UNHOLD from switch_ivr_hold/switch_ivr_unhold; a phone's
//     hold (PhoneHold) raises them from switch_channel_mark_hold, as does
//     a hang-up while held. Both carry the channel's variables; the
//     callstate goes HELD, then UNHELD. uuid_broadcast queues a playback
//     (or APP::ARGS) on a leg.
//
// The simulation (calls.go) places inbound calls that the dialplan parks
// (setting hotline=true, as freeswitch-conf does) or hands to the socket
// application (CallSpec.Socket, outbound mode, outbound.go),
// answers originates to "user/agent..." after a ring (each user's delay,
// or never, set with Options.Agents or SetAgent), plays with realistic
// durations, sends DTMF (after the answer, or in the middle of a given
// prompt: CallSpec.KeysOnPrompt), bridges, records real WAV files as long
// as the recording ran, puts calls on hold from the phone (PhoneHold)
// and hangs up from either side, firing events in FreeSWITCH's order.
// Faults on demand: DropLinks, DropCallSockets, Disconnect,
// SetReplyDelay, SetInterleave, SendRaw, SetACLReject.
package esltest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx/esl"
)

// Options configure a Server.
type Options struct {
	Password string
	// AgentAnswerDelay is how long user/agent... rings before answering
	// (default 1s).
	AgentAnswerDelay time.Duration
	// Agents sets how given directory users answer, by name ("agent1"
	// for user/agent1); see SetAgent. A user listed here is registered
	// whatever its name; others are when their name starts with "agent".
	Agents map[string]Agent
	// FileDuration is how long one sound file plays (default 200ms).
	FileDuration time.Duration
	// Heartbeat is the HEARTBEAT interval (default 20s, FreeSWITCH's
	// event-heartbeat-interval default).
	Heartbeat time.Duration
}

// Server is a simulated FreeSWITCH with mod_event_socket.
type Server struct {
	opts     Options
	ln       net.Listener
	coreUUID string

	mu         sync.Mutex // guards everything below; events are fired under it
	listeners  map[*listener]bool
	channels   map[string]*channel
	seq        uint64
	replyDelay time.Duration
	interleave int
	rude       bool
	closed     bool
	agents     map[string]Agent

	wg   sync.WaitGroup
	stop chan struct{}
}

// Start listens on 127.0.0.1 at a free port.
func Start(opts Options) (*Server, error) {
	if opts.AgentAnswerDelay <= 0 {
		opts.AgentAnswerDelay = time.Second
	}
	if opts.FileDuration <= 0 {
		opts.FileDuration = 200 * time.Millisecond
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 20 * time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, ln: ln, coreUUID: esl.NewUUID(), listeners: map[*listener]bool{},
		channels: map[string]*channel{}, stop: make(chan struct{}), agents: map[string]Agent{}}
	for name, a := range opts.Agents {
		s.agents[name] = a
	}
	s.wg.Add(2)
	go s.accept()
	go s.heartbeat()
	return s, nil
}

// Addr is host:port to dial.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, drops every connection and hangs up calls.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.stop)
	for _, ch := range s.channels {
		s.hangupLocked(ch, "SYSTEM_SHUTDOWN")
	}
	for l := range s.listeners {
		l.nc.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// --- faults ------------------------------------------------------------

// DropLinks cuts every inbound connection (to port 8021) abruptly (no
// disconnect-notice), as a network failure would. Calls stay up, and so
// do the outbound sockets of calls (see DropCallSockets).
func (s *Server) DropLinks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		if l.session == nil {
			l.nc.Close()
		}
	}
}

// DropCallSockets cuts every outbound call socket abruptly. As in
// FreeSWITCH, each such call leaves the socket application and goes on
// with the dialplan, which hangs it up (freeswitch-conf).
func (s *Server) DropCallSockets() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		if l.session != nil {
			l.nc.Close()
		}
	}
}

// Disconnect sends each inbound listener the goodbye disconnect-notice
// and closes.
func (s *Server) Disconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		if l.session == nil {
			l.goodbye()
		}
	}
}

// SetReplyDelay makes every command wait d before it is handled (and so
// before its reply), keeping order, like a slow api command.
func (s *Server) SetReplyDelay(d time.Duration) {
	s.mu.Lock()
	s.replyDelay = d
	s.mu.Unlock()
}

// SetInterleave fires n HEARTBEAT events between handling each command
// and sending its reply.
func (s *Server) SetInterleave(n int) {
	s.mu.Lock()
	s.interleave = n
	s.mu.Unlock()
}

// SetACLReject makes new connections get text/rude-rejection.
func (s *Server) SetACLReject(on bool) {
	s.mu.Lock()
	s.rude = on
	s.mu.Unlock()
}

// SendRaw writes b to every authenticated listener, in order with its
// events and replies (garbage, a huge body, a bad Content-Length...).
func (s *Server) SendRaw(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		if l.authed && l.session == nil {
			l.enqueue(b)
		}
	}
}

// Listeners is the number of authenticated inbound connections.
func (s *Server) Listeners() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for l := range s.listeners {
		if l.authed && l.session == nil {
			n++
		}
	}
	return n
}

// CallSockets is the number of outbound call sockets open.
func (s *Server) CallSockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for l := range s.listeners {
		if l.session != nil {
			n++
		}
	}
	return n
}

// --- listeners ---------------------------------------------------------

type listener struct {
	s      *Server
	nc     net.Conn
	authed bool

	// Guarded by Server.mu: the listener's event_list, filters and the
	// outbound-mode flags (mod_event_socket.c's listener_t).
	events   bool            // LFLAG_EVENTS
	all      bool            // event_list[ALL]
	subs     map[string]bool // names subscribed while all is false
	except   map[string]bool // names nixed while all is true
	filters  []filter        // in the order added; duplicates kept
	session  *channel        // outbound mode: the call this socket controls
	full     bool            // outbound "full": api, event, linger... allowed
	async    bool
	myevents bool
	linger   bool
	lingerS  int  // seconds, -1: until the client closes
	gone     bool // no more events: disconnected or lingered out

	qmu  sync.Mutex
	q    [][]byte
	qc   *sync.Cond
	done bool

	enqueueHook func([]byte) // tests: takes the frames instead of the socket
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		l := newListener(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.listeners[l] = true
		rude := s.rude
		s.mu.Unlock()
		s.wg.Add(2)
		go l.writer()
		go l.serve(rude)
	}
}

func (s *Server) heartbeat() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.Heartbeat)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			e := s.newEvent("HEARTBEAT", nil)
			e.add("Up-Time", fmt.Sprintf("0 years, 0 days, 0 hours, %d minutes, %d seconds", int(time.Since(start).Minutes()), int(time.Since(start).Seconds())%60))
			e.add("Session-Count", strconv.Itoa(len(s.channels)))
			e.add("Event-Info", "System Ready")
			s.fire(e)
			s.mu.Unlock()
		}
	}
}

// enqueue appends one frame to the listener's output, kept in order.
func (l *listener) enqueue(b []byte) {
	if l.enqueueHook != nil {
		l.enqueueHook(b)
		return
	}
	l.qmu.Lock()
	if !l.done {
		l.q = append(l.q, b)
		l.qc.Signal()
	}
	l.qmu.Unlock()
}

func (l *listener) writer() {
	defer l.s.wg.Done()
	for {
		l.qmu.Lock()
		for len(l.q) == 0 && !l.done {
			l.qc.Wait()
		}
		if len(l.q) == 0 {
			l.qmu.Unlock()
			l.nc.Close() // close_socket after the last frame
			return
		}
		batch := l.q
		l.q = nil
		l.qmu.Unlock()
		for _, b := range batch {
			if _, err := l.nc.Write(b); err != nil {
				l.nc.Close()
				l.finish()
				return
			}
		}
	}
}

// finish stops the writer after what is queued.
func (l *listener) finish() {
	l.qmu.Lock()
	l.done = true
	l.qc.Signal()
	l.qmu.Unlock()
}

// goodbye queues the disconnect-notice (send_disconnect: with
// Controlled-Session-UUID and Content-Disposition on an outbound socket)
// and closes after it is written.
func (l *listener) goodbye() {
	const msg = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
	if l.session != nil {
		l.enqueue([]byte(fmt.Sprintf("Content-Type: text/disconnect-notice\nControlled-Session-UUID: %s\nContent-Disposition: disconnect\nContent-Length: %d\n\n%s",
			l.session.uuid, len(msg), msg)))
	} else {
		l.enqueue([]byte(fmt.Sprintf("Content-Type: text/disconnect-notice\nContent-Length: %d\n\n%s", len(msg), msg)))
	}
	l.finish()
}

func (l *listener) serve(rude bool) {
	defer l.s.wg.Done()
	defer func() {
		l.s.mu.Lock()
		delete(l.s.listeners, l)
		l.s.mu.Unlock()
		l.finish()
	}()
	if rude {
		const msg = "Access Denied, go away.\n"
		l.enqueue([]byte(fmt.Sprintf("Content-Type: text/rude-rejection\nContent-Length: %d\n\n%s", len(msg), msg)))
		l.finish()
		return
	}
	l.enqueue([]byte("Content-Type: auth/request\n\n"))
	l.commands(bufio.NewReader(l.nc))
}

// commands reads and handles commands until the socket ends or a
// command ends the listener.
func (l *listener) commands(br *bufio.Reader) {
	for {
		cmd, hdrs, err := readCommand(br)
		if err != nil {
			l.nc.Close()
			return
		}
		l.s.mu.Lock()
		delay := l.s.replyDelay
		l.s.mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		if !l.handle(cmd, hdrs) {
			return
		}
	}
}

// readCommand reads one command block (read_packet): lines to a blank
// line, first the command, then headers, then an optional body.
func readCommand(br *bufio.Reader) (string, esl.Headers, error) {
	var cmd string
	var hdrs esl.Headers
	size := 0
	for {
		line, err := br.ReadString('\n')
		size += len(line)
		if err != nil {
			return "", nil, err
		}
		if size > 1<<20 {
			return "", nil, fmt.Errorf("command too large")
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if cmd == "" {
				continue
			}
			break
		}
		if cmd == "" {
			cmd = line
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		hdrs = append(hdrs, esl.Header{Name: name, Value: strings.TrimLeft(value, " ")})
	}
	if cl := hdrs.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > 16<<20 {
			return "", nil, fmt.Errorf("Content-Length %q out of range", cl)
		}
		if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
			return "", nil, err
		}
	}
	return cmd, hdrs, nil
}

func (l *listener) reply(text string) {
	l.interleaveLocked()
	l.enqueue([]byte("Content-Type: command/reply\nReply-Text: " + text + "\n\n"))
}

func (l *listener) interleaveLocked() {
	l.s.mu.Lock()
	for range l.s.interleave {
		e := l.s.newEvent("HEARTBEAT", nil)
		e.add("Event-Info", "System Ready")
		l.s.fire(e)
	}
	l.s.mu.Unlock()
}

// --- events ------------------------------------------------------------

type event struct {
	name string
	hdrs esl.Headers
	body string
}

func (e *event) add(name, value string) {
	e.hdrs = append(e.hdrs, esl.Header{Name: name, Value: value})
}

// newEvent starts an event with the headers switch_event_prep_for_delivery
// adds, then the channel's data (switch_channel_event_set_data) when ch
// is given. Call with s.mu held.
func (s *Server) newEvent(name string, ch *channel) *event {
	now := time.Now()
	e := &event{name: name}
	e.add("Event-Name", name)
	e.add("Core-UUID", s.coreUUID)
	e.add("FreeSWITCH-Hostname", "esltest")
	e.add("FreeSWITCH-Switchname", "esltest")
	e.add("FreeSWITCH-IPv4", "127.0.0.1")
	e.add("FreeSWITCH-IPv6", "::1")
	e.add("Event-Date-Local", now.Format("2006-01-02 15:04:05"))
	e.add("Event-Date-GMT", now.UTC().Format(time.RFC1123))
	e.add("Event-Date-Timestamp", strconv.FormatInt(now.UnixMicro(), 10))
	e.add("Event-Calling-File", "esltest.go")
	e.add("Event-Calling-Function", "fire")
	e.add("Event-Calling-Line-Number", "1")
	e.add("Event-Sequence", "") // set by fire
	if ch != nil {
		ch.eventData(e)
	}
	return e
}

// fire sends e to every listener subscribed to it. Call with s.mu held.
func (s *Server) fire(e *event) {
	s.seq++
	for i := range e.hdrs {
		if e.hdrs[i].Name == "Event-Sequence" {
			e.hdrs[i].Value = strconv.FormatUint(s.seq, 10)
		}
	}
	var frame []byte
	for l := range s.listeners {
		if !l.authed || !l.wants(e) {
			continue
		}
		if frame == nil {
			frame = serialize(e)
		}
		l.enqueue(frame)
	}
}

// serialize is switch_event_serialize inside mod_event_socket's frame.
func serialize(e *event) []byte {
	body := serializeEvent(e)
	return []byte(fmt.Sprintf("Content-Length: %d\nContent-Type: text/event-plain\n\n%s", len(body), body))
}

// serializeEvent is switch_event_serialize with encoding on.
func serializeEvent(e *event) string {
	var b strings.Builder
	for _, h := range e.hdrs {
		v := esl.URLEncode(h.Value)
		if v == "" {
			v = "_undef_"
		}
		b.WriteString(h.Name)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
	}
	if e.body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\n\n%s", len(e.body), e.body)
	} else {
		b.WriteByte('\n')
	}
	return b.String()
}
