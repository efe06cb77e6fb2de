package flow

import (
	"context"
	"time"
)

// Notice kinds.
const (
	NoticeOutage    = "outage"
	NoticeTariff    = "tariff"
	NoticeEmergency = "emergency"
)

var noticeKinds = []string{NoticeOutage, NoticeTariff, NoticeEmergency}

// Notice is an announcement that changes without a flow deploy.
type Notice struct {
	ID     int64  `yaml:"id" json:"id"`
	Kind   string `yaml:"kind" json:"kind"` // outage, tariff or emergency
	Area   string `yaml:"area" json:"area"` // a caller-number prefix or an area code; "" = everywhere
	Prompt string `yaml:"prompt" json:"prompt"`
	Text   string `yaml:"text" json:"text"` // what the prompt says, for people
}

// NoticeQuery asks for the notices a caller hears now.
type NoticeQuery struct {
	Kinds  []string  // only these kinds; none = every kind
	Caller string    // notices whose Area is a prefix of it match
	Area   string    // notices whose Area equals it match ("" matches none)
	At     time.Time // active at this time
}

// Notices gives the active notices. The Postgres store implements it
// (emergency first, then the newest); the simulator uses fixtures.
type Notices interface {
	Active(ctx context.Context, q NoticeQuery) ([]Notice, error)
}

// Matches reports whether n applies to q (kind and area), the rule every
// Notices implementation follows.
func (n Notice) Matches(q NoticeQuery) bool {
	if len(q.Kinds) > 0 && !contains(q.Kinds, n.Kind) {
		return false
	}
	return n.Area == "" || hasPrefix(q.Caller, n.Area) || (q.Area != "" && n.Area == q.Area)
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// NoticeList is a fixed list of notices, all active: the simulator's and
// the tests' Notices.
type NoticeList []Notice

// Active returns the notices matching q, emergency ones first.
func (l NoticeList) Active(_ context.Context, q NoticeQuery) ([]Notice, error) {
	var first, rest []Notice
	for _, n := range l {
		if !n.Matches(q) {
			continue
		}
		if n.Kind == NoticeEmergency {
			first = append(first, n)
		} else {
			rest = append(rest, n)
		}
	}
	return append(first, rest...), nil
}
