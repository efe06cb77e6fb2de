package esltest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx/esl"
)

// channel is one simulated call leg. Its fields are guarded by Server.mu.
type channel struct {
	s                     *Server
	uuid, name, direction string
	callerNum, callerName string
	dest, context         string
	created               time.Time
	state, callstate      string
	answered, hungup      bool
	held                  bool // CF_LEG_HOLDING: on hold (its phone's, or uuid_hold's)
	app, appData          string
	vars                  esl.Headers
	bridged               *channel
	bridgeA               bool // this leg is Bridge-A
	apps                  chan func(context.Context)
	cancelApp             context.CancelFunc
	playing               *playing // the playback running now
	recs                  map[string]*rec
	answeredCh, ended     chan struct{}
	// prompts gets the path of each file list a playback starts (the
	// caller's ear, for CallSpec.KeysOnPrompt); never blocks the switch.
	prompts chan string
}

// rec is one uuid_record media bug. The simulated caller talks all the
// time (a 440 Hz tone, never silence): speech is detected at once and
// the silence limits never end a recording. Masked time is written as
// silence (SMBF_MASK), paused time is not written (SMBF_PAUSE).
// playing is a playback under way; done once its PLAYBACK_STOP fired.
type playing struct {
	extra []string // PLAYBACK_STOP's headers but Playback-Status
	done  bool
}

// stopPlaying fires p's PLAYBACK_STOP once. Call with s.mu held.
func (ch *channel) stopPlaying(p *playing, status string) {
	if p == nil || p.done {
		return
	}
	p.done = true
	ch.fire("PLAYBACK_STOP", append(p.extra, "Playback-Status", status)...)
}

type rec struct {
	path   string
	vars   esl.Headers // the recording variables, in order
	timer  *time.Timer // the limit
	mark   time.Time   // start of the current stretch
	masked bool
	paused bool
	parts  []part // written so far, before mark
}

// part is a stretch of a recording: the caller's audio or, masked,
// silence.
type part struct {
	d      time.Duration
	silent bool
}

// cut ends the current stretch at now.
func (r *rec) cut(now time.Time) {
	if !r.paused {
		r.parts = append(r.parts, part{d: now.Sub(r.mark), silent: r.masked})
	}
	r.mark = now
}

// source is where FreeSWITCH raises an event: Event-Calling-File,
// -Function and -Line-Number name switch_event_create's call site
// (FreeSWITCH 1.10.12).
type source struct {
	file, function string
	line           int
}

var (
	fromMarkHold   = source{"switch_channel.c", "switch_channel_mark_hold", 875}
	fromIVRHold    = source{"switch_ivr.c", "switch_ivr_hold", 1558}
	fromIVRUnhold  = source{"switch_ivr.c", "switch_ivr_unhold", 1638}
	fromRecordStop = source{"switch_ivr_async.c", "send_record_stop_event", 1240}
	fromRecordBug  = source{"switch_ivr_async.c", "record_callback", 1481}
)

func (e *event) from(src source) {
	for i := range e.hdrs {
		switch e.hdrs[i].Name {
		case "Event-Calling-File":
			e.hdrs[i].Value = src.file
		case "Event-Calling-Function":
			e.hdrs[i].Value = src.function
		case "Event-Calling-Line-Number":
			e.hdrs[i].Value = strconv.Itoa(src.line)
		}
	}
}

func (s *Server) newChannel(uuid, direction, name, callerNum, callerName, dest string) *channel {
	ch := &channel{s: s, uuid: uuid, name: name, direction: direction, callerNum: callerNum, callerName: callerName,
		dest: dest, context: "public", created: time.Now(), state: "CS_INIT", callstate: "DOWN",
		apps: make(chan func(context.Context), 64), recs: map[string]*rec{},
		answeredCh: make(chan struct{}), ended: make(chan struct{}), prompts: make(chan string, 64)}
	s.channels[uuid] = ch
	s.wg.Add(1)
	go ch.executor()
	return ch
}

func (ch *channel) setVar(name, value string) {
	for i := range ch.vars {
		if ch.vars[i].Name == name {
			ch.vars[i].Value = value
			return
		}
	}
	ch.vars = append(ch.vars, esl.Header{Name: name, Value: value})
}

// extendedEvents are the events switch_channel_event_set_extended_data
// adds the channel's variables to (switch_channel.c); others (DTMF,
// CHANNEL_STATE, CHANNEL_CALLSTATE...) carry them only with
// verbose_events.
var extendedEvents = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`CHANNEL_CREATE CHANNEL_ORIGINATE CHANNEL_UUID CHANNEL_ANSWER CHANNEL_PARK
		CHANNEL_UNPARK CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_HANGUP
		CHANNEL_HANGUP_COMPLETE REQUEST_PARAMS CHANNEL_DATA CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE
		CHANNEL_DESTROY SESSION_HEARTBEAT API RECORD_START RECORD_STOP PLAYBACK_START PLAYBACK_STOP CALL_UPDATE
		MEDIA_BUG_START MEDIA_BUG_STOP CHANNEL_HOLD CHANNEL_UNHOLD TEXT CUSTOM`) {
		m[n] = true
	}
	return m
}()

