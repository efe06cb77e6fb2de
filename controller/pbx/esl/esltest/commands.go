package esltest

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/hotline-cc/hotline/controller/pbx/esl"
)

// Command handling, after mod_event_socket.c's parse_command. Replies are
// FreeSWITCH's texts, typos included.

func newListener(s *Server, nc net.Conn) *listener {
	l := &listener{s: s, nc: nc, subs: map[string]bool{}, except: map[string]bool{}}
	l.qc = sync.NewCond(&l.qmu)
	return l
}

// filter is one "filter HEADER VALUE".
type filter struct{ name, value string }

// eventNames are the names switch_name_event knows (switch_event.c
// EVENT_NAMES), compared without case.
var eventNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`CUSTOM CLONE CHANNEL_CREATE CHANNEL_DESTROY CHANNEL_STATE CHANNEL_CALLSTATE
		CHANNEL_ANSWER CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HOLD
		CHANNEL_UNHOLD CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_OUTGOING
		CHANNEL_PARK CHANNEL_UNPARK CHANNEL_APPLICATION CHANNEL_ORIGINATE CHANNEL_UUID API LOG INBOUND_CHAN
		OUTBOUND_CHAN STARTUP SHUTDOWN PUBLISH UNPUBLISH TALK NOTALK SESSION_CRASH MODULE_LOAD MODULE_UNLOAD DTMF
		MESSAGE PRESENCE_IN NOTIFY_IN PRESENCE_OUT PRESENCE_PROBE MESSAGE_WAITING MESSAGE_QUERY ROSTER CODEC
		BACKGROUND_JOB DETECTED_SPEECH DETECTED_TONE PRIVATE_COMMAND HEARTBEAT TRAP ADD_SCHEDULE DEL_SCHEDULE
		EXE_SCHEDULE RE_SCHEDULE RELOADXML NOTIFY PHONE_FEATURE PHONE_FEATURE_SUBSCRIBE SEND_MESSAGE RECV_MESSAGE
		REQUEST_PARAMS CHANNEL_DATA GENERAL COMMAND SESSION_HEARTBEAT CLIENT_DISCONNECTED SERVER_DISCONNECTED
		SEND_INFO RECV_INFO RECV_RTCP_MESSAGE SEND_RTCP_MESSAGE CALL_SECURE NAT RECORD_START RECORD_STOP
		PLAYBACK_START PLAYBACK_STOP CALL_UPDATE FAILURE SOCKET_DATA MEDIA_BUG_START MEDIA_BUG_STOP
		CONFERENCE_DATA_QUERY CONFERENCE_DATA CALL_SETUP_REQ CALL_SETUP_RESULT CALL_DETAIL DEVICE_STATE TEXT
		SHUTDOWN_REQUESTED ALL`) {
		m[n] = true
	}
	return m
}()

// myeventsList is what "myevents" subscribes to (parse_command).
var myeventsList = strings.Fields(`CHANNEL_ANSWER CHANNEL_APPLICATION CHANNEL_BRIDGE CHANNEL_CREATE CHANNEL_DATA
	CHANNEL_DESTROY CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE
	CHANNEL_ORIGINATE CHANNEL_UUID CHANNEL_OUTGOING CHANNEL_PARK CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA
	CHANNEL_STATE CHANNEL_UNBRIDGE CHANNEL_UNPARK DETECTED_SPEECH DTMF NOTALK TALK`)

func eventName(s string) (string, bool) {
	n := strings.ToUpper(strings.TrimPrefix(strings.ToUpper(s), "SWITCH_EVENT_"))
	return n, eventNames[n]
}

// wants says whether e goes to l (event_handler): subscribed, passes the
// filters, and on a myevents socket belongs to its call. Call with s.mu
// held.
func (l *listener) wants(e *event) bool {
	if !l.events || l.gone {
		return false
	}
	if !(l.all && !l.except[e.name] || !l.all && l.subs[e.name]) {
		return false
	}
	if !l.passes(e) {
		return false
	}
	if l.myevents {
		u, ok := e.hdrs.Lookup("Unique-ID")
		if !ok || (l.session != nil && u != l.session.uuid) {
			return false
		}
	}
	return true
}

// passes applies the filters as event_handler does: with any filter
// set, an event goes only if a positive filter matches it (header
// present and equal without case, or matching a /regex/), and a matching
// negative filter ("-value") stops it.
func (l *listener) passes(e *event) bool {
	if len(l.filters) == 0 {
		return true
	}
	send := false
	for _, f := range l.filters {
		hval, ok := e.hdrs.Lookup(f.name)
		if !ok {
			continue
		}
		comp, pos := f.value, true
	prefix:
		for comp != "" {
			switch comp[0] {
			case '+':
				pos = true
			case '-':
				pos = false
			case ' ':
			default:
				break prefix
			}
			comp = comp[1:]
		}
		if send && pos {
			continue
		}
		var cmp bool
		if strings.HasPrefix(f.value, "/") {
			cmp = regexMatch(comp, hval)
		} else {
			cmp = strings.EqualFold(hval, comp)
		}
		if cmp {
			if !pos {
				return false
			}
			send = true
		}
	}
	return send
}

