package ivr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// script is a caller: at each prompt or wait it presses the next planned
// key (or none); a wait with no key left lasts the whole timeout.
type script struct {
	keys   []string // "" = let the prompt play out / press nothing
	bill   int64
	found  bool
	hangAt int // hang up at this step (0 = never)
	steps  []string
	n      int
}

func (s *script) next() (string, error) {
	s.n++
	if s.hangAt != 0 && s.n >= s.hangAt {
		return "", ErrHungUp
	}
	if len(s.keys) == 0 {
		return "", nil
	}
	k := s.keys[0]
	s.keys = s.keys[1:]
	return k, nil
}

func (s *script) Play(ctx context.Context, node string, media ...string) (string, error) {
	s.Trail(node, "prompt", strings.Join(media, " "))
	return s.next()
}

func (s *script) WaitKey(ctx context.Context, node string, d time.Duration) (string, error) {
	k, err := s.next()
	if err == nil && k == "" {
		time.Sleep(d)
	}
	return k, err
}

func (s *script) Bill(context.Context) (int64, bool, error) { return s.bill, s.found, nil }
func (s *script) Trail(node, kind, detail string) {
	s.steps = append(s.steps, fmt.Sprintf("%s/%s/%s", node, kind, detail))
}

func (s *script) has(step string) bool {
	for _, x := range s.steps {
		if x == step {
			return true
		}
	}
	return false
}

func TestMainMenu(t *testing.T) {
	cases := []struct {
		name  string
		s     script
		want  Outcome
		err   error
		trail []string
	}{
		{name: "bill", s: script{keys: []string{"", "1", "", ""}, bill: 12345, found: true}, want: Contained,
			trail: []string{"menu/choice/current bill", "bill/lookup/current bill 123.45", "bill/prompt/sound:hotline/bill-is number:123 sound:hotline/yuan number:45 sound:hotline/cents"}},
		{name: "bill unknown caller", s: script{keys: []string{"", "1"}}, want: Contained,
			trail: []string{"bill/lookup/no account for caller", "bill/prompt/sound:hotline/no-account"}},
		{name: "agent from menu", s: script{keys: []string{"", "", "0"}}, want: ToAgent, trail: []string{"menu/choice/agent"}},
		{name: "zero out during greeting", s: script{keys: []string{"0"}}, want: ToAgent, trail: []string{"menu/choice/agent"}},
		{name: "zero out while the bill is read", s: script{keys: []string{"", "1", "0"}, found: true}, want: ToAgent, trail: []string{"bill/choice/agent"}},
		{name: "three invalid keys go to an agent", s: script{keys: []string{"", "7", "8", "9"}}, want: ToAgent,
			trail: []string{"menu/invalid/key 7 (1 of 3)", "menu/invalid/key 9 (3 of 3)", "menu/choice/agent after invalid keys"}},
		{name: "invalid then valid", s: script{keys: []string{"", "5", "1"}}, want: Contained, trail: []string{"menu/invalid/key 5 (1 of 3)", "menu/choice/current bill"}},
		{name: "hang-up in the menu", s: script{hangAt: 2}, want: Abandoned, err: ErrHungUp},
		{name: "hang-up after self-service counts as contained", s: script{keys: []string{"", "1"}, hangAt: 4, found: true}, want: Contained, err: ErrHungUp},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			got, err := MainMenu(context.Background(), &s, DefaultRules())
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Fatalf("outcome %s, %v; want %s, %v (trail %v)", got, err, tc.want, tc.err, s.steps)
			}
			for _, st := range tc.trail {
				if !s.has(st) {
					t.Errorf("trail lacks %q: %v", st, s.steps)
				}
			}
		})
	}
}

// The operator's rule: no key for 60 s → goodbye and release, measured on
// a fake clock.
func TestNoInputReleasesAfterSixtySeconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{}
		start := time.Now()
		got, err := MainMenu(context.Background(), s, DefaultRules())
		if err != nil || got != ReleasedNoInput {
			t.Fatalf("got %s, %v; want released_no_input", got, err)
		}
		if waited := time.Since(start); waited != 60*time.Second {
			t.Fatalf("released after %s, want 60s", waited)
		}
		if !s.has("menu/timeout/no key for 1m0s") || !s.has("goodbye/prompt/"+PromptGoodbye) {
			t.Fatalf("trail %v lacks the timeout and goodbye", s.steps)
		}
	})
}
