package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/pbx"
)

// Environment variables hotline reads secrets from. Secrets are never read
// from the file.
const (
	EnvARIPassword = "HOTLINE_ARI_PASSWORD"
	EnvAPIToken    = "HOTLINE_API_TOKEN"
	EnvDatabaseURL = "HOTLINE_DATABASE_URL"
	EnvESLPassword = "HOTLINE_ESL_PASSWORD"
)

// The switches hotline drives (the switch setting).
const (
	SwitchAsterisk   = "asterisk"
	SwitchFreeSWITCH = "freeswitch"
)

// Default returns the configuration used for every setting the file leaves
// out.
func Default() *Config {
	return &Config{
		Mode:           "development",
		Log:            Log{Level: "info", Format: "text"},
		Switch:         SwitchAsterisk,
		ReconcileEvery: DefaultReconcileEvery,
		CommandTimeout: pbx.DefaultCommandTimeout,
		Asterisk: Asterisk{
			URL:      "http://127.0.0.1:8088",
			Username: "hotline",
			App:      "hotline",
		},
		FreeSWITCH: FreeSWITCH{Address: "127.0.0.1:8021"},
		API:        API{Listen: "127.0.0.1:8089"},
		Recording:  Recording{Format: "wav"},
		IVR:        IVR{ScriptsDir: "ivr-scripts"},
	}
}

// DefaultReconcileEvery is how often calls and agents are checked against
// the switch's channel list.
const DefaultReconcileEvery = 30 * time.Second

// Per-queue defaults, applied to each queue that leaves them out.
const (
	DefaultStrategy    = "longest-idle"
	DefaultRingTimeout = 15 * time.Second
	DefaultWrapUp      = 10 * time.Second
	// DefaultWrapUpMaxExtension is how much after-call work an agent may
	// add after a call.
	DefaultWrapUpMaxExtension = 60 * time.Second
	DefaultCallbackAttempts   = 3
	DefaultCallbackInterval   = 5 * time.Minute
	DefaultCallbackDial       = 2 * time.Minute
	DefaultTransferRing       = 30 * time.Second
	DefaultCallbackHoldMax    = 2 * time.Minute
	// Weighted-skill-idle defaults.
	DefaultSkillWeight = 1.0
	DefaultIdleWeight  = 1.0
	DefaultIdleScale   = 5 * time.Minute
	// DefaultServiceLevelWithin is a queue's service level threshold.
	DefaultServiceLevelWithin = 20 * time.Second
	// DefaultInitialAHT is the handle time a queue's expected-wait
	// estimate starts from: the ACD's own default.
	DefaultInitialAHT = acd.DefaultAHT
)

// Load reads the configuration file at path strictly (unknown keys are
// errors), applies defaults and takes secrets from the environment
// (HOTLINE_ARI_PASSWORD, HOTLINE_ESL_PASSWORD, HOTLINE_API_TOKEN,
// HOTLINE_DATABASE_URL). Errors in
// the file are returned as Problems naming path:line. Load does not call
// Validate.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, os.Getenv)
}

