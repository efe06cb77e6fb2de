package call

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/ivr"
	"github.com/hotline-cc/hotline/controller/pbx"
	"github.com/hotline-cc/hotline/controller/store"
)

// Desk-phone feature codes: an agent dials them from the phone to change
// state, and hears a confirmation. The phone is recognised by its SIP
// endpoint (the agent's configured endpoint), so no code can change
// another agent's state. Logging in also asks for the agent number and
// PIN (hotline agent pin set): a phone alone does not log anyone in.
const (
	FeatureLogin    = "*21" // then agent number + #, PIN + #
	FeatureLogout   = "*22"
	FeatureReady    = "*23"
	FeatureNotReady = "*24" // followed by a reason digit (acd.Reasons): *241 meal
)

// Login by phone: how long each entry may take, and how many wrong PINs a
// phone may key before it is locked out for a while.
const (
	loginEntryTimeout = 10 * time.Second
	loginMaxFailures  = 3
	loginLockout      = 5 * time.Minute
)

// errWrongLogin is a refused login: unknown agent, wrong PIN, locked out.
var errWrongLogin = errors.New("agent number or PIN not accepted")

// startFeature runs one feature-code call from an agent's phone.
func (m *Manager) startFeature(ctx context.Context, ev pbx.Event) {
	code := ""
	if len(ev.Args) > 1 {
		code = ev.Args[1]
	}
	c := m.newCall(ev.Channel, Service{Number: "feature"}, ev.Caller)
	m.spawn(ctx, c, func(ctx context.Context) {
		defer m.hangup(ctx, c.channel)
		if err := c.answer(ctx); err != nil {
			return
		}
		prompt := "sound:auth-thankyou"
		var err error
		if code == FeatureLogin {
			err = m.phoneLogin(ctx, c, ev.Caller)
		} else {
			err = m.feature(ctx, ev.Caller, code)
		}
		switch {
		case errors.Is(err, ivr.ErrHungUp):
			return
		case errors.Is(err, errWrongLogin):
			c.log.Warn("phone login refused", "err", err)
			prompt = "sound:agent-incorrect"
		case err != nil:
			c.log.Warn("feature code refused", "code", code, "err", err)
			prompt = "sound:pbx-invalid"
		case code == FeatureLogin:
			prompt = "sound:agent-loginok"
		case code == FeatureLogout:
			prompt = "sound:agent-loggedoff"
		}
		_, _ = c.Play(ctx, "feature", prompt)
	})
}

// phoneAgent returns the agent whose endpoint is the phone calling as
// caller (PJSIP/<caller>).
func (m *Manager) phoneAgent(ctx context.Context, caller string) (acd.AgentID, error) {
	ags, err := m.acd.Agents(ctx)
	if err != nil {
		return "", err
	}
	for _, a := range ags {
		if i := strings.IndexByte(a.Endpoint, '/'); i >= 0 && a.Endpoint[i+1:] == caller {
			return a.ID, nil
		}
	}
	return "", fmt.Errorf("no agent has the endpoint of phone %q", caller)
}

// phoneLogin asks for the agent number and PIN, checks them, and logs the
// agent in. The number must be the agent of this phone; the PIN is never
// logged or stored in clear. A phone that keys loginMaxFailures wrong
// entries is refused for loginLockout.
func (m *Manager) phoneLogin(ctx context.Context, c *Call, phone string) error {
	if until, locked := m.loginLocked(phone); locked {
		return fmt.Errorf("%w: phone %s locked out until %s after %d failed logins", errWrongLogin, phone, until.Format(time.TimeOnly), loginMaxFailures)
	}
	number, err := c.collect(ctx, "login", "sound:agent-user", 8)
	if err != nil {
		return err
	}
	c.secret = true // the PIN reaches no trail, log or store
	pin, err := c.collect(ctx, "login", "sound:agent-pass", 8)
	c.secret = false
	if err != nil {
		return err
	}
	agent, err := m.phoneAgent(ctx, phone)
	if err != nil {
		return err
	}
	if number != string(agent) {
		m.loginFailed(phone)
		return fmt.Errorf("%w: phone %s belongs to agent %s, not %q", errWrongLogin, phone, agent, number)
	}
	ok, err := m.store.CheckAgentPIN(ctx, string(agent), pin)
	if errors.Is(err, store.ErrNoPIN) {
		return fmt.Errorf("%w: agent %s has no PIN (set one with: hotline agent pin set %s)", errWrongLogin, agent, agent)
	}
	if err != nil {
		return err
	}
	if !ok {
		m.loginFailed(phone)
		return fmt.Errorf("%w: wrong PIN for agent %s", errWrongLogin, agent)
	}
	m.loginOK(phone)
	m.log.Info("feature code", "agent", agent, "code", FeatureLogin)
	return m.acd.Login(ctx, agent)
}

// collect plays prompt and gathers up to max digits ended by # (or by the
// max-th digit), each within loginEntryTimeout.
func (c *Call) collect(ctx context.Context, node, prompt string, max int) (string, error) {
	key, err := c.Play(ctx, node, prompt)
	if err != nil {
		return "", err
	}
	var digits strings.Builder
	for {
		if key == "" {
			if key, err = c.WaitKey(ctx, node, loginEntryTimeout); err != nil {
				return "", err
			}
			if key == "" {
				return "", fmt.Errorf("%w: no entry within %s", errWrongLogin, loginEntryTimeout)
			}
		}
		if key == "#" {
			return digits.String(), nil
		}
		digits.WriteString(key)
		if digits.Len() >= max {
			return digits.String(), nil
		}
		key = ""
	}
}

func (m *Manager) loginLocked(phone string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.loginFailures[phone]
	if f.n >= loginMaxFailures && time.Since(f.last) < loginLockout {
		return f.last.Add(loginLockout), true
	}
	return time.Time{}, false
}

func (m *Manager) loginFailed(phone string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.loginFailures[phone]
	if time.Since(f.last) >= loginLockout {
		f.n = 0
	}
	f.n++
	f.last = time.Now()
	m.loginFailures[phone] = f
}

func (m *Manager) loginOK(phone string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.loginFailures, phone)
}

// feature applies a feature code other than login, dialled from the phone
// whose endpoint's caller number is caller (PJSIP/<caller>).
func (m *Manager) feature(ctx context.Context, caller, code string) error {
	agent, err := m.phoneAgent(ctx, caller)
	if err != nil {
		return err
	}
	m.log.Info("feature code", "agent", agent, "code", code)
	switch {
	case code == FeatureLogout:
		return m.acd.Logout(ctx, agent)
	case code == FeatureReady:
		return m.acd.Ready(ctx, agent)
	case strings.HasPrefix(code, FeatureNotReady) && len(code) == len(FeatureNotReady)+1:
		reason, ok := acd.ReasonByDigit(code[len(FeatureNotReady):])
		if !ok {
			return fmt.Errorf("unknown not-ready reason code %q", code)
		}
		return m.acd.NotReady(ctx, agent, reason.Name)
	}
	return fmt.Errorf("unknown feature code %q", code)
}
