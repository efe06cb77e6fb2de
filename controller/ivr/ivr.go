package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrHungUp is returned by Session methods once the caller has hung up.
var ErrHungUp = errors.New("ivr: caller hung up")

// Session is what a flow needs from the call it runs on.
type Session interface {
	// Play plays media in order. A key pressed while it plays stops it
	// and is returned; "" means it played to the end.
	Play(ctx context.Context, node string, media ...string) (key string, err error)
	// WaitKey waits up to d for a key; "" means none came.
	WaitKey(ctx context.Context, node string, d time.Duration) (key string, err error)
	// Bill looks up the caller's current bill.
	Bill(ctx context.Context) (cents int64, found bool, err error)
	// Trail appends one step to the call's IVR trail.
	Trail(node, kind, detail string)
}

// Rules are the operator's IVR rules.
type Rules struct {
	NoInput    time.Duration // no key for this long → goodbye, release
	MaxInvalid int           // invalid keys before the caller goes to an agent
	ZeroOut    string        // the key that reaches an agent from anywhere
}

// DefaultRules are the operator's defaults.
func DefaultRules() Rules { return Rules{NoInput: 60 * time.Second, MaxInvalid: 3, ZeroOut: "0"} }

// Outcome is how a flow ended.
type Outcome int

// Outcomes.
const (
	// Abandoned: the caller hung up in the IVR before being served.
	Abandoned Outcome = iota
	// Contained: served in self-service.
	Contained
	// ToAgent: the caller wants an agent (or the flow sends them).
	ToAgent
	// ReleasedNoInput: no key within the no-input time; the flow said
	// goodbye and the call is to be released.
	ReleasedNoInput
	// Transferred: the flow transferred the call to a number or service.
	Transferred
	// Released: the flow said goodbye and released the call for a reason
	// other than no input (e.g. the invalid-entry limit).
	Released
)

var outcomeNames = [...]string{"abandoned", "contained", "to_agent", "released_no_input", "transferred", "released"}

func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return "unknown"
	}
	return outcomeNames[o]
}

// ParseOutcome returns the outcome named s (as String gives it).
func ParseOutcome(s string) (Outcome, bool) {
	for i, n := range outcomeNames {
		if n == s {
			return Outcome(i), true
		}
	}
	return 0, false
}

// Prompts of the 10000 main menu, as sound names.
const (
	PromptWelcome = "sound:hotline/welcome"
	PromptMenu    = "sound:hotline/main-menu"
	PromptInvalid = "sound:hotline/invalid"
	PromptBillIs  = "sound:hotline/bill-is"
	PromptYuan    = "sound:hotline/yuan"
	PromptCents   = "sound:hotline/cents"
	PromptNoBill  = "sound:hotline/no-account"
	PromptGoodbye = "sound:hotline/goodbye"
	PromptHold    = "sound:hotline/please-hold"
)

// MainMenu runs the 10000 service number's flow: greeting; menu
// "1 = current bill, 0 = agent". A hang-up returns the outcome so far
// with ErrHungUp.
func MainMenu(ctx context.Context, s Session, r Rules) (Outcome, error) {
	served := false
	abandoned := func(err error) (Outcome, error) {
		if served {
			return Contained, err
		}
		return Abandoned, err
	}
	key, err := s.Play(ctx, "greeting", PromptWelcome)
	if err != nil {
		return abandoned(err)
	}
	invalid := 0
	for {
		if key == "" {
			if key, err = s.Play(ctx, "menu", PromptMenu); err != nil {
				return abandoned(err)
			}
		}
		if key == "" {
			if key, err = s.WaitKey(ctx, "menu", r.NoInput); err != nil {
				return abandoned(err)
			}
		}
		if key == "" {
			s.Trail("menu", "timeout", fmt.Sprintf("no key for %s", r.NoInput))
			if _, err := s.Play(ctx, "goodbye", PromptGoodbye); err != nil && !errors.Is(err, ErrHungUp) {
				return ReleasedNoInput, err
			}
			return ReleasedNoInput, nil
		}
		switch key {
		case r.ZeroOut:
			s.Trail("menu", "choice", "agent")
			return ToAgent, nil
		case "1":
			s.Trail("menu", "choice", "current bill")
			cents, found, err := s.Bill(ctx)
			if err != nil {
				// The look-up failed: an agent can still help.
				s.Trail("bill", "lookup", "failed")
				return ToAgent, nil
			}
			media := []string{PromptNoBill}
			if found {
				s.Trail("bill", "lookup", fmt.Sprintf("current bill %d.%02d", cents/100, cents%100))
				media = []string{PromptBillIs, fmt.Sprintf("number:%d", cents/100), PromptYuan,
					fmt.Sprintf("number:%d", cents%100), PromptCents}
			} else {
				s.Trail("bill", "lookup", "no account for caller")
			}
			served = true
			k, err := s.Play(ctx, "bill", media...)
			if err != nil {
				return abandoned(err)
			}
			if k == r.ZeroOut {
				s.Trail("bill", "choice", "agent")
				return ToAgent, nil
			}
			if _, err := s.Play(ctx, "goodbye", PromptGoodbye); err != nil {
				return abandoned(err)
			}
			return Contained, nil
		default:
			invalid++
			s.Trail("menu", "invalid", fmt.Sprintf("key %s (%d of %d)", key, invalid, r.MaxInvalid))
			if invalid >= r.MaxInvalid {
				s.Trail("menu", "choice", "agent after invalid keys")
				return ToAgent, nil
			}
			if key, err = s.Play(ctx, "menu", PromptInvalid); err != nil {
				return abandoned(err)
			}
		}
	}
}
