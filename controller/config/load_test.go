package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

const minimal = `database:
  url: postgres://hotline@127.0.0.1/hotline
queues:
  - id: general
services:
  - number: "10000"
    queue: general
agents:
  - id: "1001"
    endpoint: PJSIP/agent1
    queues: [general]
`

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse("hotline.yaml", []byte(minimal), env())
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"mode", cfg.Mode, "development"},
		{"log.level", cfg.Log.Level, "info"},
		{"log.format", cfg.Log.Format, "text"},
		{"asterisk.url", cfg.Asterisk.URL, "http://127.0.0.1:8088"},
		{"asterisk.username", cfg.Asterisk.Username, "hotline"},
		{"asterisk.app", cfg.Asterisk.App, "hotline"},
		{"api.listen", cfg.API.Listen, "127.0.0.1:8089"},
		{"reconcile_every", cfg.ReconcileEvery, 30 * time.Second},
		{"command_timeout", cfg.CommandTimeout, 10 * time.Second},
		{"recording.format", cfg.Recording.Format, "wav"},
		{"ivr.scripts_dir", cfg.IVR.ScriptsDir, "ivr-scripts"},
		{"ivr.no_input_timeout", cfg.IVR.NoInputTimeout, time.Duration(0)},
		{"ivr.max_invalid", cfg.IVR.MaxInvalid, 0},
		{"queue strategy", cfg.Queues[0].Strategy, "longest-idle"},
		{"queue ring_timeout", cfg.Queues[0].RingTimeout, 15 * time.Second},
		{"queue wrap_up", cfg.Queues[0].WrapUp, 10 * time.Second},
		{"queue service_level_within", cfg.Queues[0].ServiceLevelWithin, 20 * time.Second},
		{"agent id", cfg.Agents[0].ID, "1001"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseValuesAndEnv(t *testing.T) {
	src := `mode: production
log: {level: debug, format: json}
ivr:
  no_input_timeout: 1m30s
  max_invalid: 5
  http_endpoints:
    broadband_status: https://lines.example.com/api
queues:
  - id: q1
    ring_timeout: 500ms
    wrap_up: 0s
agents:
  - id: 1001
    endpoint: PJSIP/a
database:
  url: postgres://file@h/db
`
	cfg, err := Parse("h.yaml", []byte(src), env(
		EnvARIPassword, "ari-secret",
		EnvAPIToken, "tok",
		EnvDatabaseURL, "postgres://env:pw@h/db",
	))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IVR.NoInputTimeout != 90*time.Second || cfg.IVR.MaxInvalid != 5 || len(cfg.IVR.HTTPEndpoints) != 1 ||
		cfg.IVR.HTTPEndpoints["broadband_status"] != "https://lines.example.com/api" {
		t.Errorf("ivr = %+v", cfg.IVR)
	}
	q := cfg.Queues[0]
	if q.RingTimeout != 500*time.Millisecond || q.WrapUp != 0 || q.Strategy != "longest-idle" {
		t.Errorf("queue = %+v (an explicit 0s wrap_up must stay 0)", q)
	}
	if cfg.Agents[0].ID != "1001" {
		t.Errorf("unquoted numeric id = %q", cfg.Agents[0].ID)
	}
	if cfg.Asterisk.Password != "ari-secret" || cfg.API.Token != "tok" || cfg.Database.URL != "postgres://env:pw@h/db" {
		t.Errorf("secrets from env: %+v %+v %+v", cfg.Asterisk, cfg.API, cfg.Database)
	}
	if !cfg.Production() || cfg.Log.Level != "debug" || cfg.Log.Format != "json" {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown key in section", "mode: development\nasterisk:\n  url: http://x:8088\n  foo: 1\n",
			[]string{`hotline.yaml:4: field "foo" is not a known setting of asterisk`}},
		{"unknown top-level key", "mode: development\nqueus: []\n",
			[]string{`hotline.yaml:2: field "queus" is not a known top-level setting`}},
		{"unknown key in list item", "queues:\n  - id: a\n    ringtimeout: 5s\n",
			[]string{`hotline.yaml:3: field "ringtimeout" is not a known setting of queues[0]`}},
		{"secret in file", "asterisk:\n  password: x\n",
			[]string{`hotline.yaml:2: field "password" is not a known setting of asterisk`}},
		{"bad duration", "queues:\n  - id: a\n    ring_timeout: abc\n",
			[]string{`hotline.yaml:3: queues[0].ring_timeout: "abc" is not a duration`}},
		{"long bad duration", "ivr:\n  no_input_timeout: sixty seconds\n",
			[]string{`hotline.yaml:2: ivr.no_input_timeout: "sixty seconds" is not a duration`}},
		{"duration without unit", "ivr:\n  no_input_timeout: 60\n",
			[]string{`hotline.yaml:2: ivr.no_input_timeout: 60 is not a duration (give a unit, e.g. "15s")`}},
		{"bad int", "ivr:\n  max_invalid: three\n",
			[]string{`hotline.yaml:2: ivr.max_invalid: "three" is not a whole number`}},
		{"list expected", "agents:\n  - id: a\n    queues: general\n",
			[]string{`hotline.yaml:3: agents[0].queues: expected a list, found "general"`}},
		{"mapping expected", "log: loud\n",
			[]string{`hotline.yaml:1: log: expected a mapping of settings, found "loud"`}},
		{"text expected", "mode:\n  a: b\n",
			[]string{`hotline.yaml:2: mode: expected text, found a mapping`}},
		{"several at once", "ivr:\n  max_invalid: x\nqueues:\n  - id: a\n    wrap_up: soon\n    colour: red\n",
			[]string{
				`hotline.yaml:2: ivr.max_invalid: "x" is not a whole number`,
				`hotline.yaml:5: queues[0].wrap_up: "soon" is not a duration`,
				`hotline.yaml:6: field "colour" is not a known setting of queues[0]`,
			}},
		{"repeated key", "mode: development\nmode: production\n",
			[]string{`hotline.yaml:2: key "mode" is repeated (first at line 1)`}},
		{"syntax", "mode: development\nlog:\n  level: [info\n",
			[]string{`hotline.yaml:3: did not find expected ',' or ']'`}},
		{"syntax on line 1", "mode: a: b\n",
			[]string{`hotline.yaml:1: mapping values are not allowed in this context`}},
		{"two documents", "mode: development\n---\nmode: production\n",
			[]string{`hotline.yaml:2: a second YAML document (---) is not allowed: put everything in one`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("hotline.yaml", []byte(tt.src), env())
			if err == nil {
				t.Fatal("no error")
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %T is not Problems: %v", err, err)
			}
			if got := strings.Split(err.Error(), "\n"); !equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	cfg, err := Parse("hotline.yaml", nil, env())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mode != "development" || cfg.API.Listen != "127.0.0.1:8089" {
		t.Errorf("empty file: %+v", cfg)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hotline.yaml")
	if err := os.WriteFile(path, []byte("mode: development\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if want := path + `:2: field "bogus" is not a known top-level setting`; err == nil || err.Error() != want {
		t.Errorf("Load = %v, want %s", err, want)
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// The shipped example must load and validate as it is.
func TestExampleFile(t *testing.T) {
	t.Setenv(EnvARIPassword, "s3cr3t-for-test")
	t.Setenv(EnvAPIToken, "")
	t.Setenv(EnvDatabaseURL, "")
	cfg, err := Load("../../hotline.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckSecrets(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Agents) != 4 || cfg.Agents[3].Endpoint != "PJSIP/agent4" || cfg.Services[0].Number != "10000" || cfg.Services[0].Queue != "general" {
		t.Errorf("example: %+v %+v", cfg.Agents, cfg.Services)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