// regexMatch is switch_regex_perform on "/pattern/flags" (or a bare
// pattern); a pattern that does not compile matches nothing.
func regexMatch(pat, s string) bool {
	flags := ""
	if strings.HasPrefix(pat, "/") {
		pat = pat[1:]
		if i := strings.LastIndexByte(pat, '/'); i >= 0 {
			pat, flags = pat[:i], pat[i+1:]
		}
	}
	if strings.Contains(flags, "i") {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	return err == nil && re.MatchString(s)
}

// handle runs one command and reports whether the listener goes on.
func (l *listener) handle(cmd string, hdrs esl.Headers) bool {
	lower := strings.ToLower(cmd)
	if strings.HasPrefix(lower, "exit") || strings.HasPrefix(lower, "...") {
		l.reply("+OK bye")
		l.s.mu.Lock()
		l.gone = true
		l.s.mu.Unlock()
		l.goodbye()
		return false
	}
	if !l.authed {
		if pass, ok := strings.CutPrefix(cmd, "auth "); ok {
			if pass == l.s.opts.Password {
				l.s.mu.Lock()
				l.authed = true
				l.s.mu.Unlock()
				l.reply("+OK accepted")
				return true
			}
			l.reply("-ERR invalid")
			l.goodbye()
			return false
		}
		l.reply("-ERR invalid")
		return true
	}
	if strings.HasPrefix(lower, "filter ") {
		l.reply(l.filterCommand(cmd[7:]))
		return true
	}
	if l.session != nil {
		switch {
		case strings.HasPrefix(lower, "connect"):
			l.connect()
			return true
		case strings.HasPrefix(lower, "myevents"):
			l.s.mu.Lock()
			defer l.s.mu.Unlock()
			if l.myevents {
				l.replyLocked("-ERR aready enabled.")
				return true
			}
			for _, n := range myeventsList {
				l.subscribeLocked(n)
			}
			l.myevents, l.events = true, true
			l.replyLocked("+OK Events Enabled")
			return true
		}
	}
	if strings.HasPrefix(lower, "sendmsg") {
		uuid := strings.TrimSpace(cmd[7:])
		if uuid == "" {
			uuid = hdrs.Get("session-id")
		}
		if l.session != nil && (uuid == "" || uuid == l.session.uuid) {
			uuid = l.session.uuid
		}
		l.s.mu.Lock()
		defer l.s.mu.Unlock()
		if l.s.sendmsgLocked(uuid, hdrs) {
			l.replyLocked("+OK")
		} else {
			l.replyLocked("-ERR invalid session id [" + uuid + "]")
		}
		return true
	}
	if l.session != nil && !l.full {
		l.reply("-ERR command not found")
		return true
	}
	switch {
	case strings.HasPrefix(lower, "api "):
		out := l.s.api(cmd[4:])
		l.interleaveLocked()
		l.enqueue([]byte(fmt.Sprintf("Content-Type: api/response\nContent-Length: %d\n\n%s", len(out), out)))
	case strings.HasPrefix(lower, "bgapi "):
		l.bgapi(cmd[6:], hdrs.Get("Job-UUID"))
	case strings.HasPrefix(lower, "nolinger"):
		l.s.mu.Lock()
		defer l.s.mu.Unlock()
		if l.session == nil {
			l.replyLocked("-ERR not controlling a session")
			return true
		}
		l.linger = false
		l.replyLocked("+OK will not linger")
	case strings.HasPrefix(lower, "linger"):
		l.s.mu.Lock()
		defer l.s.mu.Unlock()
		if l.session == nil {
			l.replyLocked("-ERR not controlling a session")
			return true
		}
		l.linger, l.lingerS = true, -1
		if len(cmd) > 7 && cmd[6] == ' ' {
			l.lingerS = atoi(cmd[7:])
		}
		if l.lingerS != -1 {
			l.replyLocked(fmt.Sprintf("+OK will linger %d seconds", l.lingerS))
		} else {
			l.replyLocked("+OK will linger")
		}
	case strings.HasPrefix(lower, "event"):
		l.reply(l.eventCommand(cmd))
	case strings.HasPrefix(lower, "nixevent"):
		l.reply(l.nixeventCommand(cmd))
	case strings.HasPrefix(lower, "noevents"):
		l.s.mu.Lock()
		defer l.s.mu.Unlock()
		if !l.events {
			l.replyLocked("-ERR not listening for events")
			return true
		}
		l.events, l.all = false, false
		l.subs, l.except = map[string]bool{}, map[string]bool{}
		l.replyLocked("+OK no longer listening for events")
	default:
		l.reply("-ERR command not found")
	}
	return true
}

// atoi is C's atoi: leading digits, else 0.
func atoi(s string) int {
	s = strings.TrimLeft(s, " ")
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || end == 0 && s[end] == '-') {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}

// replyLocked is reply for callers holding s.mu (reply's interleaved
// events take it).
func (l *listener) replyLocked(text string) {
	for range l.s.interleave {
		e := l.s.newEvent("HEARTBEAT", nil)
		e.add("Event-Info", "System Ready")
		l.s.fire(e)
	}
	l.enqueue([]byte("Content-Type: command/reply\nReply-Text: " + text + "\n\n"))
}

func (l *listener) subscribeLocked(name string) {
	if name == "ALL" {
		l.all = true
		l.except = map[string]bool{}
		return
	}
	if l.all {
		delete(l.except, name)
	}
	l.subs[name] = true
}

// eventCommand is "event [plain] NAME...": "+OK event listener enabled
// plain", or "-ERR no keywords supplied" when no name is known. Only the
// plain format is simulated.
func (l *listener) eventCommand(cmd string) string {
	f := strings.Fields(cmd)[1:]
	if len(f) > 0 {
		switch strings.ToLower(f[0]) {
		case "plain":
			f = f[1:]
		case "xml", "json":
			return "-ERR esltest sends plain events only"
		}
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	known := 0
	for _, n := range f {
		name, ok := eventName(n)
		if !ok {
			continue
		}
		known++
		l.subscribeLocked(name)
		if name == "CUSTOM" {
			break // the rest are subclass names
		}
	}
	if known == 0 {
		return "-ERR no keywords supplied"
	}
	l.events = true
	return "+OK event listener enabled plain"
}

// nixeventCommand is "nixevent NAME...": a name nixed while ALL is on
// leaves every other event subscribed.
func (l *listener) nixeventCommand(cmd string) string {
	f := strings.Fields(cmd)[1:]
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	known := 0
	for _, n := range f {
		name, ok := eventName(n)
		if !ok {
			continue
		}
		known++
		switch name {
		case "CUSTOM":
			return "+OK events nixed"
		case "ALL":
			l.all = false
			l.subs, l.except = map[string]bool{}, map[string]bool{}
		default:
			if l.all {
				l.except[name] = true
			}
			delete(l.subs, name)
		}
	}
	if known == 0 {
		return "-ERR no keywords supplied"
	}
	l.events = true
	return "+OK events nixed"
}

// filterCommand is "filter HEADER VALUE", "filter add HEADER VALUE",
// "filter delete HEADER [VALUE]" and "filter delete all".
func (l *listener) filterCommand(arg string) string {
	arg = strings.TrimLeft(arg, " ")
	name, val, hasVal := strings.Cut(arg, " ")
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	switch {
	case strings.EqualFold(name, "delete") && hasVal:
		name, val, hasVal = strings.Cut(val, " ")
		if strings.EqualFold(name, "all") {
			l.filters = nil
		} else {
			kept := l.filters[:0:0]
			for _, f := range l.filters {
				if !strings.EqualFold(f.name, name) || hasVal && f.value != val {
					kept = append(kept, f)
				}
			}
			l.filters = kept
		}
		if !hasVal {
			val = ""
		}
		return "+OK filter deleted. [" + name + "][" + val + "]"
	case hasVal:
		if strings.EqualFold(name, "add") {
			name, val, hasVal = strings.Cut(val, " ")
			if !hasVal {
				return "-ERR invalid syntax"
			}
		}
		l.filters = append(l.filters, filter{name: name, value: val})
		return "+OK filter added. [" + name + "]=[" + val + "]"
	}
	return "-ERR invalid syntax"
}

func (l *listener) bgapi(line, id string) {
	if id == "" {
		id = esl.NewUUID()
	}
	l.interleaveLocked()
	l.enqueue([]byte("Content-Type: command/reply\nReply-Text: +OK Job-UUID: " + id + "\nJob-UUID: " + id + "\n\n"))
	l.s.wg.Add(1)
	go func() {
		defer l.s.wg.Done()
		out := l.s.api(line)
		name, arg, _ := strings.Cut(line, " ")
		l.s.mu.Lock()
		e := l.s.newEvent("BACKGROUND_JOB", nil)
		e.add("Job-UUID", id)
		e.add("Job-Owner-UUID", "")
		e.add("Job-Command", name)
		if arg != "" {
			e.add("Job-Command-Arg", arg)
		}
		e.body = out
		l.s.fire(e)
		l.s.mu.Unlock()
	}()
}
