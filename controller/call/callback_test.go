package call

import (
	"testing"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/pbx"
)

// Nothing a customer typed reaches a dial string unchecked.
func TestCallbackEndpoint(t *testing.T) {
	good := []struct{ tmpl, number, want string }{
		{"PJSIP/{number}@pstn", "13800000000", "PJSIP/13800000000@pstn"},
		{"PJSIP/00{number}@pstn", "+8613800000000", "PJSIP/00+8613800000000@pstn"},
		{"sofia/external/{number}@carrier.example", "10086", "sofia/external/10086@carrier.example"},
		{"PJSIP/{number}@pstn", "+8613800000000", "PJSIP/+8613800000000@pstn"}, // E.164
	}
	for _, g := range good {
		if got, err := callbackEndpoint(g.tmpl, g.number); err != nil || got != g.want {
			t.Errorf("callbackEndpoint(%q, %q) = %q, %v; want %q", g.tmpl, g.number, got, err, g.want)
		}
	}
	bad := []struct{ tmpl, number string }{
		{"", "10086"},                                    // the queue takes no callbacks
		{"PJSIP/{number}@pstn", "10086@evil"},            // not a number
		{"PJSIP/{number}@pstn", "1;x=y"},                 // header injection
		{"PJSIP/{number}@pstn", ""},                      // empty
		{"PJSIP/{number}@pstn", "123456789012345678901"}, // too long
	}
	for _, b := range bad {
		if got, err := callbackEndpoint(b.tmpl, b.number); err == nil {
			t.Errorf("callbackEndpoint(%q, %q) = %q, want an error", b.tmpl, b.number, got)
		}
	}
}

func TestDialOutcome(t *testing.T) {
	for cause, want := range map[int]acd.CallbackOutcome{17: acd.OutcomeBusy, 19: acd.OutcomeNoAnswer, 16: acd.OutcomeNoAnswer,
		1: acd.OutcomeFailed, 34: acd.OutcomeFailed, 0: acd.OutcomeNoAnswer} {
		if got := dialOutcome(cause); got != want {
			t.Errorf("cause %d: %s, want %s", cause, got, want)
		}
	}
}

func TestTransferEndpoint(t *testing.T) {
	tr := TransferSettings{Dial: "PJSIP/{number}@pstn", Allow: []string{"955", "+8610"}}
	for _, tt := range []struct{ number, want, err string }{
		{"95598", "PJSIP/95598@pstn", ""},
		{"+861012345678", "PJSIP/+861012345678@pstn", ""},
		{"12345", "", "12345 matches no prefix in transfer.allow"},
		{"8610", "", "8610 matches no prefix in transfer.allow"},
		{"955;x", "", `number "955;x" is not 1-20 digits with an optional leading +`},
	} {
		got, err := tr.endpoint(tt.number)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("endpoint(%q) = %q, %v; want %q, %q", tt.number, got, err, tt.want, tt.err)
		}
	}
	if _, err := (TransferSettings{}).endpoint("95598"); err == nil || err.Error() != "no transfer.dial is configured" {
		t.Errorf("no dial: %v", err)
	}
}

// A restart tells a callback's customer leg from any other channel by
// its ID (dialCallback names it).
func TestCallbackLeg(t *testing.T) {
	for ch, want := range map[string]int64{"cb42-1-1795457285123-c": 42, "cb7-3-1-c": 7,
		"cb42-1-1795457285123-a1": 0, "1795457285.123": 0, "xcb42-1-1-c": 0, "cb-1-1-c": 0} {
		id, ok := callbackLeg(pbx.ChannelID(ch))
		if id != want || ok != (want != 0) {
			t.Errorf("callbackLeg(%q) = %d, %v; want %d", ch, id, ok, want)
		}
	}
}
