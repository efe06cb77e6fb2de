package config

import (
	"maps"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/pbx"
)

var (
	reID       = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	reNumber   = regexp.MustCompile(`^\+?[A-Za-z0-9._*#-]+$`)
	reEndpoint = regexp.MustCompile(`^PJSIP/[A-Za-z0-9._-]+$`)
	// FreeSWITCH dial strings hotline may originate to: a directory user
	// or a sofia profile and destination (controller/pbx's endpoint rule).
	reFSEndpoint = regexp.MustCompile(`^(user|sofia/[A-Za-z0-9_.-]+)/[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}(@[A-Za-z0-9_.-]{1,253})?$`)
	// reSkill is a skill name.
	reSkill = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	// rePrompt is an announcement the switch can be given: sound:NAME or
	// recording:NAME with a path of letters, digits, / . _ - (no ..).
	rePrompt = regexp.MustCompile(`^(sound|recording):[A-Za-z0-9_][A-Za-z0-9/._-]{0,254}$`)
	// reDir is a recording directory FreeSWITCH can be given on the wire.
	reDir = regexp.MustCompile(`^/[A-Za-z0-9/._-]{0,255}$`)
)

// Strategies are the queue strategies the ACD implements: its routers'
// names (acd.RouterNames), the one list.
func Strategies() []string { return append(acd.RouterNames(), acd.RingAllName) }

// MaxWaitActions are the actions a queue's max_wait may take.
func MaxWaitActions() []string {
	var out []string
	for _, a := range acd.MaxWaitActions() {
		out = append(out, string(a))
	}
	return out
}

// minLevel and maxLevel bound skill levels.
const (
	minLevel = 1
	maxLevel = 10
)

// RecordingFormats are the formats Asterisk's MixMonitor writes that
// hotline knows how to check.
func RecordingFormats() []string {
	return []string{"wav", "wav49", "gsm", "ulaw", "alaw", "sln", "sln16", "g722"}
}

// FreeSWITCHRecordingFormats are the formats hotline asks FreeSWITCH's
// uuid_record for and knows how to check.
func FreeSWITCHRecordingFormats() []string { return []string{"wav"} }

// maxTimer bounds every timer: the database stores them as integer
// milliseconds, and a timer of a day is a typo anyway.
const maxTimer = 24 * time.Hour

// Validate checks the whole configuration and returns every problem found
// (as Problems, each naming file:line and the setting), or nil.
// FlowNone as a service's flow sends its callers straight to the queue.
const FlowNone = "none"