// eventData adds what switch_channel_event_set_data adds: the basic
// channel data, and the variables for extendedEvents (or all events when
// the channel has verbose_events=true).
func (ch *channel) eventData(e *event) {
	answer := "ringing"
	if ch.answered {
		answer = "answered"
	}
	if ch.hungup {
		answer = "hangup"
	}
	e.add("Channel-State", ch.state)
	e.add("Channel-Call-State", ch.callstate)
	e.add("Channel-Name", ch.name)
	e.add("Unique-ID", ch.uuid)
	e.add("Call-Direction", ch.direction)
	e.add("Presence-Call-Direction", ch.direction)
	e.add("Channel-Call-UUID", ch.uuid)
	e.add("Answer-State", answer)
	e.add("Caller-Direction", ch.direction)
	e.add("Caller-Username", ch.callerNum)
	e.add("Caller-Dialplan", "XML")
	e.add("Caller-Caller-ID-Name", ch.callerName)
	e.add("Caller-Caller-ID-Number", ch.callerNum)
	e.add("Caller-Network-Addr", "127.0.0.1")
	e.add("Caller-ANI", ch.callerNum)
	e.add("Caller-Destination-Number", ch.dest)
	e.add("Caller-Unique-ID", ch.uuid)
	e.add("Caller-Source", "mod_sofia")
	e.add("Caller-Context", ch.context)
	e.add("Caller-Channel-Name", ch.name)
	e.add("Caller-Channel-Created-Time", strconv.FormatInt(ch.created.UnixMicro(), 10))
	if !extendedEvents[e.name] && !strings.EqualFold(ch.vars.Get("verbose_events"), "true") {
		return
	}
	for _, v := range ch.vars {
		e.add("variable_"+v.Name, v.Value)
	}
}

func (ch *channel) fire(name string, extra ...string) {
	ch.fireFrom(source{}, name, extra...)
}

// fireFrom fires an event raised at src (the zero source: esltest's own).
func (ch *channel) fireFrom(src source, name string, extra ...string) {
	e := ch.s.newEvent(name, ch)
	if src.function != "" {
		e.from(src)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		e.add(extra[i], extra[i+1])
	}
	ch.s.fire(e)
}

// executor runs queued applications one at a time, as a session thread
// runs its private event queue.
func (ch *channel) executor() {
	defer ch.s.wg.Done()
	for {
		select {
		case <-ch.ended:
			return
		case app := <-ch.apps:
			ctx, cancel := context.WithCancel(context.Background())
			ch.s.mu.Lock()
			if ch.hungup {
				ch.s.mu.Unlock()
				cancel()
				return
			}
			ch.cancelApp = cancel
			ch.s.mu.Unlock()
			app(ctx)
			cancel()
		}
	}
}

// park makes ch run park (from the dialplan, an originate's &park(), a
// transfer or the end of a bridge). Call with s.mu held.
func (ch *channel) park() {
	ch.app, ch.appData, ch.state = "park", "", "CS_EXECUTE"
	ch.fire("CHANNEL_EXECUTE", "Application", "park")
	ch.fire("CHANNEL_PARK")
}

func (ch *channel) answer() {
	if ch.answered || ch.hungup {
		return
	}
	ch.answered, ch.callstate = true, "ACTIVE"
	close(ch.answeredCh)
	ch.fire("CHANNEL_ANSWER")
}

// hangupLocked ends ch with cause, in FreeSWITCH's event order.
func (s *Server) hangupLocked(ch *channel, cause string) {
	if ch.hungup {
		return
	}
	if ch.held {
		// switch_channel_perform_hangup takes a held leg off hold first.
		ch.held = false
		ch.fireFrom(fromMarkHold, "CHANNEL_UNHOLD")
	}
	ch.hungup, ch.state, ch.callstate = true, "CS_HANGUP", "HANGUP"
	if ch.cancelApp != nil {
		ch.cancelApp()
	}
	ch.setVar("hangup_cause", cause)
	ch.setVar("hangup_cause_q850", strconv.Itoa(q850[cause]))
	ch.fire("CHANNEL_HANGUP", "Hangup-Cause", cause)
	s.socketsHangup(ch)
	// The session thread leaves the application it runs before the
	// channel is reported: a playback ends (break) before
	// CHANNEL_HANGUP_COMPLETE.
	ch.stopPlaying(ch.playing, "break")
	for p := range ch.recs {
		// The channel went down: speech was heard (the simulated
		// caller talks), so the cause is the final-silence one.
		ch.stopRecording(p, "success-silence")
	}
	if o := ch.bridged; o != nil {
		s.unbridge(ch)
		o.park() // park_after_bridge=true
	}
	ch.state = "CS_REPORTING"
	ch.fire("CHANNEL_HANGUP_COMPLETE", "Hangup-Cause", cause)
	ch.state = "CS_DESTROY"
	ch.fire("CHANNEL_DESTROY")
	delete(s.channels, ch.uuid)
	close(ch.ended)
	s.socketsLinger(ch)
}

