package config

import (
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	reID       = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	reNumber   = regexp.MustCompile(`^\+?[A-Za-z0-9._*#-]+$`)
	reEndpoint = regexp.MustCompile(`^PJSIP/[A-Za-z0-9._-]+$`)
	// FreeSWITCH dial strings hotline may originate to: a directory user
	// or a sofia profile and destination (controller/pbx's endpoint rule).
	reFSEndpoint = regexp.MustCompile(`^(user|sofia/[A-Za-z0-9_.-]+)/[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}(@[A-Za-z0-9_.-]{1,253})?$`)
	// reDir is a recording directory FreeSWITCH can be given on the wire.
	reDir = regexp.MustCompile(`^/[A-Za-z0-9/._-]{0,255}$`)
)

// Strategies are the queue strategies the ACD implements.
func Strategies() []string { return []string{"longest-idle"} }

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

	timer(add, "ivr.no_input_timeout", c.IVR.NoInputTimeout, false)
	if c.IVR.MaxInvalid < 1 {
		add("ivr.max_invalid", "%d must be at least 1", c.IVR.MaxInvalid)
	}

	queues := map[string]bool{}
	for i, q := range c.Queues {
		p := "queues[" + strconv.Itoa(i) + "]"
		switch {
		case !reID.MatchString(q.ID):
			add(p+".id", "%q is not a valid id (letters, digits, . _ -)", q.ID)
		case queues[q.ID]:
			add(p+".id", "queue %q is defined twice", q.ID)
		}
		queues[q.ID] = true
		oneOf(p+".strategy", q.Strategy, Strategies()...)
		timer(add, p+".ring_timeout", q.RingTimeout, false)
		timer(add, p+".wrap_up", q.WrapUp, true)
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
	}
	return ps.err()
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
