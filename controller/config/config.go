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
	Switch string `yaml:"switch"`
	// ReconcileEvery is how often hotline compares its calls and busy
	// agents with the switch's channel list (30 s): a hang-up it did not
	// hear of must not leave a call running or an agent ON_CALL. It also
	// happens after every reconnect.
	ReconcileEvery time.Duration `yaml:"reconcile_every"`
	// CommandTimeout is how long hotline waits for the switch's reply to
	// a command (10 s). An answer or hang-up not confirmed in time is
	// asked for again; other commands count as failed.
	CommandTimeout time.Duration `yaml:"command_timeout"`
	Asterisk       Asterisk      `yaml:"asterisk"`
	FreeSWITCH     FreeSWITCH    `yaml:"freeswitch"`
	API            API           `yaml:"api"`
	Recording      Recording     `yaml:"recording"`
	IVR            IVR           `yaml:"ivr"`
	Transfer       Transfer      `yaml:"transfer"`
	Queues         []Queue       `yaml:"queues"`
	Services       []Service     `yaml:"services"`
	Agents         []Agent       `yaml:"agents"`

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
	// OutboundListen is host:port where hotline accepts the connections
	// of FreeSWITCH's socket application (outbound mode), e.g.
	// "127.0.0.1:8084"; empty means inbound mode only (the dialplan
	// parks calls).
	OutboundListen string `yaml:"outbound_listen"`
	Password       string `yaml:"-"`
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
	// ScriptsDir holds the flow files (one per flow, NAME.yaml), the
	// prompts.txt they are checked against and the named queries
	// (queries.yaml). A flow with no version in Postgres yet is deployed
	// from here on the first start; after that `hotline ivr deploy`
	// changes it. Default "ivr-scripts".
	ScriptsDir string `yaml:"scripts_dir"`
	// NoInputTimeout, when set, replaces every flow's no-input time (no
	// key for this long → goodbye and release); 0 keeps each flow's own.
	NoInputTimeout time.Duration `yaml:"no_input_timeout"`
	// MaxInvalid, when set, replaces every flow's invalid-entry limit; 0
	// keeps each flow's own.
	MaxInvalid int `yaml:"max_invalid"`
	// HTTPEndpoints are the services flows' http lookups may call, by
	// name: name (a-z, 0-9, _) → base URL (http or https, no query,
	// fragment or credentials). A flow names one (http: {endpoint: NAME,
	// path: /v1/line}) instead of carrying a host, so the same flow runs
	// at every installation.
	HTTPEndpoints map[string]string `yaml:"http_endpoints"`
}

// Transfer says how an IVR flow's transfer to an outside number is
// placed: hotline dials the number and bridges the caller to it.
type Transfer struct {
	// Dial is the endpoint template, {number} standing for the number,
	// as queues[].callback.dial. Empty: flows' transfers to numbers are
	// not placed and the caller goes to an agent instead.
	Dial string `yaml:"dial"`
	// Allow lists the number prefixes a flow may transfer to ("95",
	// "+8610", ...). A flow may dial a number a caller keyed, so a
	// number matching none is refused (the caller goes to an agent):
	// the IVR must not become a free line to anywhere. Required with
	// Dial.
	Allow []string `yaml:"allow"`
	// RingTimeout is how long the number may ring (30 s); then the
	// caller goes to an agent.
	RingTimeout time.Duration `yaml:"ring_timeout"`
}