// Parse is Load on data already read; name is used in error messages and
// getenv supplies the environment (os.Getenv in production, a map in tests).
func Parse(name string, data []byte, getenv func(string) string) (*Config, error) {
	cfg := Default()
	cfg.file = name

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	switch {
	case errors.Is(err, io.EOF):
		// An empty file: all defaults.
	case err != nil:
		return nil, translate(name, data, err)
	default:
		var extra yaml.Node
		if err := dec.Decode(&extra); err == nil {
			return nil, Problems{{File: name, Line: extra.Line, Msg: "a second YAML document (---) is not allowed: put everything in one"}}
		} else if !errors.Is(err, io.EOF) {
			return nil, translate(name, data, err)
		}
	}

	idx := newIndex(data)
	cfg.lines = idx.lines
	if !idx.has("transfer.ring_timeout") {
		cfg.Transfer.RingTimeout = DefaultTransferRing
	}
	for i := range cfg.Queues {
		q := &cfg.Queues[i]
		p := "queues[" + strconv.Itoa(i) + "]"
		if !idx.has(p+".strategy") && q.Strategy == "" {
			q.Strategy = DefaultStrategy
		}
		if !idx.has(p + ".ring_timeout") {
			q.RingTimeout = DefaultRingTimeout
		}
		if !idx.has(p + ".wrap_up") {
			q.WrapUp = DefaultWrapUp
		}
		if !idx.has(p + ".wrap_up_max_extension") {
			q.WrapUpMaxExtension = DefaultWrapUpMaxExtension
		}
		if !idx.has(p + ".callback.attempts") {
			q.Callback.Attempts = DefaultCallbackAttempts
		}
		if !idx.has(p + ".callback.interval") {
			q.Callback.Interval = DefaultCallbackInterval
		}
		if !idx.has(p + ".callback.dial_timeout") {
			q.Callback.DialTimeout = DefaultCallbackDial
		}
		if !idx.has(p + ".callback.hold_max") {
			q.Callback.HoldMax = DefaultCallbackHoldMax
		}
		if !idx.has(p + ".initial_aht") {
			q.InitialAHT = DefaultInitialAHT
		}
		if !idx.has(p + ".service_level_within") {
			q.ServiceLevelWithin = DefaultServiceLevelWithin
		}
		if w := q.Weights; w != nil {
			if !idx.has(p + ".weights.skill") {
				w.Skill = DefaultSkillWeight
			}
			if !idx.has(p + ".weights.idle") {
				w.Idle = DefaultIdleWeight
			}
			if !idx.has(p + ".weights.idle_scale") {
				w.IdleScale = DefaultIdleScale
			}
		}
	}

	cfg.Asterisk.Password = getenv(EnvARIPassword)
	cfg.FreeSWITCH.Password = getenv(EnvESLPassword)
	cfg.API.Token = getenv(EnvAPIToken)
	if u := getenv(EnvDatabaseURL); u != "" {
		cfg.Database.URL = u
		cfg.dbURLFromEnv = true
	}
	return cfg, nil
}

// File is the file the configuration was loaded from ("" if built in code).
func (c *Config) File() string { return c.file }

// line returns the line where the setting at path is written, or the
// nearest enclosing setting that is, or 0.
func (c *Config) line(path string) int {
	for path != "" {
		if l, ok := c.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

// problem builds a Problem located at the setting path.
func (c *Config) problem(path, format string, args ...any) Problem {
	return Problem{File: c.file, Line: c.line(path), Path: path, Msg: fmt.Sprintf(format, args...)}
}

// index records where every setting of a YAML document is written.
type index struct {
	lines map[string]int // path → line of its key (or of the list item)
	nodes []indexed      // every value, for finding one by line
}

type indexed struct {
	path   string // "queues[0].ring_timeout"
	parent string // "queues[0]"
	key    string // "ring_timeout"; "" for list items
	keyLn  int    // line of the key
	value  *yaml.Node
}

func newIndex(data []byte) *index {
	idx := &index{lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return idx
	}
	idx.walk(doc.Content[0], "")
	return idx
}

func (idx *index) has(path string) bool { _, ok := idx.lines[path]; return ok }

func (idx *index) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if _, seen := idx.lines[p]; !seen {
				idx.lines[p] = k.Line
			}
			idx.nodes = append(idx.nodes, indexed{path: p, parent: path, key: k.Value, keyLn: k.Line, value: v})
			idx.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			idx.lines[p] = v.Line
			idx.nodes = append(idx.nodes, indexed{path: p, parent: path, keyLn: v.Line, value: v})
			idx.walk(v, p)
		}
	}
}

// key finds the mapping key written at line.
func (idx *index) key(line int, key string) (indexed, bool) {
	for _, e := range idx.nodes {
		if e.key == key && e.keyLn == line {
			return e, true
		}
	}
	return indexed{}, false
}