var q850 = map[string]int{"NORMAL_CLEARING": 16, "USER_BUSY": 17, "NO_ANSWER": 19, "NORMAL_CIRCUIT_CONGESTION": 34,
	"ORIGINATOR_CANCEL": 487, "SYSTEM_SHUTDOWN": 41, "NORMAL_TEMPORARY_FAILURE": 41, "MANAGER_REQUEST": 16, "NO_USER_RESPONSE": 18}

func (s *Server) unbridge(ch *channel) {
	o := ch.bridged
	a, b := ch, o
	if !ch.bridgeA {
		a, b = o, ch
	}
	a.fire("CHANNEL_UNBRIDGE", "Bridge-A-Unique-ID", a.uuid, "Bridge-B-Unique-ID", b.uuid, "Other-Leg-Unique-ID", b.uuid)
	ch.bridged, o.bridged = nil, nil
}

// --- sendmsg -----------------------------------------------------------

func (s *Server) sendmsg(uuid string, h esl.Headers) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendmsgLocked(uuid, h)
}

// sendmsgLocked queues a sendmsg on the session. What it starts fires
// its events under s.mu, so a caller that replies before unlocking
// sends the reply first, as mod_event_socket does (it writes the reply
// at once and events only between commands). Call with s.mu held.
func (s *Server) sendmsgLocked(uuid string, h esl.Headers) bool {
	ch := s.channels[uuid]
	if ch == nil || ch.hungup {
		return false
	}
	switch strings.ToLower(h.Get("call-command")) {
	case "hangup":
		cause := h.Get("hangup-cause")
		if _, ok := q850[cause]; !ok {
			cause = "NORMAL_CLEARING"
		}
		s.wg.Add(1)
		go func() { // queued on the session, handled after the reply
			defer s.wg.Done()
			s.mu.Lock()
			s.hangupLocked(ch, cause)
			s.mu.Unlock()
		}()
	case "execute":
		app, arg := h.Get("execute-app-name"), h.Get("execute-app-arg")
		select {
		case ch.apps <- func(ctx context.Context) { s.runApp(ctx, ch, app, arg) }:
		default:
			return false
		}
	}
	return true
}

func (s *Server) runApp(ctx context.Context, ch *channel, app, arg string) {
	s.mu.Lock()
	if ch.hungup {
		s.mu.Unlock()
		return
	}
	ch.fire("CHANNEL_EXECUTE", "Application", app, "Application-Data", arg)
	switch app {
	case "answer":
		ch.answer()
	case "ring_ready":
		ch.callstate = "RINGING"
		ch.fire("CHANNEL_PROGRESS")
	case "playback":
		s.mu.Unlock()
		s.playback(ctx, ch, arg)
		s.mu.Lock()
	}
	if !ch.hungup {
		ch.fire("CHANNEL_EXECUTE_COMPLETE", "Application", app, "Application-Data", arg)
	}
	s.mu.Unlock()
}

// playback plays arg: "{k=v,...}file_string://a!b" or one file.
func (s *Server) playback(ctx context.Context, ch *channel, arg string) {
	var params [][2]string
	file := arg
	if strings.HasPrefix(file, "{") {
		if end := strings.IndexByte(file, '}'); end > 0 {
			for _, kv := range strings.Split(file[1:end], ",") {
				k, v, _ := strings.Cut(kv, "=")
				params = append(params, [2]string{k, v})
			}
			file = file[end+1:]
		}
	}
	var dur time.Duration
	switch {
	case strings.HasPrefix(file, "local_stream://"):
		dur = time.Hour
	default:
		for _, f := range strings.Split(strings.TrimPrefix(file, "file_string://"), "!") {
			if ms, ok := strings.CutPrefix(f, "silence_stream://"); ok {
				n, _ := strconv.Atoi(ms)
				dur += time.Duration(n) * time.Millisecond
			} else if d, ok := toneDuration(f); ok {
				dur += d
			} else {
				dur += s.opts.FileDuration
			}
		}
	}
	extra := []string{"Playback-File-Path", file}
	if strings.HasPrefix(file, "local_stream:") {
		extra = append([]string{"Playback-File-Type", "local_stream"}, extra...)
	}
	for _, p := range params {
		extra = append(extra, p[0], p[1])
	}
	s.mu.Lock()
	if ch.hungup {
		s.mu.Unlock()
		return
	}
	ch.fire("PLAYBACK_START", extra...)
	p := &playing{extra: extra}
	ch.playing = p
	select {
	case ch.prompts <- file:
	default:
	}
	s.mu.Unlock()
	t := time.NewTimer(dur)
	status := "done"
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		status = "break"
	}
	s.mu.Lock()
	ch.stopPlaying(p, status)
	if ch.playing == p {
		ch.playing = nil
	}
	s.mu.Unlock()
}

// toneDuration is how long a "tone_stream://%(on,off,freq...)..." plays
// once: the on and off times of each %(...) segment (teletone's
// notation), in milliseconds.
func toneDuration(f string) (time.Duration, bool) {
	spec, ok := strings.CutPrefix(f, "tone_stream://")
	if !ok {
		return 0, false
	}
	var d time.Duration
	for {
		i := strings.Index(spec, "%(")
		if i < 0 {
			break
		}
		spec = spec[i+2:]
		end := strings.IndexByte(spec, ')')
		if end < 0 {
			break
		}
		nums := strings.Split(spec[:end], ",")
		for _, n := range nums[:min(2, len(nums))] {
			ms, _ := strconv.Atoi(strings.TrimSpace(n))
			d += time.Duration(ms) * time.Millisecond
		}
		spec = spec[end+1:]
	}
	return d, true
}

