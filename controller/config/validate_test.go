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
		{"ivr", "ivr:\n  no_input_timeout: 0s\n  max_invalid: 0\n" + minimal, []string{
			`hotline.yaml:2: ivr.no_input_timeout: 0s must be positive`,
			`hotline.yaml:3: ivr.max_invalid: 0 must be at least 1`,
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
		{"queue ids and strategy", `database: {url: postgres://h/db}
queues:
  - id: "a b"
  - id: q
    strategy: random
  - id: q
`, []string{
			`hotline.yaml:3: queues[0].id: "a b" is not a valid id (letters, digits, . _ -)`,
			`hotline.yaml:5: queues[1].strategy: "random" is not one of longest-idle`,
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