var reFlow = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// reEndpointName is the name of an HTTP endpoint flows refer to (the rule
// of a flow's identifiers).
var reEndpointName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ValidateIVR checks the ivr section alone (what `hotline ivr` commands
// need of an installation's configuration) and returns its problems, or
// nil. Validate checks it too.
func (c *Config) ValidateIVR() error {
	var ps Problems
	c.validateIVR(func(path, format string, args ...any) {
		ps = append(ps, c.problem(path, format, args...))
	})
	return ps.err()
}

func (c *Config) validateIVR(add func(path, format string, args ...any)) {
	timer(add, "ivr.no_input_timeout", c.IVR.NoInputTimeout, true)
	if c.IVR.MaxInvalid < 0 || c.IVR.MaxInvalid > 20 {
		add("ivr.max_invalid", "%d is not from 1 to 20 (0: as each flow says)", c.IVR.MaxInvalid)
	}
	if c.IVR.ScriptsDir == "" {
		add("ivr.scripts_dir", "is empty: name the directory of the IVR flow files")
	}
	for _, name := range slices.Sorted(maps.Keys(c.IVR.HTTPEndpoints)) {
		p := "ivr.http_endpoints." + name
		if !reEndpointName.MatchString(name) {
			add(p, "%q is not an endpoint name (a-z, 0-9 and '_', starting with a letter; at most 64)", name)
			continue
		}
		raw := c.IVR.HTTPEndpoints[name]
		u, err := url.Parse(raw)
		switch {
		case raw == "":
			add(p, "is empty: give the base URL of the service (e.g. https://lines.example.com/api)")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
			add(p, "%q is not an http:// or https:// URL", raw)
		case u.User != nil:
			add(p, "must not carry credentials")
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			add(p, "%q has a query or fragment: give the base URL only (flows add the path and parameters)", raw)
		}
	}
}

// ServiceFlow is the IVR flow of a service ("" for none).
func (s Service) ServiceFlow() string {
	switch s.Flow {
	case "":
		return "main"
	case FlowNone:
		return ""
	}
	return s.Flow
}

func (c *Config) Validate() error {
	var ps Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, c.problem(path, format, args...))
	}
	oneOf := func(path, got string, allowed ...string) {
		for _, a := range allowed {
			if got == a {
				return
			}
		}
		add(path, "%q is not one of %s", got, strings.Join(allowed, ", "))
	}

	oneOf("mode", c.Mode, "development", "production")
	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")

	if c.Database.URL == "" {
		add("database.url", "is empty: set it here or with %s", EnvDatabaseURL)
	}

	oneOf("switch", c.Switch, SwitchAsterisk, SwitchFreeSWITCH)
	fs := c.Switch == SwitchFreeSWITCH
	if fs {
		if host, port, err := net.SplitHostPort(c.FreeSWITCH.Address); err != nil || host == "" || port == "" {
			add("freeswitch.address", "%q is not host:port of FreeSWITCH's event socket", c.FreeSWITCH.Address)
		}
		if a := c.FreeSWITCH.OutboundListen; a != "" {
			if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
				add("freeswitch.outbound_listen", "%q is not host:port for FreeSWITCH's socket application to connect to", a)
			} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				add("freeswitch.outbound_listen", "%q: port %q is not a number from 1 to 65535", a, port)
			}
		}
		if d := c.FreeSWITCH.RecordingDir; d != "" && (!reDir.MatchString(d) || strings.Contains(d, "..")) {
			add("freeswitch.recording_dir", "%q is not an absolute path of letters, digits, / . _ -", d)
		} else if d == "" && (!reDir.MatchString(c.Recording.Dir) || strings.Contains(c.Recording.Dir, "..")) {
			add("recording.dir", "%q is not an absolute path of letters, digits, / . _ - (FreeSWITCH is given it; or set freeswitch.recording_dir)", c.Recording.Dir)
		}
	} else {
		if u, err := url.Parse(c.Asterisk.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("asterisk.url", "%q is not an http:// or https:// URL of Asterisk's HTTP server", c.Asterisk.URL)
		} else if u.User != nil {
			add("asterisk.url", "must not carry credentials: set asterisk.username and %s", EnvARIPassword)
		}
		if c.Asterisk.Username == "" {
			add("asterisk.username", "is empty")
		}
		if !reID.MatchString(c.Asterisk.App) {
			add("asterisk.app", "%q is not a valid Stasis application name (letters, digits, . _ -)", c.Asterisk.App)
		}
	}

	if _, port, err := net.SplitHostPort(c.API.Listen); err != nil || port == "" {
		add("api.listen", "%q is not host:port", c.API.Listen)
	}

	if fs {
		oneOf("recording.format", c.Recording.Format, FreeSWITCHRecordingFormats()...)
	} else {
		oneOf("recording.format", c.Recording.Format, RecordingFormats()...)
	}

	c.validateIVR(add)

	queues := map[string]bool{}
	for _, q := range c.Queues {
		queues[q.ID] = true
	}
	ids := map[string]bool{}
	for i, q := range c.Queues {
		p := "queues[" + strconv.Itoa(i) + "]"
		switch {
		case !reID.MatchString(q.ID):
			add(p+".id", "%q is not a valid id (letters, digits, . _ -)", q.ID)
		case ids[q.ID]:
			add(p+".id", "queue %q is defined twice", q.ID)
		}
		ids[q.ID] = true
		oneOf(p+".strategy", q.Strategy, Strategies()...)
		timer(add, p+".ring_timeout", q.RingTimeout, false)
		timer(add, p+".wrap_up", q.WrapUp, true)
		timer(add, p+".wrap_up_max_extension", q.WrapUpMaxExtension, true)
		if w := q.Weights; w != nil {
			if q.Strategy != "weighted-skill-idle" {
				add(p+".weights", "is only for strategy weighted-skill-idle (strategy is %q)", q.Strategy)
			}
			weight := func(path string, v float64) {
				if math.IsNaN(v) || v < 0 || v > 1000 {
					add(path, "%v must be a number from 0 to 1000", v)
				}
			}
			weight(p+".weights.skill", w.Skill)
			weight(p+".weights.idle", w.Idle)
			timer(add, p+".weights.idle_scale", w.IdleScale, false)
		}
		skills(add, p+".skills", q.Skills)
		var last time.Duration
		for k, o := range q.Overflow {
			op := p + ".overflow[" + strconv.Itoa(k) + "]"
			timer(add, op+".after", o.After, false)
			if k > 0 && o.After <= last {
				add(op+".after", "%s must be later than the step before (%s)", o.After, last)
			}
			last = max(last, o.After)
			if o.MinLevel == 0 && len(o.AddSkills) == 0 && o.ToQueue == "" {
				add(op, "does nothing: give min_level, add_skills or to_queue")
			}
			if o.MinLevel != 0 && (o.MinLevel < minLevel || o.MinLevel > maxLevel) {
				add(op+".min_level", "%d is not a level from %d to %d", o.MinLevel, minLevel, maxLevel)
			}
			skills(add, op+".add_skills", o.AddSkills)
			switch {
			case o.ToQueue == "":
			case o.ToQueue == q.ID:
				add(op+".to_queue", "is the queue itself")
			case !queues[o.ToQueue]:
				add(op+".to_queue", "queue %q is not defined in queues", o.ToQueue)
			}
		}
		if mw := q.MaxWait; mw != nil {
			timer(add, p+".max_wait.after", mw.After, false)
			oneOf(p+".max_wait.action", mw.Action, MaxWaitActions()...)
			if mw.Action == string(acd.MaxWaitCallback) && q.Callback.Dial == "" {
				add(p+".max_wait.action", "callback needs callback.dial (the endpoint the customer is dialled at)")
			}
			if mw.Prompt != "" && (!rePrompt.MatchString(mw.Prompt) || strings.Contains(mw.Prompt, "..")) {
				add(p+".max_wait.prompt", "%q is not sound:NAME or recording:NAME (letters, digits, / . _ -)", mw.Prompt)
			}
		}
		// Zero callback settings (a Config built in code) take the ACD's
		// defaults.
		if cb := q.Callback; cb.Attempts < 0 || cb.Attempts > 20 {
			add(p+".callback.attempts", "%d is not from 1 to 20", cb.Attempts)
		}
		timer(add, p+".callback.interval", q.Callback.Interval, true)
		timer(add, p+".callback.dial_timeout", q.Callback.DialTimeout, true)
		timer(add, p+".callback.hold_max", q.Callback.HoldMax, true)
		if d := q.Callback.Dial; d != "" {
			if msg := checkDial(d, fs); msg != "" {
				add(p+".callback.dial", "%q %s", d, msg)
			}
		}
		timer(add, p+".announce_every", q.AnnounceEvery, true)
		if a := q.AnnounceEvery; a > 0 && a < minAnnounceEvery {
			add(p+".announce_every", "%s is too often: 0s (off) or at least %s", a, minAnnounceEvery)
		}
		if _, written := c.lines[p+".service_level_within"]; q.ServiceLevelWithin != 0 || written {
			timer(add, p+".service_level_within", q.ServiceLevelWithin, false)
		}
		// Zero in a Config built in code takes the ACD's default; in the
		// file it must be a handle time.
		if _, written := c.lines[p+".initial_aht"]; q.InitialAHT != 0 || written {
			if d := q.InitialAHT; d > 0 && d < minInitialAHT {
				add(p+".initial_aht", "%s is shorter than any call: give the queue's average handle time (talk, hold and wrap-up), e.g. 3m; at least %s", d, minInitialAHT)
			} else {
				timer(add, p+".initial_aht", d, false)
			}
		}
	}

	if tr := c.Transfer; tr.Dial != "" || len(tr.Allow) > 0 {
		if tr.Dial == "" {
			add("transfer.dial", "is needed with transfer.allow (the endpoint a transfer's number is dialled at)")
		} else if msg := checkDial(tr.Dial, fs); msg != "" {
			add("transfer.dial", "%q %s", tr.Dial, msg)
		}
		if tr.Dial != "" && len(tr.Allow) == 0 {
			add("transfer.allow", "is needed with transfer.dial: the number prefixes flows may transfer to (a flow may dial what a caller keyed)")
		}
		for k, pre := range tr.Allow {
			if !reTransferPrefix.MatchString(pre) {
				add("transfer.allow["+strconv.Itoa(k)+"]", "%q is not a number prefix (1-20 digits, optionally a leading +)", pre)
			}
		}
	}
	timer(add, "transfer.ring_timeout", c.Transfer.RingTimeout, true)
	timer(add, "reconcile_every", c.ReconcileEvery, false)
	if c.ReconcileEvery > 0 && c.ReconcileEvery < time.Second {
		add("reconcile_every", "%s is shorter than 1s: each check asks the switch for every channel", c.ReconcileEvery)
	}
	timer(add, "command_timeout", c.CommandTimeout, false)
	if c.CommandTimeout > 0 && c.CommandTimeout < time.Second {
		add("command_timeout", "%s is shorter than 1s: a busy switch takes longer to reply, and the command would be sent again or count as failed", c.CommandTimeout)
	}

	numbers := map[string]bool{}
	for i, s := range c.Services {
		p := "services[" + strconv.Itoa(i) + "]"
		switch {
		case !reNumber.MatchString(s.Number):
			add(p+".number", "%q is not a valid service number", s.Number)
		case numbers[s.Number]:
			add(p+".number", "service number %q is defined twice", s.Number)
		}
		numbers[s.Number] = true
		switch {
		case s.Queue == "":
			add(p+".queue", "is empty: name the queue that answers %s", s.Number)
		case !queues[s.Queue]:
			add(p+".queue", "queue %q is not defined in queues", s.Queue)
		}
		if s.Flow != "" && s.Flow != FlowNone && !reFlow.MatchString(s.Flow) {
			add(p+".flow", "%q is not a flow name (a file NAME.yaml in ivr.scripts_dir: lower-case letters, digits, _ -), or %q", s.Flow, FlowNone)
		}
		if s.Survey != "" && !reFlow.MatchString(s.Survey) {
			add(p+".survey", "%q is not a flow name (lower-case letters, digits, _ -)", s.Survey)
		}
	}

	agents := map[string]bool{}
	endpoints := map[string]string{}
	for i, a := range c.Agents {
		p := "agents[" + strconv.Itoa(i) + "]"
		switch {
		case !reID.MatchString(a.ID):
			add(p+".id", "%q is not a valid id (letters, digits, . _ -)", a.ID)
		case agents[a.ID]:
			add(p+".id", "agent %q is defined twice", a.ID)
		}
		agents[a.ID] = true
		switch other, dup := endpoints[a.Endpoint]; {
		case fs && !reFSEndpoint.MatchString(a.Endpoint):
			add(p+".endpoint", "%q is not of the form user/name or sofia/profile/destination (switch: freeswitch)", a.Endpoint)
		case !fs && !reEndpoint.MatchString(a.Endpoint):
			add(p+".endpoint", "%q is not of the form PJSIP/name", a.Endpoint)
		case dup:
			add(p+".endpoint", "%s is already the endpoint of agent %q", a.Endpoint, other)
		default:
			endpoints[a.Endpoint] = a.ID
		}
		seen := map[string]bool{}
		for j, q := range a.Queues {
			qp := p + ".queues[" + strconv.Itoa(j) + "]"
			switch {
			case !queues[q]:
				add(qp, "queue %q is not defined in queues", q)
			case seen[q]:
				add(qp, "queue %q is listed twice", q)
			}
			seen[q] = true
		}
		skills(add, p+".skills", a.Skills)
	}
	return ps.err()
}