// --- api ---------------------------------------------------------------

// api runs an api command and returns its output.
func (s *Server) api(line string) string {
	name, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	f := strings.Fields(arg)
	switch name {
	case "status":
		return "UP 0 years, 0 days, 0 hours, 0 minutes, 1 second\nFreeSWITCH (Version 1.10.12 esltest) is ready\n"
	case "eval":
		return arg
	case "show":
		return s.show(arg)
	case "originate":
		return s.originate(arg)
	}
	if !strings.HasPrefix(name, "uuid_") {
		return "-ERR " + name + " Command not found!\n"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	find := func(i int) *channel {
		if i >= len(f) {
			return nil
		}
		if ch := s.channels[f[i]]; ch != nil && !ch.hungup {
			return ch
		}
		return nil
	}
	const gone = "-ERR No such channel!\n"
	switch name {
	case "uuid_kill":
		ch := find(0)
		if ch == nil {
			return gone
		}
		cause := "NORMAL_CLEARING"
		if len(f) > 1 {
			cause = f[1]
		}
		s.hangupLocked(ch, cause)
		return "+OK\n"
	case "uuid_break":
		ch := find(0)
		if ch == nil {
			return gone
		}
		if len(f) > 1 && f[1] == "all" {
			for len(ch.apps) > 0 {
				<-ch.apps
			}
		}
		if ch.cancelApp != nil {
			ch.cancelApp()
		}
		return "+OK\n"
	case "uuid_hold":
		return s.uuidHold(f)
	case "uuid_broadcast":
		return s.uuidBroadcast(f)
	case "uuid_bridge":
		a, b := find(0), find(1)
		if a == nil || b == nil || a == b {
			return "-ERR Invalid uuid\n"
		}
		for _, c := range []*channel{a, b} {
			if c.bridged != nil {
				s.unbridge(c)
			}
			if c.cancelApp != nil {
				c.cancelApp()
			}
			c.app, c.state = "", "CS_EXCHANGE_MEDIA"
		}
		a.bridged, b.bridged, a.bridgeA, b.bridgeA = b, a, true, false
		a.fire("CHANNEL_BRIDGE", "Bridge-A-Unique-ID", a.uuid, "Bridge-B-Unique-ID", b.uuid, "Other-Leg-Unique-ID", b.uuid)
		return "+OK " + b.uuid + "\n"
	case "uuid_transfer":
		ch := find(0)
		if ch == nil {
			return gone
		}
		if len(f) < 2 || f[len(f)-2] != "park" && !(len(f) >= 3 && f[1] == "-both" && f[2] == "park") {
			return "-ERR esltest transfers to park only\n"
		}
		o := ch.bridged
		if o != nil {
			s.unbridge(ch)
			o.park()
		}
		if ch.cancelApp != nil {
			ch.cancelApp()
		}
		ch.park()
		return "+OK\n"
	case "uuid_record":
		return s.uuidRecord(arg)
	}
	return "-ERR " + name + " Command not found!\n"
}

// holdSyntax and broadcastSyntax are mod_commands' usage texts.
const (
	holdSyntax      = "[off|toggle] <uuid> [<display>]"
	broadcastSyntax = "<uuid> <path> [aleg|bleg|holdb|both]"
	recordSyntax    = "<uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]"
)

// uuidHold is "uuid_hold [off|toggle] UUID": switch_ivr_hold_uuid,
// switch_ivr_unhold_uuid and switch_ivr_hold_toggle_uuid. A channel that
// does not exist is "+OK Success" (they succeed when the session is not
// found). Holding a held call, or unholding one that is not, is "-ERR
// Operation failed" (switch_ivr_hold and switch_ivr_unhold check the
// callstate). A hold tells the phone (INDICATE_HOLD: mod_sofia sets
// CF_LEG_HOLDING, which makes an answered call HELD), then raises
// CHANNEL_HOLD from switch_ivr_hold; an unhold makes it UNHELD and raises
// CHANNEL_UNHOLD from switch_ivr_unhold. Call with s.mu held.
func (s *Server) uuidHold(f []string) string {
	if len(f) < 1 {
		return "-USAGE: " + holdSyntax + "\n"
	}
	op, i := "hold", 0
	switch strings.ToLower(f[0]) {
	case "off":
		op, i = "unhold", 1
	case "toggle":
		op, i = "toggle", 1
	}
	var ch *channel
	if i < len(f) {
		if c := s.channels[f[i]]; c != nil && !c.hungup {
			ch = c
		}
	}
	if ch == nil {
		return "+OK Success\n"
	}
	if op == "toggle" {
		switch ch.callstate {
		case "ACTIVE", "UNHELD":
			op = "hold"
		case "HELD":
			op = "unhold"
		default:
			return "+OK Success\n"
		}
	}
	switch {
	case op == "hold" && ch.callstate == "HELD", op == "unhold" && ch.callstate != "HELD":
		return "-ERR Operation failed\n"
	case op == "hold":
		ch.setLegHolding(true)
		ch.fireFrom(fromIVRHold, "CHANNEL_HOLD")
	default:
		ch.setLegHolding(false)
		ch.fireFrom(fromIVRUnhold, "CHANNEL_UNHOLD")
	}
	return "+OK Success\n"
}

// setLegHolding sets or clears CF_LEG_HOLDING: on an answered call the
// callstate becomes HELD, then UNHELD (switch_channel.c).
func (ch *channel) setLegHolding(on bool) {
	if ch.held == on {
		return
	}
	ch.held = on
	if !ch.answered {
		return
	}
	if on {
		ch.callstate = "HELD"
	} else {
		ch.callstate = "UNHELD"
	}
}

// uuidBroadcast is "uuid_broadcast UUID PATH [aleg|bleg|holdb|both]"
// (switch_ivr_broadcast): PATH, or APP::ARGS, is queued on the leg like
// a sendmsg execute ("+OK Message sent"); "-ERR invalid uuid" when the
// channel does not exist. esltest plays to the named leg and, for bleg
// and both, to its bridge partner; it does not put the partner on hold.
// Call with s.mu held.
func (s *Server) uuidBroadcast(f []string) string {
	if len(f) < 2 {
		return "-USAGE: " + broadcastSyntax + "\n"
	}
	ch := s.channels[f[0]]
	if ch == nil || ch.hungup {
		return "-ERR invalid uuid\n"
	}
	app, arg := "playback", f[1]
	if a, b, ok := strings.Cut(f[1], "::"); ok {
		app, arg = a, b
	}
	aleg, bleg := true, false
	if len(f) > 2 {
		mode := strings.ToLower(f[2])
		aleg = strings.Contains(mode, "aleg") || strings.Contains(mode, "both")
		bleg = (strings.Contains(mode, "bleg") || strings.Contains(mode, "both")) && !strings.Contains(mode, "holdb")
	}
	var legs []*channel
	if bleg && ch.bridged != nil {
		legs = append(legs, ch.bridged)
	}
	if aleg {
		legs = append(legs, ch)
	}
	for _, leg := range legs {
		select {
		case leg.apps <- func(ctx context.Context) { s.runApp(ctx, leg, app, arg) }:
		default:
		}
	}
	return "+OK Message sent\n"
}

// uuidRecord is "uuid_record UUID start|stop|mask|unmask|pause|resume
// PATH [LIMIT] [{VARS}]" (mod_commands' session_record_function on
// switch_ivr_async.c), with its replies. start opens PATH at once
// (RECORD_START, "-ERR Cannot record session!" when it cannot be
// created; esltest has no recordings directory of its own, so PATH must
// be absolute) and takes the recording variables, URL-encoded, in
// {name=value,...}; a path already recording is "+OK Success" and
// nothing more. stop ends it (RECORD_STOP, Record-Completion-Cause
// success-maxtime; "all" ends every one); LIMIT seconds do the same.
// mask and unmask write silence in place of the audio from now on;
// pause and resume (FreeSWITCH 1.10.7 on) leave the time out of the
// file. Call with s.mu held.
func (s *Server) uuidRecord(arg string) string {
	f := strings.SplitN(strings.TrimSpace(arg), " ", 5)
	if len(f) < 3 || f[0] == "" || f[1] == "" || f[2] == "" {
		return "-USAGE: " + recordSyntax + "\n"
	}
	ch := s.channels[f[0]]
	if ch == nil || ch.hungup {
		return "-ERR Cannot locate session!\n"
	}
	path, now := f[2], time.Now()
	r := ch.recs[path]
	switch strings.ToLower(f[1]) {
	case "start":
		if r != nil {
			return "+OK Success\n" // "Already recording"
		}
		if !filepath.IsAbs(path) {
			return "-ERR Cannot record session!\n"
		}
		if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
			return "-ERR Cannot record session!\n"
		}
		r = &rec{path: path, mark: now}
		if len(f) > 4 {
			r.vars = recordingVars(f[4])
		}
		if len(f) > 3 {
			if secs := atoi(f[3]); secs > 0 {
				r.timer = time.AfterFunc(time.Duration(secs)*time.Second, func() {
					s.mu.Lock()
					defer s.mu.Unlock()
					if ch.recs[path] == r {
						ch.stopRecording(path, "success-maxtime")
					}
				})
			}
		}
		ch.recs[path] = r
		ch.fireFrom(fromRecordBug, "RECORD_START", append([]string{"Record-File-Path", path}, r.varHeaders()...)...)
		return "+OK Success\n"
	case "stop":
		if path == "all" && len(ch.recs) > 0 {
			for p := range ch.recs {
				ch.stopRecording(p, "success-maxtime")
			}
			return "+OK Success\n"
		}
		if r == nil {
			return "-ERR Cannot stop record session!\n"
		}
		ch.stopRecording(path, "success-maxtime")
		return "+OK Success\n"
	case "mask", "unmask":
		if r == nil {
			return "-ERR Cannot " + strings.ToLower(f[1]) + " recording session!\n"
		}
		r.cut(now)
		r.masked = strings.EqualFold(f[1], "mask")
		return "+OK Success\n"
	case "pause", "resume":
		if r == nil {
			return "-ERR Cannot " + strings.ToLower(f[1]) + " recording session!\n"
		}
		r.cut(now)
		r.paused = strings.EqualFold(f[1], "pause")
		return "+OK Success\n"
	}
	return "-USAGE: " + recordSyntax + "\n"
}