// value finds the value written at line whose text starts with prefix
// (yaml.v3 shortens long values in its messages).
func (idx *index) value(line int, prefix string) (indexed, bool) {
	for _, e := range idx.nodes {
		if e.value.Line == line && strings.HasPrefix(e.value.Value, prefix) {
			return e, true
		}
	}
	return indexed{}, false
}

var (
	reLine     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	reUnknown  = regexp.MustCompile(`^field (.+) not found in type \S+$`)
	reType     = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	reRepeated = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// translate turns yaml.v3's errors ("line 7: field foo not found in type
// config.Asterisk") into Problems naming the file, the line and the
// setting in the file's own words.
func translate(name string, data []byte, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	idx := newIndex(data)
	var ps Problems
	for _, m := range msgs {
		ps = append(ps, translateOne(name, idx, m))
	}
	return ps
}

func translateOne(name string, idx *index, msg string) Problem {
	p := Problem{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
	lm := reLine.FindStringSubmatch(msg)
	if lm == nil {
		if strings.HasPrefix(msg, "yaml: ") && !strings.Contains(msg, "anchor") {
			// yaml.v3 leaves the line out when the problem is on the
			// first one (its marks are 0-based).
			p.Line = 1
		}
		return p
	}
	p.Line, _ = strconv.Atoi(lm[1])
	p.Msg = lm[2]
	if parserProblem(p.Msg) {
		// yaml.v3 reports its parser's (not scanner's) marks 0-based.
		p.Line++
	}

	if m := reUnknown.FindStringSubmatch(p.Msg); m != nil {
		where := "the top level"
		if e, ok := idx.key(p.Line, m[1]); ok && e.parent != "" {
			where = e.parent
		}
		if where == "the top level" {
			p.Msg = fmt.Sprintf("field %q is not a known top-level setting", m[1])
		} else {
			p.Msg = fmt.Sprintf("field %q is not a known setting of %s", m[1], where)
		}
		return p
	}
	if m := reRepeated.FindStringSubmatch(p.Msg); m != nil {
		p.Msg = fmt.Sprintf("key %q is repeated (first at line %s)", m[1], m[2])
		return p
	}
	if m := reType.FindStringSubmatch(p.Msg); m != nil {
		tag, short, goType := m[1], strings.TrimSuffix(m[2], "..."), m[3]
		e, ok := idx.value(p.Line, short)
		value := short
		if ok {
			p.Path = e.path
			value = e.value.Value
		}
		found := describe(tag, value)
		switch {
		case goType == "time.Duration":
			p.Msg = fmt.Sprintf("%s is not a duration", found)
			if _, err := strconv.ParseFloat(value, 64); err == nil && tag != "!!str" {
				p.Msg += ` (give a unit, e.g. "15s")`
			}
		case goType == "int":
			p.Msg = fmt.Sprintf("%s is not a whole number", found)
		case goType == "float64":
			p.Msg = fmt.Sprintf("%s is not a number", found)
		case goType == "string":
			p.Msg = fmt.Sprintf("expected text, found %s", found)
		case strings.HasPrefix(goType, "[]"):
			p.Msg = fmt.Sprintf("expected a list, found %s", found)
		default:
			p.Msg = fmt.Sprintf("expected a mapping of settings, found %s", found)
		}
	}
	return p
}

// parserProblem reports whether msg is one of the problems yaml.v3's
// parser (as opposed to its scanner) reports; those carry a 0-based line.
func parserProblem(msg string) bool {
	switch msg {
	case "did not find expected <stream-start>",
		"did not find expected <document start>",
		"found undefined tag handle",
		"did not find expected node content",
		"did not find expected '-' indicator",
		"did not find expected key",
		"did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found duplicate %TAG directive":
		return true
	}
	return false
}

// describe names a YAML value as the user wrote it.
func describe(tag, value string) string {
	switch tag {
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	case "!!str":
		return strconv.Quote(value)
	default:
		return value
	}
}
