package flow

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/ivr"
)

// Action is one thing the simulated caller does, in order: press a key
// after the prompt (at the next wait), press a key during a prompt
// (Barge), let a wait time out (Key ""), or hang up.
type Action struct {
	Key    string
	Barge  bool
	Hangup bool
}

// ParseKeys reads a simulated caller's keys: comma-separated entries,
// each used at the next wait for a key. An entry of several keys ("1234#")
// is pressed one key per wait; an empty entry lets that wait time out;
// "^K" presses K during the prompt before the wait (barge-in);
// "hangup" hangs up. Keys: 0-9, *, #, A-D.
func ParseKeys(s string) ([]Action, error) {
	var out []Action
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for i, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			out = append(out, Action{})
			continue
		case e == "hangup":
			out = append(out, Action{Hangup: true})
			continue
		}
		barge := false
		if strings.HasPrefix(e, "^") {
			barge, e = true, e[1:]
			if e == "" {
				return nil, fmt.Errorf("keys entry %d: ^ needs a key after it", i+1)
			}
		}
		for j, c := range e {
			if !strings.ContainsRune("0123456789*#ABCD", c) {
				return nil, fmt.Errorf("keys entry %d %q: %q is not a key (0-9, *, #, A-D; \"\" = time out; hangup)", i+1, e, c)
			}
			out = append(out, Action{Key: string(c), Barge: barge && j == 0})
		}
	}
	if len(out) > 10000 {
		return nil, fmt.Errorf("more than 10000 keys")
	}
	return out, nil
}

// Step is one entry of a trail.
type Step struct {
	At     time.Duration `json:"at"` // since the call started, on the session's clock
	Node   string        `json:"node"`
	Kind   string        `json:"kind"`
	Detail string        `json:"detail"`
}

// String renders a step as "node kind: detail", the form tests match.
func (s Step) String() string { return s.Node + " " + s.Kind + ": " + s.Detail }

// FakeSession is a Session for the simulator and tests: the caller's
// actions are planned, time is a fake clock that moves only when a wait
// times out, and the trail is kept in memory. Keys pressed in secret mode
// are not trailed.
type FakeSession struct {
	mu      sync.Mutex
	actions []Action
	start   time.Time
	now     time.Time
	trail   []Step
	secret  bool
	hungUp  bool
	records int
	// SecretLog is every Secret call in order (true = on).
	SecretLog []bool
}

// NewFakeSession returns a session whose caller does actions, its clock
// starting at start.
func NewFakeSession(actions []Action, start time.Time) *FakeSession {
	return &FakeSession{actions: actions, start: start, now: start}
}

// Now is the session's clock.
func (s *FakeSession) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Steps returns the trail so far.
func (s *FakeSession) Steps() []Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Step(nil), s.trail...)
}

// Left is the number of planned actions not used.
func (s *FakeSession) Left() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.actions)
}

func (s *FakeSession) addStep(node, kind, detail string) {
	s.trail = append(s.trail, Step{At: s.now.Sub(s.start), Node: node, Kind: kind, Detail: detail})
}

// Trail implements Session.
func (s *FakeSession) Trail(node, kind, detail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addStep(node, kind, detail)
}

func (s *FakeSession) key(node, k string) {
	if !s.secret {
		s.addStep(node, "key", k)
	}
}

// check returns the hang-up or context error that ends a call.
func (s *FakeSession) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.hungUp {
		return ivr.ErrHungUp
	}
	if len(s.actions) > 0 && s.actions[0].Hangup {
		s.actions = s.actions[1:]
		s.hungUp = true
		s.addStep("caller", "hangup", "caller hung up")
		return ivr.ErrHungUp
	}
	return nil
}

// Play implements Session: a barge-in key planned next stops the prompt.
func (s *FakeSession) Play(ctx context.Context, node string, media ...string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return "", err
	}
	s.addStep(node, "prompt", strings.Join(media, " "))
	if len(s.actions) > 0 && s.actions[0].Barge {
		k := s.actions[0].Key
		s.actions = s.actions[1:]
		s.key(node, k)
		return k, nil
	}
	return "", nil
}

// PlayAll implements Session: a barge-in key planned next is pressed
// during the prompt and discarded.
func (s *FakeSession) PlayAll(ctx context.Context, node string, media ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	s.addStep(node, "prompt", strings.Join(media, " "))
	if len(s.actions) > 0 && s.actions[0].Barge {
		s.actions = s.actions[1:]
		if !s.secret {
			s.addStep(node, "key", "ignored during an announcement")
		}
	}
	return nil
}

// WaitKey implements Session: the next planned key, or, when none is
// left or the entry is empty, a timeout that moves the clock by d.
func (s *FakeSession) WaitKey(ctx context.Context, node string, d time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return "", err
	}
	if len(s.actions) == 0 || s.actions[0].Key == "" {
		if len(s.actions) > 0 {
			s.actions = s.actions[1:]
		}
		s.now = s.now.Add(d)
		return "", nil
	}
	k := s.actions[0].Key
	s.actions = s.actions[1:]
	s.key(node, k)
	return k, nil
}

// Secret implements Session.
func (s *FakeSession) Secret(ctx context.Context, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secret = on
	s.SecretLog = append(s.SecretLog, on)
	return nil
}

// Record implements Session: the recording is named rec-N and lasts no
// time.
func (s *FakeSession) Record(ctx context.Context, node string, max time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return "", err
	}
	s.records++
	return fmt.Sprintf("rec-%d", s.records), nil
}

// Simulation is what Simulate runs: a call and its caller's plan.
type Simulation struct {
	Call     Call
	Keys     []Action
	Fixtures *Fixtures // nil: no lookups answer, no notices
}

// Simulate runs the program offline on a FakeSession and returns the
// result, the trail and the run's error (ivr.ErrHungUp when the plan hung
// up).
func (p *Program) Simulate(ctx context.Context, sim Simulation) (Result, []Step, error) {
	fx := sim.Fixtures
	if fx == nil {
		fx = &Fixtures{}
	}
	start := fx.Now
	if start.IsZero() {
		start = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	}
	s := NewFakeSession(sim.Keys, start)
	env := Env{Lookups: fx, Notices: NoticeList(fx.Notices), Now: s.Now, Log: discardLog{}}
	res, err := p.Run(ctx, s, sim.Call, env)
	return res, s.Steps(), err
}

type discardLog struct{}

func (discardLog) Warn(string, ...any) {}