// recordingVars parses uuid_record's fifth argument: URL-decoded, then
// "{name=value,...}" (switch_event_create_brackets).
func recordingVars(arg string) esl.Headers {
	if v, err := url.PathUnescape(arg); err == nil {
		arg = v
	}
	arg = strings.TrimSpace(arg)
	if !strings.HasPrefix(arg, "{") || !strings.HasSuffix(arg, "}") {
		return nil
	}
	var out esl.Headers
	for _, kv := range strings.Split(arg[1:len(arg)-1], ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			out = append(out, esl.Header{Name: k, Value: v})
		}
	}
	return out
}

// varHeaders are the recording variables as RECORD_START and
// RECORD_STOP carry them (merge_recording_variables).
func (r *rec) varHeaders() []string {
	var out []string
	for _, v := range r.vars {
		out = append(out, "Recording-Variable-"+v.Name, v.Value)
	}
	return out
}

// stopRecording closes a recording as the media bug's close does: the
// WAV holds what was written (8 kHz, 16-bit mono: the caller's 440 Hz
// tone, silence where masked); a recording with nothing written is
// removed (empty-file), one that cannot be written is uri-failure.
// record_samples, record_seconds, record_ms and record_completion_cause
// are set on the channel, then RECORD_STOP fires. Call with s.mu held.
func (ch *channel) stopRecording(path, cause string) {
	r := ch.recs[path]
	delete(ch.recs, path)
	if r.timer != nil {
		r.timer.Stop()
	}
	r.cut(time.Now())
	samples := 0
	for _, p := range r.parts {
		samples += int(p.d.Seconds() * 8000)
	}
	switch {
	case samples < 160: // not one 20 ms frame written
		os.Remove(path)
		cause = "empty-file"
	default:
		if err := writeWAV(path, r.parts); err != nil {
			cause = "uri-failure"
		}
	}
	ch.setVar("record_samples", strconv.Itoa(samples))
	ch.setVar("record_seconds", strconv.Itoa(samples/8000))
	ch.setVar("record_ms", strconv.Itoa(samples/8))
	ch.setVar("record_completion_cause", cause)
	extra := append([]string{"Record-File-Path", path}, r.varHeaders()...)
	ch.fireFrom(fromRecordStop, "RECORD_STOP", append(extra, "Record-Completion-Cause", cause)...)
}