// Queue is one ACD queue.
type Queue struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	Strategy string `yaml:"strategy"` // one of Strategies() (longest-idle)
	// Weights tune the weighted-skill-idle strategy (only with it).
	Weights     *Weights      `yaml:"weights"`
	RingTimeout time.Duration `yaml:"ring_timeout"` // per agent offer (15 s)
	WrapUp      time.Duration `yaml:"wrap_up"`      // after-call work (10 s)
	// WrapUpMaxExtension is how much after-call work an agent may add
	// after a call of this queue, in all (60 s; 0s: none).
	WrapUpMaxExtension time.Duration `yaml:"wrap_up_max_extension"`
	// Skills every call of the queue requires: skill → minimum level 1-10.
	Skills map[string]int `yaml:"skills"`
	// Overflow steps by time in queue, in increasing order of After.
	Overflow []Overflow `yaml:"overflow"`
	// MaxWait: after this long in queue, offer a callback, take a
	// voicemail or release (optional).
	MaxWait *MaxWait `yaml:"max_wait"`
	// Callback is the retry policy for callbacks of the queue, and how
	// the customer is dialled.
	Callback QueueCallback `yaml:"callback"`
	// AnnounceEvery: while waiting, callers hear their position and
	// expected wait this often (0: never; otherwise at least 5s).
	AnnounceEvery time.Duration `yaml:"announce_every"`
	// InitialAHT is the handle time (talk, hold and wrap-up per call) the
	// queue's expected-wait estimate starts from, until the queue's own
	// calls teach it better (3m). Set it near the queue's real handle
	// time so that the first callers after a start hear a sensible wait.
	InitialAHT time.Duration `yaml:"initial_aht"`
	// ServiceLevelWithin is the service level's threshold: a call
	// answered within it of joining the queue was answered in time (20s).
	ServiceLevelWithin time.Duration `yaml:"service_level_within"`
}

// Weights are the weighted-skill-idle strategy's parameters: score =
// skill × mean level/10 + idle × min(idle time/idle_scale, 1).
type Weights struct {
	Skill     float64       `yaml:"skill"`      // 1
	Idle      float64       `yaml:"idle"`       // 1
	IdleScale time.Duration `yaml:"idle_scale"` // 5m
}

// Overflow is one overflow step of a queue: after After in queue, lower
// the required levels to MinLevel, let agents with any of AddSkills take
// the call too, and/or move it to ToQueue keeping its place.
type Overflow struct {
	After     time.Duration  `yaml:"after"`
	MinLevel  int            `yaml:"min_level"`
	AddSkills map[string]int `yaml:"add_skills"`
	ToQueue   string         `yaml:"to_queue"`
}

// MaxWait is a queue's limit on waiting: after After, Action (callback,
// voicemail or release), announced by Prompt.
type MaxWait struct {
	After  time.Duration `yaml:"after"`
	Action string        `yaml:"action"`
	Prompt string        `yaml:"prompt"`
}

// QueueCallback is a queue's callback retry policy.
type QueueCallback struct {
	Attempts    int           `yaml:"attempts"`     // dials before giving up (3)
	Interval    time.Duration `yaml:"interval"`     // between attempts (5m)
	DialTimeout time.Duration `yaml:"dial_timeout"` // an agent reserved for a dial without news is freed (2m)
	// Dial is the endpoint a callback's customer is dialled at, with
	// {number} standing for the customer's number, e.g.
	// "PJSIP/{number}@pstn" (Asterisk) or "sofia/external/{number}@carrier"
	// (FreeSWITCH). Empty: the queue takes no callbacks.
	Dial string `yaml:"dial"`
	// HoldMax is how long a customer-first callback's customer, who has
	// answered, waits for an agent (the one reserved did not answer and
	// no other is free) before hearing that they will be called again
	// (2m). The callback then counts an attempt and is retried.
	HoldMax time.Duration `yaml:"hold_max"`
}

// Service is one service number entering the platform.
type Service struct {
	Number string `yaml:"number"`
	Name   string `yaml:"name"`
	Queue  string `yaml:"queue"`
	// Flow is the IVR flow callers run first (a file NAME.yaml in
	// ivr.scripts_dir); "main" when empty; "none" sends callers straight
	// to the queue.
	Flow string `yaml:"flow"`
	// Survey is the flow a caller is sent to when the agent ends the call
	// (a post-call satisfaction survey); empty: none.
	Survey string `yaml:"survey"`
}

// Agent is one agent seat.
type Agent struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Endpoint string   `yaml:"endpoint"` // e.g. PJSIP/agent1; user/agent1 on FreeSWITCH
	Queues   []string `yaml:"queues"`
	// Skills: skill → level, 1 (novice) to 10 (expert).
	Skills map[string]int `yaml:"skills"`
}
