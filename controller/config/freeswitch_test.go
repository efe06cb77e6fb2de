package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

const minimalFS = `switch: freeswitch
database:
  url: postgres://hotline@127.0.0.1/hotline
recording:
  dir: /var/lib/freeswitch/recordings
queues:
  - id: general
services:
  - number: "10000"
    queue: general
agents:
  - id: "1001"
    endpoint: user/agent1
    queues: [general]
`

func TestParseFreeSWITCH(t *testing.T) {
	cfg, err := Parse("hotline.yaml", []byte(minimal), env())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Switch != "asterisk" || cfg.FreeSWITCH.Address != "127.0.0.1:8021" {
		t.Errorf("defaults: switch %q, freeswitch %+v", cfg.Switch, cfg.FreeSWITCH)
	}

	src := minimalFS + "freeswitch:\n  address: 10.0.0.5:8021\n  recording_dir: /srv/fs/rec\n  outbound_listen: 127.0.0.1:8084\n"
	cfg, err = Parse("hotline.yaml", []byte(src), env(EnvESLPassword, "esl-secret", EnvARIPassword, "ari-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckSecrets(); err != nil {
		t.Fatal(err)
	}
	fs := cfg.FreeSWITCH
	if cfg.Switch != SwitchFreeSWITCH || fs.Address != "10.0.0.5:8021" || fs.Password != "esl-secret" || fs.RecordingDir != "/srv/fs/rec" ||
		fs.OutboundListen != "127.0.0.1:8084" {
		t.Errorf("freeswitch = %q %+v", cfg.Switch, fs)
	}
	if got := cfg.SwitchRecordingDir(); got != "/srv/fs/rec" {
		t.Errorf("SwitchRecordingDir = %q", got)
	}
	cfg.FreeSWITCH.RecordingDir = ""
	if got := cfg.SwitchRecordingDir(); got != "/var/lib/freeswitch/recordings" {
		t.Errorf("SwitchRecordingDir without freeswitch.recording_dir = %q, want recording.dir", got)
	}
}

func TestParseFreeSWITCHErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"password in file", "switch: freeswitch\nfreeswitch:\n  address: 127.0.0.1:8021\n  password: ClueCon\n",
			`hotline.yaml:4: field "password" is not a known setting of freeswitch`},
		{"unknown key", "freeswitch:\n  adress: 127.0.0.1:8021\n",
			`hotline.yaml:2: field "adress" is not a known setting of freeswitch`},
		{"not a mapping", "freeswitch: 127.0.0.1:8021\n",
			`hotline.yaml:1: freeswitch: expected a mapping of settings, found "127.0.0.1:8021"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("hotline.yaml", []byte(tt.src), env())
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestValidateFreeSWITCH(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown switch", "switch: kamailio\n" + minimal, []string{
			`hotline.yaml:1: switch: "kamailio" is not one of asterisk, freeswitch`,
		}},
		{"address", minimalFS + "freeswitch:\n  address: localhost\n", []string{
			`hotline.yaml:16: freeswitch.address: "localhost" is not host:port of FreeSWITCH's event socket`,
		}},
		{"outbound listen", minimalFS + "freeswitch:\n  outbound_listen: 8084\n", []string{
			`hotline.yaml:16: freeswitch.outbound_listen: "8084" is not host:port for FreeSWITCH's socket application to connect to`,
		}},
		{"outbound listen port", minimalFS + "freeswitch:\n  outbound_listen: 127.0.0.1:80840\n", []string{
			`hotline.yaml:16: freeswitch.outbound_listen: "127.0.0.1:80840": port "80840" is not a number from 1 to 65535`,
		}},
		{"recording dir", minimalFS + "freeswitch:\n  recording_dir: rec/../x\n", []string{
			`hotline.yaml:16: freeswitch.recording_dir: "rec/../x" is not an absolute path of letters, digits, / . _ -`,
		}},
		{"no recording dir", strings.Replace(minimalFS, "  dir: /var/lib/freeswitch/recordings\n", "  format: wav\n", 1), []string{
			`hotline.yaml:4: recording.dir: "" is not an absolute path of letters, digits, / . _ - (FreeSWITCH is given it; or set freeswitch.recording_dir)`,
		}},
		{"recording format", strings.Replace(minimalFS, "recording:\n", "recording:\n  format: gsm\n", 1), []string{
			`hotline.yaml:5: recording.format: "gsm" is not one of wav`,
		}},
		{"endpoints", `switch: freeswitch
database: {url: postgres://h/db}
recording: {dir: /rec}
queues: [{id: general}]
agents:
  - {id: "1001", endpoint: user/agent1}
  - {id: "1002", endpoint: sofia/internal/agent2@10.0.0.9}
  - {id: "1003", endpoint: PJSIP/agent3}
  - {id: "1004", endpoint: "user/a b"}
  - {id: "1005", endpoint: user/agent1}
  - {id: "1006", endpoint: sofia/agent6}
`, []string{
			`hotline.yaml:8: agents[2].endpoint: "PJSIP/agent3" is not of the form user/name or sofia/profile/destination (switch: freeswitch)`,
			`hotline.yaml:9: agents[3].endpoint: "user/a b" is not of the form user/name or sofia/profile/destination (switch: freeswitch)`,
			`hotline.yaml:10: agents[4].endpoint: user/agent1 is already the endpoint of agent "1001"`,
			`hotline.yaml:11: agents[5].endpoint: "sofia/agent6" is not of the form user/name or sofia/profile/destination (switch: freeswitch)`,
		}},
		{"user endpoint on asterisk", strings.Replace(minimal, "PJSIP/agent1", "user/agent1", 1), []string{
			`hotline.yaml:10: agents[0].endpoint: "user/agent1" is not of the form PJSIP/name`,
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
	// Asterisk settings are not checked when hotline drives FreeSWITCH.
	cfg, err := Parse("hotline.yaml", []byte(minimalFS+"asterisk:\n  url: nonsense\n"), env())
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("freeswitch config with unused asterisk settings: %v", err)
	}
}

