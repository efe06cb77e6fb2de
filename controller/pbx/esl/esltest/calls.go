package esltest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	app, appData          string
	vars                  esl.Headers
	bridged               *channel
	bridgeA               bool // this leg is Bridge-A
	apps                  chan func(context.Context)
	cancelApp             context.CancelFunc
	recs                  map[string]*rec
	answeredCh, ended     chan struct{}
	// prompts gets the path of each file list a playback starts (the
	// caller's ear, for CallSpec.KeysOnPrompt); never blocks the switch.
	prompts chan string
}

type rec struct {
	path  string
	start time.Time
	timer *time.Timer
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
// CHANNEL_STATE, CHANNEL_HOLD...) carry them only with verbose_events.
var extendedEvents = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`CHANNEL_CREATE CHANNEL_ORIGINATE CHANNEL_UUID CHANNEL_ANSWER CHANNEL_PARK
		CHANNEL_UNPARK CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_HANGUP
		CHANNEL_HANGUP_COMPLETE REQUEST_PARAMS CHANNEL_DATA CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE
		CHANNEL_DESTROY SESSION_HEARTBEAT API RECORD_START RECORD_STOP PLAYBACK_START PLAYBACK_STOP CALL_UPDATE
		MEDIA_BUG_START MEDIA_BUG_STOP CUSTOM`) {
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
	e := ch.s.newEvent(name, ch)
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
	ch.hungup, ch.state, ch.callstate = true, "CS_HANGUP", "HANGUP"
	if ch.cancelApp != nil {
		ch.cancelApp()
	}
	ch.setVar("hangup_cause", cause)
	ch.setVar("hangup_cause_q850", strconv.Itoa(q850[cause]))
	ch.fire("CHANNEL_HANGUP", "Hangup-Cause", cause)
	s.socketsHangup(ch)
	for p := range ch.recs {
		ch.stopRecording(p)
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
	ch.fire("PLAYBACK_START", extra...)
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
	ch.fire("PLAYBACK_STOP", append(extra, "Playback-Status", status)...)
	s.mu.Unlock()
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
		i, ev := 0, "CHANNEL_HOLD"
		if len(f) > 0 && f[0] == "off" {
			i, ev = 1, "CHANNEL_UNHOLD"
		}
		ch := find(i)
		if ch == nil {
			return gone
		}
		if ev == "CHANNEL_HOLD" {
			ch.callstate = "HELD"
		} else {
			ch.callstate = "ACTIVE"
		}
		ch.fire(ev)
		return "+OK Success\n"
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
		ch := find(0)
		if ch == nil || len(f) < 3 {
			return "-ERR Cannot locate session!\n"
		}
		path := f[2]
		switch f[1] {
		case "start":
			if !filepath.IsAbs(path) {
				return "-ERR path must be absolute\n"
			}
			if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
				return "-ERR cannot open " + path + "\n"
			}
			r := &rec{path: path, start: time.Now()}
			if len(f) > 3 {
				if secs, err := strconv.Atoi(f[3]); err == nil && secs > 0 {
					r.timer = time.AfterFunc(time.Duration(secs)*time.Second, func() {
						s.mu.Lock()
						defer s.mu.Unlock()
						if ch.recs[path] == r {
							ch.stopRecording(path)
						}
					})
				}
			}
			ch.recs[path] = r
			ch.fire("RECORD_START", "Record-File-Path", path)
			return "+OK Success\n"
		case "stop":
			if ch.recs[path] == nil {
				return "-ERR Cannot locate session!\n"
			}
			ch.stopRecording(path)
			return "+OK Success\n"
		}
		return "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>]\n"
	}
	return "-ERR " + name + " Command not found!\n"
}

// stopRecording writes the WAV for the time recorded (8 kHz, 16-bit
// mono, a 440 Hz tone) and fires RECORD_STOP. Call with s.mu held.
func (ch *channel) stopRecording(path string) {
	r := ch.recs[path]
	delete(ch.recs, path)
	if r.timer != nil {
		r.timer.Stop()
	}
	if err := writeWAV(path, time.Since(r.start)); err != nil {
		ch.fire("RECORD_STOP", "Record-File-Path", path, "Record-Completion-Cause", "write-error")
		return
	}
	ch.fire("RECORD_STOP", "Record-File-Path", path, "Record-Completion-Cause", "success-nomaxtime")
}

func writeWAV(path string, d time.Duration) error {
	n := int(d.Seconds() * 8000)
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
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
		binary.LittleEndian.PutUint16(buf[44+2*i:], uint16(v))
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
	for _, group := range spec.Keys {
		if spec.KeysOnPrompt != "" && !waitPrompt(ch, spec.KeysOnPrompt) {
			return nil
		}
		if !sleep(spec.KeyDelay) {
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
