package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"mode", "mode: staging\n" + minimal,
			[]string{`hotline.yaml:1: mode: "staging" is not one of development, production`}},
		{"log", "log:\n  level: loud\n  format: xml\n" + minimal, []string{
			`hotline.yaml:2: log.level: "loud" is not one of debug, info, warn, error`,
			`hotline.yaml:3: log.format: "xml" is not one of text, json`,
		}},
		{"no database", "queues: []\n", []string{
			`hotline.yaml: database.url: is empty: set it here or with HOTLINE_DATABASE_URL`,
		}},
		{"asterisk", "asterisk:\n  url: 127.0.0.1:8088\n  app: 'bad app'\n" + minimal, []string{
			`hotline.yaml:2: asterisk.url: "127.0.0.1:8088" is not an http:// or https:// URL of Asterisk's HTTP server`,
			`hotline.yaml:3: asterisk.app: "bad app" is not a valid Stasis application name (letters, digits, . _ -)`,
		}},
		{"asterisk url credentials", "asterisk:\n  url: http://u:p@h:8088\n" + minimal, []string{
			`hotline.yaml:2: asterisk.url: must not carry credentials: set asterisk.username and HOTLINE_ARI_PASSWORD`,
		}},
		{"api listen", "api:\n  listen: localhost\n" + minimal, []string{
			`hotline.yaml:2: api.listen: "localhost" is not host:port`,
		}},
		{"recording format", "recording:\n  format: mp3\n" + minimal, []string{
			`hotline.yaml:2: recording.format: "mp3" is not one of wav, wav49, gsm, ulaw, alaw, sln, sln16, g722`,
		}},
		{"ivr", "ivr:\n  no_input_timeout: -1s\n  max_invalid: -1\n  scripts_dir: ''\n" + minimal, []string{
			`hotline.yaml:2: ivr.no_input_timeout: -1s must be positive`,
			`hotline.yaml:3: ivr.max_invalid: -1 is not from 1 to 20 (0: as each flow says)`,
			`hotline.yaml:4: ivr.scripts_dir: is empty: name the directory of the IVR flow files`,
		}},
		{"ivr http endpoints", "ivr:\n  http_endpoints:\n    broadband_status: broadband-status.internal:8080\n    Billing: https://b.example\n" +
			"    crm: https://u:p@crm.example/api\n    lines: https://l.example/api?key=1\n    empty: ''\n    ok: https://ok.example/api/\n" + minimal, []string{
			`hotline.yaml:4: ivr.http_endpoints.Billing: "Billing" is not an endpoint name (a-z, 0-9 and '_', starting with a letter; at most 64)`,
			`hotline.yaml:3: ivr.http_endpoints.broadband_status: "broadband-status.internal:8080" is not an http:// or https:// URL`,
			`hotline.yaml:5: ivr.http_endpoints.crm: must not carry credentials`,
			`hotline.yaml:7: ivr.http_endpoints.empty: is empty: give the base URL of the service (e.g. https://lines.example.com/api)`,
			`hotline.yaml:6: ivr.http_endpoints.lines: "https://l.example/api?key=1" has a query or fragment: give the base URL only (flows add the path and parameters)`,
		}},
		{"service flow", "database: {url: postgres://h/db}\nqueues: [{id: q}]\nservices:\n  - number: \"10000\"\n    queue: q\n    flow: Main Menu\n    survey: ../x\n", []string{
			`hotline.yaml:6: services[0].flow: "Main Menu" is not a flow name (a file NAME.yaml in ivr.scripts_dir: lower-case letters, digits, _ -), or "none"`,
			`hotline.yaml:7: services[0].survey: "../x" is not a flow name (lower-case letters, digits, _ -)`,
		}},
		{"queue timers", `database: {url: postgres://h/db}
queues:
  - id: q
    ring_timeout: -1s
    wrap_up: -2s
  - id: r
    ring_timeout: 25h
    wrap_up: 1.5ms
`, []string{
			`hotline.yaml:4: queues[0].ring_timeout: -1s must be positive`,
			`hotline.yaml:5: queues[0].wrap_up: -2s must be positive`,
			`hotline.yaml:7: queues[1].ring_timeout: 25h0m0s is longer than 24h0m0s`,
			`hotline.yaml:8: queues[1].wrap_up: 1.5ms is finer than a millisecond`,
		}},
		{"reconcile interval too short", "database: {url: postgres://h/db}\nreconcile_every: 200ms\nqueues: [{id: q}]\n", []string{
			`hotline.yaml:2: reconcile_every: 200ms is shorter than 1s: each check asks the switch for every channel`,
		}},
		{"reconcile interval not positive", "database: {url: postgres://h/db}\nreconcile_every: 0s\nqueues: [{id: q}]\n", []string{
			`hotline.yaml:2: reconcile_every: 0s must be positive`,
		}},
		{"command timeout too short", "database: {url: postgres://h/db}\ncommand_timeout: 500ms\nqueues: [{id: q}]\n", []string{
			`hotline.yaml:2: command_timeout: 500ms is shorter than 1s: a busy switch takes longer to reply, and the command would be sent again or count as failed`,
		}},
		{"command timeout not positive", "database: {url: postgres://h/db}\ncommand_timeout: -1s\nqueues: [{id: q}]\n", []string{
			`hotline.yaml:2: command_timeout: -1s must be positive`,
		}},
		{"queue ids and strategy", `database: {url: postgres://h/db}
queues:
  - id: "a b"
  - id: q
    strategy: fastest
  - id: q
`, []string{
			`hotline.yaml:3: queues[0].id: "a b" is not a valid id (letters, digits, . _ -)`,
			`hotline.yaml:5: queues[1].strategy: "fastest" is not one of longest-idle, fewest-calls, least-talk-time, skill-level-first, weighted-skill-idle, round-robin, random, ring-all`,
			`hotline.yaml:6: queues[2].id: queue "q" is defined twice`,
		}},
		{"services", `database: {url: postgres://h/db}
queues: [{id: general}]
services:
  - number: "10000"
    queue: billing
  - number: "10000"
    queue: general
  - number: "1;DROP"
    queue: general
  - number: "20000"
`, []string{
			`hotline.yaml:5: services[0].queue: queue "billing" is not defined in queues`,
			`hotline.yaml:6: services[1].number: service number "10000" is defined twice`,
			`hotline.yaml:8: services[2].number: "1;DROP" is not a valid service number`,
			`hotline.yaml:10: services[3].queue: is empty: name the queue that answers 20000`,
		}},
		{"agents", `database: {url: postgres://h/db}
queues: [{id: general}]
agents:
  - id: "1001"
    endpoint: PJSIP/agent1
    queues: [general, sales, general]
  - id: "1001"
    endpoint: SIP/agent2
  - id: "1002/x"
    endpoint: PJSIP/agent1
  - id: "1003"
    endpoint: "PJSIP/a&b"
`, []string{
			`hotline.yaml:6: agents[0].queues[1]: queue "sales" is not defined in queues`,
			`hotline.yaml:6: agents[0].queues[2]: queue "general" is listed twice`,
			`hotline.yaml:7: agents[1].id: agent "1001" is defined twice`,
			`hotline.yaml:8: agents[1].endpoint: "SIP/agent2" is not of the form PJSIP/name`,
			`hotline.yaml:9: agents[2].id: "1002/x" is not a valid id (letters, digits, . _ -)`,
			`hotline.yaml:10: agents[2].endpoint: PJSIP/agent1 is already the endpoint of agent "1001"`,
			`hotline.yaml:12: agents[3].endpoint: "PJSIP/a&b" is not of the form PJSIP/name`,
		}},
		{"skills and strategy parameters", `database: {url: postgres://h/db}
queues:
  - id: billing
    strategy: longest-idle
    weights: {skill: 2}
    skills: {billing: 0, "bad skill": 3}
  - id: general
    strategy: weighted-skill-idle
    weights:
      skill: -1
      idle_scale: 0s
agents:
  - id: "1001"
    endpoint: PJSIP/agent1
    queues: [billing]
    skills:
      billing: 11
      broadband: 3
`, []string{
			`hotline.yaml:5: queues[0].weights: is only for strategy weighted-skill-idle (strategy is "longest-idle")`,
			`hotline.yaml:6: queues[0].skills.bad skill: "bad skill" is not a valid skill name (letters, digits, . _ -)`,
			`hotline.yaml:6: queues[0].skills.billing: level 0 is not from 1 to 10`,
			`hotline.yaml:10: queues[1].weights.skill: -1 must be a number from 0 to 1000`,
			`hotline.yaml:11: queues[1].weights.idle_scale: 0s must be positive`,
			`hotline.yaml:17: agents[0].skills.billing: level 11 is not from 1 to 10`,
		}},
		{"overflow and max wait", `database: {url: postgres://h/db}
queues:
  - id: billing
    overflow:
      - after: 30s
        min_level: 11
      - after: 30s
        add_skills: {general: 0}
      - after: 20s
        to_queue: nowhere
      - after: 200s
      - after: 300s
        to_queue: billing
    max_wait:
      after: 0s
      action: hangup
      prompt: "sound:../etc/passwd"
    callback: {attempts: 50, interval: -1s, hold_max: -2m}
`, []string{
			`hotline.yaml:6: queues[0].overflow[0].min_level: 11 is not a level from 1 to 10`,
			`hotline.yaml:7: queues[0].overflow[1].after: 30s must be later than the step before (30s)`,
			`hotline.yaml:8: queues[0].overflow[1].add_skills.general: level 0 is not from 1 to 10`,
			`hotline.yaml:9: queues[0].overflow[2].after: 20s must be later than the step before (30s)`,
			`hotline.yaml:10: queues[0].overflow[2].to_queue: queue "nowhere" is not defined in queues`,
			`hotline.yaml:11: queues[0].overflow[3]: does nothing: give min_level, add_skills or to_queue`,
			`hotline.yaml:13: queues[0].overflow[4].to_queue: is the queue itself`,
			`hotline.yaml:15: queues[0].max_wait.after: 0s must be positive`,
			`hotline.yaml:16: queues[0].max_wait.action: "hangup" is not one of callback, voicemail, release`,
			`hotline.yaml:17: queues[0].max_wait.prompt: "sound:../etc/passwd" is not sound:NAME or recording:NAME (letters, digits, / . _ -)`,
			`hotline.yaml:18: queues[0].callback.attempts: 50 is not from 1 to 20`,
			`hotline.yaml:18: queues[0].callback.interval: -1s must be positive`,
			`hotline.yaml:18: queues[0].callback.hold_max: -2m0s must be positive`,
		}},
		{"callback dial and announcements", `database: {url: postgres://h/db}
queues:
  - id: a
    max_wait: {after: 60s, action: callback}
    announce_every: 2s
  - id: b
    callback: {dial: "PJSIP/pstn"}
    announce_every: -30s
  - id: c
    callback: {dial: "PJSIP/{number}@pstn;transport=tcp"}
  - id: d
    callback: {dial: "Local/{number}@outbound"}
`, []string{
			`hotline.yaml:4: queues[0].max_wait.action: callback needs callback.dial (the endpoint the customer is dialled at)`,
			`hotline.yaml:5: queues[0].announce_every: 2s is too often: 0s (off) or at least 5s`,
			`hotline.yaml:7: queues[1].callback.dial: "PJSIP/pstn" must hold {number} once, where the customer's number goes`,
			`hotline.yaml:8: queues[1].announce_every: -30s must be positive`,
			`hotline.yaml:10: queues[2].callback.dial: "PJSIP/{number}@pstn;transport=tcp" is not of the form PJSIP/{number}@trunk or PJSIP/{number} (letters, digits, _ . + - only)`,
			`hotline.yaml:12: queues[3].callback.dial: "Local/{number}@outbound" is not of the form PJSIP/{number}@trunk or PJSIP/{number}`,
		}},
		{"initial handle time", `database: {url: postgres://h/db}
queues:
  - id: a
    initial_aht: -3m
  - id: b
    initial_aht: 0s
  - id: c
    initial_aht: 180ms
  - id: d
    initial_aht: 25h
  - id: e
    initial_aht: 1.5s
  - id: f
    initial_aht: 1s
`, []string{
			`hotline.yaml:4: queues[0].initial_aht: -3m0s must be positive`,
			`hotline.yaml:6: queues[1].initial_aht: 0s must be positive`,
			`hotline.yaml:8: queues[2].initial_aht: 180ms is shorter than any call: give the queue's average handle time (talk, hold and wrap-up), e.g. 3m; at least 1s`,
			`hotline.yaml:10: queues[3].initial_aht: 25h0m0s is longer than 24h0m0s`,
		}},
		{"transfer to outside numbers", `database: {url: postgres://h/db}
transfer:
  dial: "PJSIP/{number}@pstn"
  allow: ["95", "+86-10", ""]
  ring_timeout: -5s
`, []string{
			`hotline.yaml:4: transfer.allow[1]: "+86-10" is not a number prefix (1-20 digits, optionally a leading +)`,
			`hotline.yaml:4: transfer.allow[2]: "" is not a number prefix (1-20 digits, optionally a leading +)`,
			`hotline.yaml:5: transfer.ring_timeout: -5s must be positive`,
		}},
		{"transfer dial without allow", `database: {url: postgres://h/db}
transfer: {dial: "PJSIP/pstn"}
`, []string{
			`hotline.yaml:2: transfer.dial: "PJSIP/pstn" must hold {number} once, where the customer's number goes`,
			`hotline.yaml:2: transfer.allow: is needed with transfer.dial: the number prefixes flows may transfer to (a flow may dial what a caller keyed)`,
		}},
		{"missing endpoint located at the item", `database: {url: postgres://h/db}
agents:
  - id: "1001"
`, []string{
			`hotline.yaml:3: agents[0].endpoint: "" is not of the form PJSIP/name`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("hotline.yaml", []byte(tt.src), env())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = cfg.Validate()
			if err == nil {
				t.Fatal("Validate: no error")
			}
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != len(tt.want) {
				t.Errorf("want %d Problems, got %T %d", len(tt.want), err, len(ps))
			}
			if got := strings.Split(err.Error(), "\n"); !equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// A Config built in code (no file) still validates, without file:line.
func TestValidateInCode(t *testing.T) {
	cfg := Default()
	cfg.Database.URL = "postgres://h/db"
	cfg.Queues = []Queue{{ID: "q", Strategy: DefaultStrategy, RingTimeout: time.Second}}
	cfg.Agents = []Agent{{ID: "a", Endpoint: "PJSIP/a", Queues: []string{"nope"}}}
	err := cfg.Validate()
	if want := `agents[0].queues[0]: queue "nope" is not defined in queues`; err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
}

func TestCheckSecrets(t *testing.T) {
	const prod = "mode: production\n"
	const fileURL = "database:\n  url: postgres://hotline:pw@db/hotline\n"
	tests := []struct {
		name string
		src  string
		env  []string
		want []string // nil: no error
	}{
		{"dev, password set", "", []string{EnvARIPassword, "asterisk"}, nil},
		{"dev, no password", "", nil, []string{"asterisk password is empty: set HOTLINE_ARI_PASSWORD"}},
		{"dev, blank password", "", []string{EnvARIPassword, "  "}, []string{"asterisk password is empty: set HOTLINE_ARI_PASSWORD"}},
		{"dev, db password in file allowed", fileURL, []string{EnvARIPassword, "x"}, nil},
		{"prod, good", prod + fileURL, []string{EnvARIPassword, "Zq8-ari", EnvAPIToken, "t0k3n-long", EnvDatabaseURL, "postgres://u:p@h/db"}, nil},
		{"prod, nothing set", prod, nil, []string{
			"asterisk password is empty: set HOTLINE_ARI_PASSWORD",
			"api token is empty: set HOTLINE_API_TOKEN (required in production mode)",
		}},
		{"prod, defaults", prod, []string{EnvARIPassword, "ClueCon", EnvAPIToken, "Changeme"}, []string{
			"HOTLINE_ARI_PASSWORD is a well-known default password: refused in production mode",
			"HOTLINE_API_TOKEN is a well-known default: refused in production mode",
		}},
		{"prod, db password in file", prod + fileURL, []string{EnvARIPassword, "Zq8", EnvAPIToken, "tok-x"}, []string{
			"hotline.yaml:3: database.url: carries a password: in production mode set HOTLINE_DATABASE_URL instead of writing the password in the file",
		}},
		{"prod, db password in DSN", prod + "database:\n  url: host=db user=hotline password=pw\n", []string{EnvARIPassword, "Zq8", EnvAPIToken, "tok-x"}, []string{
			"hotline.yaml:3: database.url: carries a password: in production mode set HOTLINE_DATABASE_URL instead of writing the password in the file",
		}},
		{"prod, db password as URL parameter", prod + "database:\n  url: postgres://db/hotline?password=pw\n", []string{EnvARIPassword, "Zq8", EnvAPIToken, "tok-x"}, []string{
			"hotline.yaml:3: database.url: carries a password: in production mode set HOTLINE_DATABASE_URL instead of writing the password in the file",
		}},
		{"prod, db url without password", prod + "database:\n  url: postgres://hotline@db/hotline\n", []string{EnvARIPassword, "Zq8", EnvAPIToken, "tok-x"}, nil},
	}
	for _, w := range []string{"asterisk", "password", "secret", "changeme", "admin", "hotline", "ClueCon", "1234"} {
		tests = append(tests, struct {
			name string
			src  string
			env  []string
			want []string
		}{"prod, ari " + w, prod, []string{EnvARIPassword, w, EnvAPIToken, "fine-token"},
			[]string{"HOTLINE_ARI_PASSWORD is a well-known default password: refused in production mode"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("hotline.yaml", []byte(tt.src), env(tt.env...))
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.CheckSecrets()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckSecrets: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckSecrets: no error")
			}
			if got := strings.Split(err.Error(), "\n"); !equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// Skills, strategies with their parameters, overflow, max_wait and the
// callback policy parse into the values the ACD is built from.
func TestParseACDSettings(t *testing.T) {
	src := `database: {url: postgres://h/db}
queues:
  - id: billing
    strategy: weighted-skill-idle
    weights: {skill: 2.5}
    skills: {billing: 5}
    wrap_up_max_extension: 2m
    overflow:
      - after: 30s
        min_level: 3
      - after: 60s
        add_skills: {general: 1}
      - after: 120s
        to_queue: general
    max_wait:
      after: 300s
      action: callback
      prompt: sound:hotline/callback-offer
    callback: {attempts: 5, interval: 10m, dial: "PJSIP/{number}@pstn"}
    announce_every: 30s
    initial_aht: 4m30s
  - id: general
    strategy: round-robin
agents:
  - id: "1001"
    endpoint: PJSIP/agent1
    queues: [billing, general]
    skills: {billing: 7, broadband: 3}
`
	cfg, err := Parse("hotline.yaml", []byte(src), env())
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b, g := cfg.Queues[0], cfg.Queues[1]
	checks := []struct {
		name      string
		got, want any
	}{
		{"weights.skill", b.Weights.Skill, 2.5},
		{"weights.idle default", b.Weights.Idle, DefaultIdleWeight},
		{"weights.idle_scale default", b.Weights.IdleScale, DefaultIdleScale},
		{"skills", b.Skills["billing"], 5},
		{"wrap_up_max_extension", b.WrapUpMaxExtension, 2 * time.Minute},
		{"overflow[0]", b.Overflow[0].MinLevel, 3},
		{"overflow[1]", b.Overflow[1].AddSkills["general"], 1},
		{"overflow[2]", b.Overflow[2].ToQueue, "general"},
		{"overflow[2].after", b.Overflow[2].After, 120 * time.Second},
		{"max_wait", *b.MaxWait, MaxWait{After: 300 * time.Second, Action: "callback", Prompt: "sound:hotline/callback-offer"}},
		{"callback.attempts", b.Callback.Attempts, 5},
		{"callback.interval", b.Callback.Interval, 10 * time.Minute},
		{"callback.dial_timeout default", b.Callback.DialTimeout, DefaultCallbackDial},
		{"callback.dial", b.Callback.Dial, "PJSIP/{number}@pstn"},
		{"announce_every", b.AnnounceEvery, 30 * time.Second},
		{"general announce_every default (off)", g.AnnounceEvery, time.Duration(0)},
		{"initial_aht", b.InitialAHT, 4*time.Minute + 30*time.Second},
		{"general initial_aht default", g.InitialAHT, 3 * time.Minute},
		{"general callback.dial default (none)", g.Callback.Dial, ""},
		{"general strategy", g.Strategy, "round-robin"},
		{"general wrap_up_max_extension default", g.WrapUpMaxExtension, DefaultWrapUpMaxExtension},
		{"general callback default", g.Callback.Attempts, DefaultCallbackAttempts},
		{"general weights", g.Weights == nil, true},
		{"agent skills", cfg.Agents[0].Skills["broadband"], 3},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, err := Parse("hotline.yaml", []byte("queues:\n  - id: q\n    weights: {skill: lots}\n"), env()); err == nil ||
		err.Error() != `hotline.yaml:3: queues[0].weights.skill: "lots" is not a number` {
		t.Errorf("a weight that is not a number: %v", err)
	}
}

// A callback dial template must give, with a number in it, an endpoint
// the chosen switch can be given.
func TestCheckDial(t *testing.T) {
	cases := []struct {
		tmpl string
		fs   bool
		ok   bool
	}{
		{"PJSIP/{number}@pstn", false, true},
		{"PJSIP/{number}", false, true},
		{"sofia/external/{number}@carrier.example", true, true},
		{"user/{number}", true, true},
		{"PJSIP/{number}@pstn", true, false},              // an Asterisk endpoint on FreeSWITCH
		{"sofia/external/{number}@carrier", false, false}, // and the other way round
		{"sofia/gateway/carrier/{number}", true, false},   // a gateway path the driver refuses
		{"PJSIP/{number}{number}@pstn", false, false},
		{"PJSIP/{number}@pstn;x", false, false},
	}
	for _, c := range cases {
		if msg := checkDial(c.tmpl, c.fs); (msg == "") != c.ok {
			t.Errorf("checkDial(%q, freeswitch %v) = %q, want ok %v", c.tmpl, c.fs, msg, c.ok)
		}
	}
}

// A queue built in code without an initial handle time (as the
// end-to-end harness builds its queues) takes the ACD's default rather
// than failing validation; written in the file, 0s is refused (above).
func TestInitialAHTLeftZeroInCode(t *testing.T) {
	cfg, err := Parse("hotline.yaml", []byte(minimal), env())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Queues = append(cfg.Queues, Queue{ID: "built-in-code", Strategy: DefaultStrategy, RingTimeout: DefaultRingTimeout})
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a queue built in code without initial_aht: %v", err)
	}
}
