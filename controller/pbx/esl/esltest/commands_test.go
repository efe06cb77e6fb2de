package esltest

import (
	"testing"

	"github.com/hotline-cc/hotline/controller/pbx/esl"
)

// TestFilterSemantics: event_handler's filter rules in mod_event_socket.c.
func TestFilterSemantics(t *testing.T) {
	dtmf := &event{name: "DTMF", hdrs: esl.Headers{{Name: "Event-Name", Value: "DTMF"}, {Name: "Unique-ID", Value: "u1"}}}
	park := &event{name: "CHANNEL_PARK", hdrs: esl.Headers{{Name: "Event-Name", Value: "CHANNEL_PARK"},
		{Name: "Unique-ID", Value: "u2"}, {Name: "variable_hotline", Value: "true"}}}
	other := &event{name: "CHANNEL_PARK", hdrs: esl.Headers{{Name: "Event-Name", Value: "CHANNEL_PARK"}, {Name: "Unique-ID", Value: "u3"}}}
	tests := []struct {
		name    string
		filters []filter
		want    [3]bool // dtmf, park, other
	}{
		{"no filter passes all", nil, [3]bool{true, true, true}},
		{"one positive", []filter{{"Unique-ID", "u1"}}, [3]bool{true, false, false}},
		{"alternatives", []filter{{"variable_hotline", "true"}, {"Event-Name", "DTMF"}}, [3]bool{true, true, false}},
		{"value without case, name without case", []filter{{"VARIABLE_HOTLINE", "TRUE"}}, [3]bool{false, true, false}},
		{"negative only passes nothing", []filter{{"Unique-ID", "-u1"}}, [3]bool{false, false, false}},
		{"negative after positive", []filter{{"Event-Name", "CHANNEL_PARK"}, {"Unique-ID", "-u3"}}, [3]bool{false, true, false}},
		{"regex", []filter{{"Unique-ID", "/^u[12]$/"}}, [3]bool{true, true, false}},
		{"regex flags", []filter{{"Event-Name", "/^dtmf$/i"}}, [3]bool{true, false, false}},
	}
	for _, tc := range tests {
		l := &listener{filters: tc.filters}
		for i, e := range []*event{dtmf, park, other} {
			if got := l.passes(e); got != tc.want[i] {
				t.Errorf("%s: event %d passes = %v, want %v", tc.name, i, got, tc.want[i])
			}
		}
	}
}

// TestSubscriptionCommands: the replies and the event_list effects of
// event, nixevent, noevents, filter and linger (parse_command).
func TestSubscriptionCommands(t *testing.T) {
	s := &Server{listeners: map[*listener]bool{}}
	l := newListener(s, nil)
	l.authed = true
	got := func(cmd string) string {
		t.Helper()
		var reply string
		l.enqueueHook = func(b []byte) { reply = string(b) }
		l.handle(cmd, nil)
		return reply
	}
	steps := []struct{ cmd, reply string }{
		{"noevents", "-ERR not listening for events"},
		{"event plain NO_SUCH_EVENT", "-ERR no keywords supplied"},
		{"event plain ALL", "+OK event listener enabled plain"},
		{"nixevent HEARTBEAT", "+OK events nixed"},
		{"nixevent", "-ERR no keywords supplied"},
		{"filter Event-Name", "-ERR invalid syntax"},
		{"filter Event-Name DTMF", "+OK filter added. [Event-Name]=[DTMF]"},
		{"filter add Unique-ID u 1", "+OK filter added. [Unique-ID]=[u 1]"},
		{"filter delete Unique-ID", "+OK filter deleted. [Unique-ID][]"},
		{"linger", "-ERR not controlling a session"},
		{"nolinger", "-ERR not controlling a session"},
	}
	for _, st := range steps {
		if r := got(st.cmd); r != "Content-Type: command/reply\nReply-Text: "+st.reply+"\n\n" {
			t.Errorf("%q replied %q, want Reply-Text %q", st.cmd, r, st.reply)
		}
	}
	hb := &event{name: "HEARTBEAT", hdrs: esl.Headers{{Name: "Event-Name", Value: "HEARTBEAT"}}}
	dtmf := &event{name: "DTMF", hdrs: esl.Headers{{Name: "Event-Name", Value: "DTMF"}}}
	park := &event{name: "CHANNEL_PARK", hdrs: esl.Headers{{Name: "Event-Name", Value: "CHANNEL_PARK"}}}
	if l.wants(hb) || !l.wants(dtmf) || l.wants(park) {
		t.Errorf("after ALL, nixevent HEARTBEAT, filter Event-Name DTMF: wants heartbeat %v dtmf %v park %v, want false true false",
			l.wants(hb), l.wants(dtmf), l.wants(park))
	}
	got("filter delete all")
	if !l.wants(park) {
		t.Error("after filter delete all a subscribed event is filtered out")
	}
	got("event plain HEARTBEAT")
	if !l.wants(hb) {
		t.Error("event plain HEARTBEAT after nixevent HEARTBEAT does not bring it back")
	}
	if r := got("noevents"); r != "Content-Type: command/reply\nReply-Text: +OK no longer listening for events\n\n" || l.wants(park) {
		t.Errorf("noevents: %q, still wants events: %v", r, l.wants(park))
	}
}