func TestCheckSecretsFreeSWITCH(t *testing.T) {
	const prod = "mode: production\n"
	tests := []struct {
		name string
		src  string
		env  []string
		want []string // nil: no error
	}{
		{"dev, password set, no ARI password needed", minimalFS, []string{EnvESLPassword, "Zq8-esl"}, nil},
		{"dev, no password", minimalFS, []string{EnvARIPassword, "ari-only"}, []string{
			"freeswitch event socket password is empty: set HOTLINE_ESL_PASSWORD"}},
		{"dev, blank password", minimalFS, []string{EnvESLPassword, " \t"}, []string{
			"freeswitch event socket password is empty: set HOTLINE_ESL_PASSWORD"}},
		{"dev, ClueCon", minimalFS, []string{EnvESLPassword, "ClueCon"}, []string{
			"HOTLINE_ESL_PASSWORD is FreeSWITCH's default ClueCon: set a password of your own in event_socket.conf.xml and here"}},
		{"dev, cluecon any case", minimalFS, []string{EnvESLPassword, "cluecon"}, []string{
			"HOTLINE_ESL_PASSWORD is FreeSWITCH's default ClueCon: set a password of your own in event_socket.conf.xml and here"}},
		{"dev, two words", minimalFS, []string{EnvESLPassword, "two words"}, []string{
			"HOTLINE_ESL_PASSWORD must be one word: no spaces or line breaks"}},
		{"dev, well-known allowed", minimalFS, []string{EnvESLPassword, "secret"}, nil},
		{"prod, good", prod + minimalFS, []string{EnvESLPassword, "Zq8-esl", EnvAPIToken, "t0k3n-long"}, nil},
		{"prod, well-known", prod + minimalFS, []string{EnvESLPassword, "password", EnvAPIToken, "t0k3n-long"}, []string{
			"HOTLINE_ESL_PASSWORD is a well-known default password: refused in production mode"}},
		{"prod, nothing set", prod + minimalFS, nil, []string{
			"freeswitch event socket password is empty: set HOTLINE_ESL_PASSWORD",
			"api token is empty: set HOTLINE_API_TOKEN (required in production mode)",
		}},
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

// The shipped example switched to FreeSWITCH (switch: freeswitch, agents
// on user/NAME) loads, validates and passes CheckSecrets as it is.
func TestExampleFileOnFreeSWITCH(t *testing.T) {
	data, err := os.ReadFile("../../hotline.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), "\nswitch: asterisk\n", "\nswitch: freeswitch\n", 1)
	src = strings.ReplaceAll(src, "endpoint: PJSIP/", "endpoint: user/")
	if src == string(data) {
		t.Fatal("example has no `switch: asterisk` line")
	}
	cfg, err := Parse("hotline.example.yaml", []byte(src), env(EnvESLPassword, "Zq8-esl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckSecrets(); err != nil {
		t.Fatal(err)
	}
	if cfg.FreeSWITCH.Address != "127.0.0.1:8021" || cfg.Agents[0].Endpoint != "user/agent1" {
		t.Errorf("example on FreeSWITCH: %+v %+v", cfg.FreeSWITCH, cfg.Agents[0])
	}
}

// The configuration docker-compose.yml gives hotline on FreeSWITCH loads,
// validates and passes the production checks with its secrets set.
func TestComposeFreeSWITCHConfig(t *testing.T) {
	data, err := os.ReadFile("../../freeswitch-conf/hotline-freeswitch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("hotline-freeswitch.yaml", data, func(k string) string {
		return map[string]string{EnvESLPassword: "Zq8-esl", "HOTLINE_DATABASE_URL": "postgres://hotline:x@127.0.0.1/hotline",
			"HOTLINE_API_TOKEN": "t0ken-for-the-test"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckSecrets(); err != nil {
		t.Fatal(err)
	}
	if cfg.Switch != SwitchFreeSWITCH || cfg.FreeSWITCH.OutboundListen != "127.0.0.1:8084" || !cfg.Production() {
		t.Errorf("compose config: %+v", cfg.FreeSWITCH)
	}
}