// reTransferPrefix is a number prefix transfer.allow may hold.
var reTransferPrefix = regexp.MustCompile(`^\+?[0-9]{1,20}$`)

// minAnnounceEvery is the shortest announce_every: an announcement
// takes a few seconds to say.
const minAnnounceEvery = 5 * time.Second

// minInitialAHT is the shortest initial_aht: no call is handled faster.
const minInitialAHT = time.Second

// checkDial checks a callback dial template: it must hold {number}, and
// with a number put in, be an endpoint the switch may be given (the
// driver checks the same again on every dial). It returns what is
// wrong, or "".
func checkDial(tmpl string, fs bool) string {
	if strings.Count(tmpl, "{number}") != 1 {
		return "must hold {number} once, where the customer's number goes"
	}
	ep := strings.Replace(tmpl, "{number}", "13800000000", 1)
	want := "PJSIP/{number}@trunk or PJSIP/{number}"
	if fs {
		want = "sofia/profile/{number}@gateway-host or user/{number}"
		if !strings.HasPrefix(ep, "sofia/") && !strings.HasPrefix(ep, "user/") {
			return "is not of the form " + want
		}
	} else if !strings.HasPrefix(ep, "PJSIP/") {
		return "is not of the form " + want
	}
	if err := (pbx.Originate{ID: "callback", Endpoint: ep}).Validate(); err != nil {
		return "is not of the form " + want + " (letters, digits, _ . + - only)"
	}
	return ""
}

// skills checks a skill → level map: names of letters, digits, . _ -
// and levels 1-10; problems in name order.
func skills(add func(path, format string, args ...any), path string, s map[string]int) {
	for _, name := range slices.Sorted(maps.Keys(s)) {
		if !reSkill.MatchString(name) {
			add(path+"."+name, "%q is not a valid skill name (letters, digits, . _ -)", name)
			continue
		}
		if l := s[name]; l < minLevel || l > maxLevel {
			add(path+"."+name, "level %d is not from %d to %d", l, minLevel, maxLevel)
		}
	}
}

// timer checks a duration setting: positive (or zero when zeroOK) and at
// most maxTimer.
func timer(add func(path, format string, args ...any), path string, d time.Duration, zeroOK bool) {
	switch {
	case d < 0 || (d == 0 && !zeroOK):
		add(path, "%s must be positive", d)
	case d > maxTimer:
		add(path, "%s is longer than %s", d, maxTimer)
	case d%time.Millisecond != 0:
		add(path, "%s is finer than a millisecond", d)
	}
}

// Production reports whether the configuration runs in production mode.
func (c *Config) Production() bool { return c.Mode == "production" }