func writeWAV(path string, parts []part) error {
	n := 0
	for _, p := range parts {
		n += int(p.d.Seconds() * 8000)
	}
	buf := make([]byte, 44+2*n)
	copy(buf[0:], "RIFF")
	binary.LittleEndian.PutUint32(buf[4:], uint32(36+2*n))
	copy(buf[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(buf[16:], 16)
	binary.LittleEndian.PutUint16(buf[20:], 1)
	binary.LittleEndian.PutUint16(buf[22:], 1)
	binary.LittleEndian.PutUint32(buf[24:], 8000)
	binary.LittleEndian.PutUint32(buf[28:], 16000)
	binary.LittleEndian.PutUint16(buf[32:], 2)
	binary.LittleEndian.PutUint16(buf[34:], 16)
	copy(buf[36:], "data")
	binary.LittleEndian.PutUint32(buf[40:], uint32(2*n))
	i := 0
	for _, p := range parts {
		for range int(p.d.Seconds() * 8000) {
			if !p.silent {
				v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
				binary.LittleEndian.PutUint16(buf[44+2*i:], uint16(v))
			}
			i++
		}
	}
	return os.WriteFile(path, buf, 0o644)
}

// show answers "show channels as json" and "show bridged_calls as json"
// in mod_commands' shape: {"row_count":N,"rows":[{...}]}, string values
// in column order.
func (s *Server) show(arg string) string {
	what := strings.Fields(arg)
	if len(what) != 3 || what[1] != "as" || what[2] != "json" || (what[0] != "channels" && what[0] != "bridged_calls") {
		return "-USAGE: show channels|bridged_calls as json (esltest)\n"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var rows []string
	for _, ch := range s.channels {
		if ch.hungup || (what[0] == "bridged_calls" && (ch.bridged == nil || !ch.bridgeA)) {
			continue
		}
		cols := []string{"uuid", ch.uuid, "direction", ch.direction, "created", ch.created.Format("2006-01-02 15:04:05"),
			"created_epoch", strconv.FormatInt(ch.created.Unix(), 10), "name", ch.name, "state", ch.state,
			"cid_name", ch.callerName, "cid_num", ch.callerNum, "ip_addr", "127.0.0.1", "dest", ch.dest,
			"application", ch.app, "application_data", ch.appData, "dialplan", "XML", "context", ch.context,
			"read_codec", "PCMU", "read_rate", "8000", "write_codec", "PCMU", "write_rate", "8000",
			"hostname", "esltest", "callstate", ch.callstate, "call_uuid", ch.uuid}
		if what[0] == "bridged_calls" {
			cols = append(cols, "b_uuid", ch.bridged.uuid, "b_direction", ch.bridged.direction,
				"b_name", ch.bridged.name, "b_callstate", ch.bridged.callstate)
		}
		var b strings.Builder
		b.WriteByte('{')
		for i := 0; i < len(cols); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(cols[i])
			v, _ := json.Marshal(cols[i+1])
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteByte('}')
		rows = append(rows, b.String())
	}
	if len(rows) == 0 {
		return "{\"row_count\":0}\n"
	}
	return fmt.Sprintf("{\"row_count\":%d,\"rows\":[%s]}\n", len(rows), strings.Join(rows, ","))
}

// Agent says how one directory user (an agent's phone) answers.
type Agent struct {
	// AnswerAfter is how long it rings before answering (zero:
	// Options.AgentAnswerDelay).
	AnswerAfter time.Duration
	// NoAnswer makes it ring until the originate's originate_timeout
	// ends it with NO_ANSWER, or hotline cancels it.
	NoAnswer bool
}

// SetAgent sets how user/NAME answers the originates that follow.
func (s *Server) SetAgent(name string, a Agent) {
	s.mu.Lock()
	s.agents[name] = a
	s.mu.Unlock()
}

// originate handles "{vars}user/NAME &park()": the user's phone rings
// (CHANNEL_PROGRESS), then answers after its answer delay and parks, or
// rings out at originate_timeout (NO_ANSWER); see Agent.
func (s *Server) originate(arg string) string {
	vars := map[string]string{}
	if strings.HasPrefix(arg, "{") {
		end := strings.IndexByte(arg, '}')
		if end < 0 {
			return "-ERR INVALID_NUMBER_FORMAT\n"
		}
		for _, kv := range splitVars(arg[1:end]) {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = strings.Trim(v, "'")
		}
		arg = arg[end+1:]
	}
	dial, app, _ := strings.Cut(arg, " ")
	if app != "&park()" {
		return "-ERR esltest originates to &park() only\n"
	}
	user, ok := strings.CutPrefix(dial, "user/")
	s.mu.Lock()
	spec, listed := s.agents[user]
	s.mu.Unlock()
	if !ok || !listed && !strings.HasPrefix(user, "agent") {
		return "-ERR USER_NOT_REGISTERED\n"
	}
	uuid := vars["origination_uuid"]
	if uuid == "" {
		uuid = esl.NewUUID()
	}
	timeout := 60 * time.Second
	if n, err := strconv.Atoi(vars["originate_timeout"]); err == nil && n > 0 {
		timeout = time.Duration(n) * time.Second
	}
	answerAfter := s.opts.AgentAnswerDelay
	if spec.AnswerAfter > 0 {
		answerAfter = spec.AnswerAfter
	}
	noAnswer := spec.NoAnswer || answerAfter > timeout
	s.mu.Lock()
	if s.channels[uuid] != nil {
		s.mu.Unlock()
		return "-ERR DESTINATION_OUT_OF_ORDER\n"
	}
	ch := s.newChannel(uuid, "outbound", "sofia/internal/"+user+"@127.0.0.1", vars["origination_caller_id_number"],
		vars["origination_caller_id_name"], user)
	for k, v := range vars {
		if k != "origination_uuid" {
			ch.setVar(k, v)
		}
	}
	ch.fire("CHANNEL_CREATE")
	ch.fire("CHANNEL_OUTGOING")
	s.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // 100 Trying, then 180 Ringing
	s.mu.Lock()
	if ch.hungup {
		s.mu.Unlock()
		return "-ERR ORIGINATOR_CANCEL\n"
	}
	ch.callstate = "RINGING"
	ch.fire("CHANNEL_PROGRESS")
	s.mu.Unlock()
	wait := answerAfter
	if noAnswer {
		wait = timeout
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ch.ended:
		return "-ERR ORIGINATOR_CANCEL\n"
	case <-s.stop:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch.hungup {
		return "-ERR ORIGINATOR_CANCEL\n"
	}
	if noAnswer {
		s.hangupLocked(ch, "NO_ANSWER")
		return "-ERR NO_ANSWER\n"
	}
	ch.answer()
	ch.park()
	return "+OK " + uuid + "\n"
}

// splitVars splits "a=b,c='d e'" on commas outside single quotes.
func splitVars(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// --- callers -------------------------------------------------------------

// CallSpec describes an inbound test call.
type CallSpec struct {
	Service, Caller string
	// Keys are DTMF groups sent KeyDelay after the answer or the previous
	// group, one digit per 100ms.
	Keys     []string
	KeyDelay time.Duration
	// KeysOnPrompt, when set, makes each key group wait for the next
	// playback whose file list contains it (e.g. "main-menu") to start,
	// then KeyDelay: a key pressed in the middle of that prompt.
	KeysOnPrompt string
	// KeyPrompts and KeyDelays, when set, give each key group its own
	// prompt to wait for ("": none) and its own delay, in place of
	// KeysOnPrompt and KeyDelay.
	KeyPrompts []string
	KeyDelays  []time.Duration
	// HangupAfter: the caller hangs up this long after its last keys (or
	// the answer); zero waits for the far end.
	HangupAfter time.Duration
	// Socket, when set, makes the dialplan hand the call to the socket
	// application with these arguments (outbound mode), e.g.
	// "127.0.0.1:8084 async full", instead of parking it for an inbound
	// listener (which sets hotline=true, as freeswitch-conf's park
	// dialplan does).
	Socket string
}

// Call is the caller's side of an inbound call.
type Call struct {
	UUID string
	ch   *channel
	done chan struct{}
	err  error
}

// PlaceCall makes a call arrive for spec.Service: CHANNEL_CREATE, then
// the dialplan's park (CHANNEL_EXECUTE, CHANNEL_PARK), or with
// spec.Socket the socket application (outbound mode).
func (s *Server) PlaceCall(spec CallSpec) *Call {
	c := &Call{UUID: esl.NewUUID(), done: make(chan struct{})}
	s.mu.Lock()
	ch := s.newChannel(c.UUID, "inbound", "sofia/external/"+spec.Caller+"@127.0.0.1", spec.Caller, spec.Caller, spec.Service)
	c.ch = ch
	ch.setVar("hangup_after_bridge", "false")
	ch.setVar("park_after_bridge", "true")
	if spec.Socket == "" {
		ch.setVar("hotline", "true")
	}
	ch.callstate = "RINGING"
	ch.fire("CHANNEL_CREATE")
	if spec.Socket != "" {
		s.startSocketApp(ch, spec.Socket)
	} else {
		ch.park()
	}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(c.done)
		c.err = s.caller(ch, spec)
	}()
	return c
}

func (s *Server) caller(ch *channel, spec CallSpec) error {
	select {
	case <-ch.answeredCh:
	case <-ch.ended:
		return errors.New("esltest: call ended unanswered")
	case <-time.After(2 * time.Minute):
		s.mu.Lock()
		s.hangupLocked(ch, "ORIGINATOR_CANCEL")
		s.mu.Unlock()
		return errors.New("esltest: call not answered within 2 minutes")
	}
	sleep := func(d time.Duration) bool {
		select {
		case <-time.After(d):
			return true
		case <-ch.ended:
			return false
		}
	}
	for i, group := range spec.Keys {
		prompt, delay := spec.KeysOnPrompt, spec.KeyDelay
		if spec.KeyPrompts != nil {
			prompt = ""
			if i < len(spec.KeyPrompts) {
				prompt = spec.KeyPrompts[i]
			}
		}
		if i < len(spec.KeyDelays) {
			delay = spec.KeyDelays[i]
		}
		if prompt != "" && !waitPrompt(ch, prompt) {
			return nil
		}
		if !sleep(delay) {
			return nil
		}
		for _, d := range group {
			s.mu.Lock()
			if !ch.hungup {
				ch.fire("DTMF", "DTMF-Digit", string(d), "DTMF-Duration", "800", "DTMF-Source", "RTP")
			}
			s.mu.Unlock()
			if !sleep(100 * time.Millisecond) {
				return nil
			}
		}
	}
	if spec.HangupAfter > 0 {
		if sleep(spec.HangupAfter) {
			s.mu.Lock()
			s.hangupLocked(ch, "NORMAL_CLEARING")
			s.mu.Unlock()
		}
		return nil
	}
	<-ch.ended
	return nil
}

// waitPrompt waits until ch starts playing a file list containing want;
// false if the call ended first.
func waitPrompt(ch *channel, want string) bool {
	for {
		select {
		case f := <-ch.prompts:
			if strings.Contains(f, want) {
				return true
			}
		case <-ch.ended:
			return false
		}
	}
}

// Wait blocks until the call has ended; it fails when the call was never
// answered.
func (c *Call) Wait(ctx context.Context) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return fmt.Errorf("esltest: call %s still up: %w", c.UUID, ctx.Err())
	}
}

// Hangup hangs a channel up from the far end (caller or agent).
func (s *Server) Hangup(uuid, cause string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[uuid]
	if ch == nil {
		return false
	}
	s.hangupLocked(ch, cause)
	return true
}

// PhoneHold makes the phone on channel uuid put the call on hold (on: a
// re-INVITE whose SDP says sendonly) or take it off hold (sendrecv), as
// FreeSWITCH's media negotiation reports it (switch_core_media.c): on an
// answered call, switch_channel_mark_hold sets or clears CF_LEG_HOLDING
// (callstate HELD, then UNHELD) and raises CHANNEL_HOLD or
// CHANNEL_UNHOLD; a hold the channel is already in raises nothing. The
// hold music FreeSWITCH then plays to the other leg is not simulated.
// It reports whether the channel exists.
func (s *Server) PhoneHold(uuid string, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[uuid]
	if ch == nil || ch.hungup {
		return false
	}
	if on && !ch.answered || ch.held == on {
		return true
	}
	ch.setLegHolding(on)
	if on {
		ch.fireFrom(fromMarkHold, "CHANNEL_HOLD")
	} else {
		ch.fireFrom(fromMarkHold, "CHANNEL_UNHOLD")
	}
	return true
}
