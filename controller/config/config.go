// Package config owns hotline's configuration file: its shape, strict
// parsing (unknown keys are errors naming file:line), defaults, secrets
// taken from the environment, and the checks that refuse to run in
// production with missing or well-known default secrets.
package config

import "time"

// Config is the whole configuration file.
type Config struct {
	// Mode is "development" (default) or "production". Production refuses
	// empty and well-known default secrets.
	Mode     string   `yaml:"mode"`
	Log      Log      `yaml:"log"`
	Database Database `yaml:"database"`
	// Switch is the media switch hotline drives: "asterisk" (default,
	// over ARI) or "freeswitch" (over the Event Socket).
	Switch     string     `yaml:"switch"`
	Asterisk   Asterisk   `yaml:"asterisk"`
	FreeSWITCH FreeSWITCH `yaml:"freeswitch"`
	API        API        `yaml:"api"`
	Recording  Recording  `yaml:"recording"`
	IVR        IVR        `yaml:"ivr"`
	Queues     []Queue    `yaml:"queues"`
	Services   []Service  `yaml:"services"`
	Agents     []Agent    `yaml:"agents"`

	// Where the configuration came from, for error messages; set by Load.
	file string
	// lines maps a setting's path ("queues[0].ring_timeout") to the line of
	// the file where it is written.
	lines map[string]int
	// dbURLFromEnv is true when HOTLINE_DATABASE_URL replaced Database.URL.
	dbURLFromEnv bool
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// Database says where Postgres is. The URL may carry no password in the
// file: set HOTLINE_DATABASE_URL to override the whole URL.
type Database struct {
	URL string `yaml:"url"`
}

// Asterisk says how to reach Asterisk's ARI. The password comes only from
// the environment variable HOTLINE_ARI_PASSWORD.
type Asterisk struct {
	URL      string `yaml:"url"`
	Username string `yaml:"username"`
	App      string `yaml:"app"`
	Password string `yaml:"-"`
}

// FreeSWITCH says how to reach FreeSWITCH's event socket
// (mod_event_socket). The password comes only from the environment
// variable HOTLINE_ESL_PASSWORD; FreeSWITCH's default ClueCon is refused.
type FreeSWITCH struct {
	Address string `yaml:"address"` // host:port of mod_event_socket
	// RecordingDir is where FreeSWITCH writes recordings, as FreeSWITCH
	// sees it (an absolute path); empty means recording.dir (FreeSWITCH
	// and hotline on one machine).
	RecordingDir string `yaml:"recording_dir"`
	Password     string `yaml:"-"`
}

// SwitchRecordingDir is the recording directory as the switch sees it.
func (c *Config) SwitchRecordingDir() string {
	if c.Switch == SwitchFreeSWITCH && c.FreeSWITCH.RecordingDir != "" {
		return c.FreeSWITCH.RecordingDir
	}
	return c.Recording.Dir
}

// API configures hotline's HTTP API. The bearer token comes only from the
// environment variable HOTLINE_API_TOKEN.
type API struct {
	Listen string `yaml:"listen"`
	Token  string `yaml:"-"`
}

// Recording says where the switch writes recordings, as hotline sees them.
type Recording struct {
	Dir    string `yaml:"dir"`
	Format string `yaml:"format"`
}

// IVR holds the operator's IVR rules.
type IVR struct {
	// NoInputTimeout: no key for this long → goodbye and release (60 s).
	NoInputTimeout time.Duration `yaml:"no_input_timeout"`
	// MaxInvalid: invalid keys before the caller is sent to an agent (3).
	MaxInvalid int `yaml:"max_invalid"`
}

// Queue is one ACD queue.
type Queue struct {
	ID          string        `yaml:"id"`
	Name        string        `yaml:"name"`
	Strategy    string        `yaml:"strategy"`     // longest-idle
	RingTimeout time.Duration `yaml:"ring_timeout"` // per agent offer (15 s)
	WrapUp      time.Duration `yaml:"wrap_up"`      // after-call work (10 s)
}

// Service is one service number entering the platform.
type Service struct {
	Number string `yaml:"number"`
	Name   string `yaml:"name"`
	Queue  string `yaml:"queue"`
	Flow   string `yaml:"flow"`
}

// Agent is one agent seat.
type Agent struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Endpoint string   `yaml:"endpoint"` // e.g. PJSIP/agent1; user/agent1 on FreeSWITCH
	Queues   []string `yaml:"queues"`
}
