package call

import (
	"context"
	"fmt"
	"strings"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/pbx"
)

// Desk-phone feature codes: an agent dials them from the phone to change
// state, and hears a confirmation. The phone is recognised by its SIP
// endpoint (the agent's configured endpoint), so no code can change
// another agent's state.
const (
	FeatureLogin    = "*21"
	FeatureLogout   = "*22"
	FeatureReady    = "*23"
	FeatureNotReady = "*24" // followed by a reason digit: *241 meal
)

// NotReadyReason returns the reason for the digit an agent dials after
// *24.
func NotReadyReason(digit string) (string, bool) {
	switch digit {
	case "1":
		return "meal", true
	case "2":
		return "meeting", true
	case "3":
		return "training", true
	case "4":
		return "break", true
	case "5":
		return "after-call paperwork", true
	}
	return "", false
}

// startFeature runs one feature-code call from an agent's phone.
func (m *Manager) startFeature(ctx context.Context, ev pbx.Event) {
	code := ""
	if len(ev.Args) > 1 {
		code = ev.Args[1]
	}
	c := m.newCall(ev.Channel, Service{Number: "feature"}, ev.Caller)
	m.spawn(ctx, c, func(ctx context.Context) {
		defer m.hangup(ctx, c.channel)
		if err := c.do(ctx, pbx.Answer{Channel: c.channel}); err != nil {
			return
		}
		prompt := "sound:auth-thankyou"
		if err := m.feature(ctx, ev.Caller, code); err != nil {
			c.log.Warn("feature code refused", "code", code, "err", err)
			prompt = "sound:pbx-invalid"
		} else if code == FeatureLogin {
			prompt = "sound:agent-loginok"
		} else if code == FeatureLogout {
			prompt = "sound:agent-loggedoff"
		}
		_, _ = c.Play(ctx, "feature", prompt)
	})
}

// feature applies a feature code dialled from the phone whose endpoint's
// caller number is caller (PJSIP/<caller>).
func (m *Manager) feature(ctx context.Context, caller, code string) error {
	ags, err := m.acd.Agents(ctx)
	if err != nil {
		return err
	}
	var agent acd.AgentID
	for _, a := range ags {
		if i := strings.IndexByte(a.Endpoint, '/'); i >= 0 && a.Endpoint[i+1:] == caller {
			agent = a.ID
		}
	}
	if agent == "" {
		return fmt.Errorf("no agent has the endpoint of phone %q", caller)
	}
	m.log.Info("feature code", "agent", agent, "code", code)
	switch {
	case code == FeatureLogin:
		return m.acd.Login(ctx, agent)
	case code == FeatureLogout:
		return m.acd.Logout(ctx, agent)
	case code == FeatureReady:
		return m.acd.Ready(ctx, agent)
	case strings.HasPrefix(code, FeatureNotReady) && len(code) == len(FeatureNotReady)+1:
		reason, ok := NotReadyReason(code[len(FeatureNotReady):])
		if !ok {
			return fmt.Errorf("unknown not-ready reason code %q", code)
		}
		return m.acd.NotReady(ctx, agent, reason)
	}
	return fmt.Errorf("unknown feature code %q", code)
}
