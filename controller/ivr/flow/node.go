package flow

import (
	"time"

	"github.com/expr-lang/expr/types"
)

// Kind is a node kind.
type Kind string

// Node kinds.
const (
	KindPlay      Kind = "play"      // play prompts and say-* items
	KindMenu      Kind = "menu"      // one key chooses the next node
	KindCollect   Kind = "collect"   // several digits into a variable
	KindLookup    Kind = "lookup"    // a named SQL query or an HTTP GET
	KindCondition Kind = "condition" // branch on expressions
	KindSet       Kind = "set"       // assign variables
	KindQueue     Kind = "queue"     // end: queue for an agent
	KindTransfer  Kind = "transfer"  // end: transfer to a number or service
	KindRecord    Kind = "record"    // record a message (voicemail)
	KindSurvey    Kind = "survey"    // a keypad satisfaction score
	KindHangup    Kind = "hangup"    // end: say goodbye and release
	KindGoto      Kind = "goto"      // jump
	KindFlow      Kind = "flow"      // run a sub-flow, then continue
	KindNotice    Kind = "notice"    // play active notices for the caller's area
)

var kinds = []Kind{KindPlay, KindMenu, KindCollect, KindLookup, KindCondition, KindSet, KindQueue,
	KindTransfer, KindRecord, KindSurvey, KindHangup, KindGoto, KindFlow, KindNotice}

// Built-in targets, usable wherever a node names where to go next.
const (
	TargetAgent   = "agent"   // to an agent (the flow's agent: queue)
	TargetRelease = "release" // goodbye and release
	TargetEnd     = "end"     // end: served in self-service
	TargetReturn  = "return"  // back to the calling flow (end in the main flow)
	TargetRepeat  = "repeat"  // ask again (on_timeout of menu, collect, survey)
)

var builtinTargets = []string{TargetAgent, TargetRelease, TargetEnd, TargetReturn, TargetRepeat}

// Target is where a node goes next: a node of the same flow or a built-in.
type Target struct {
	Name string
	Pos  Pos
	node int // index in Flow.Nodes; -1 for a built-in
}

// IsBuiltin reports whether the target is a built-in (agent, release, ...).
func (t Target) IsBuiltin() bool { return t.node < 0 }

// Set reports whether the target was given.
func (t Target) Set() bool { return t.Name != "" }

// SayKind is what a say item renders.
type SayKind int

// Say item kinds.
const (
	SayPrompt SayKind = iota // a prompt from prompts.txt
	SayNumber                // an integer
	SayMoney                 // an amount in cents (fen)
	SayDate                  // a date (time or "YYYY-MM-DD")
	SayDigits                // digit by digit
)

// SayItem is one entry of a say list.
type SayItem struct {
	Kind   SayKind
	Prompt string // SayPrompt
	Expr   *Expr  // the others
	Pos    Pos
}

// Option is one menu choice.
type Option struct {
	Key string
	To  Target
}

// Branch is one condition case.
type Branch struct {
	If *Expr
	To Target
}

// Assign is one assignment of a set node.
type Assign struct {
	Var   string
	Value *Expr
}

// Skill is a required agent skill with its minimum level.
type Skill struct {
	Name  string `json:"name"`
	Level int    `json:"level"`
}

// Arg is one lookup parameter or HTTP query parameter.
type Arg struct {
	Name  string
	Value *Expr
}

// HTTPSpec is an HTTP GET lookup: a full URL, or a named endpoint of the
// installation (hotline's ivr.http_endpoints) and a path under its base
// URL; plus query parameters (URL-encoded values of expressions).
type HTTPSpec struct {
	URL      string // url: an absolute http(s) URL; "" with Endpoint
	Endpoint string // endpoint: the endpoint's name; "" with URL
	Path     string // path: under the endpoint's base URL ("" or starting with '/')
	Params   []Arg
}

// Name is how the lookup is named in the trail, the logs and fixtures:
// the URL, or the endpoint's name followed by the path
// ("broadband_status/v1/line").
func (h *HTTPSpec) Name() string {
	if h.Endpoint != "" {
		return h.Endpoint + h.Path
	}
	return h.URL
}

// Node is one compiled step of a flow. Fields are set by kind.
type Node struct {
	ID     string
	Kind   Kind
	Pos    Pos
	Served bool // reaching it counts the call as served in self-service

	Next Target
	Say  []SayItem

	Interrupt bool // play, notice: a key stops the prompt (default true)
	ZeroOut   bool // menu, collect, survey, play: the zero-out key reaches an agent

	// menu
	Options   []Option
	Timeout   time.Duration
	OnTimeout Target

	// invalid-input handling (menu, collect, survey)
	InvalidSay   []SayItem
	MaxInvalid   int
	OnMaxInvalid Target

	// collect, survey
	Min, Max   int
	Terminator string
	InterDigit time.Duration
	Validate   *Expr
	Secret     bool
	Into       string // variable the value goes to

	// lookup
	Query         *Query
	Args          []Arg
	HTTP          *HTTPSpec
	Fields        []Column // result fields (query columns or HTTP fields)
	LookupTimeout time.Duration
	OnError       Target

	// condition
	When []Branch
	Else Target

	// set
	Set []Assign

	// queue
	Service  string
	Skills   []Skill
	Priority *Expr

	// transfer: Number or Service
	Number *Expr

	// record
	MaxRecord time.Duration

	// hangup
	Outcome string // contained or released

	// flow
	Flow string
	sub  *Flow

	// notice
	NoticeKinds []string
	Area        *Expr
}

// Rules are a flow's built-in operator rules.
type Rules struct {
	NoInput      time.Duration // no key for this long (waiting) → goodbye, release
	MaxInvalid   int           // invalid entries before OnMaxInvalid
	OnMaxInvalid string        // agent or release
	ZeroOut      string        // the key that reaches an agent; "" = none
	Emergency    bool          // play active emergency notices before the first menu
	Goodbye      string        // prompt played on release
	Invalid      string        // prompt played on an invalid entry
}

// DefaultRules are the operator's defaults (see ivr.DefaultRules).
func DefaultRules() Rules {
	return Rules{NoInput: 60 * time.Second, MaxInvalid: 3, OnMaxInvalid: TargetAgent, ZeroOut: "0",
		Emergency: true, Goodbye: "goodbye", Invalid: "invalid"}
}

// VarDecl is a declared flow variable.
type VarDecl struct {
	Name   string
	Type   VarType
	Init   any
	Fields []Column // TypeLookup
	Pos    Pos
}

// Flow is one compiled flow file.
type Flow struct {
	Name  string
	File  string
	Lang  string
	Rules Rules
	// Agent is where the built-in agent target queues the call.
	Agent QueueTarget
	Vars  []VarDecl
	Nodes []*Node
	Start int

	byID map[string]int
	env  types.Map
}

// Node returns the node with the given id, or nil.
func (f *Flow) Node(id string) *Node {
	if i, ok := f.byID[id]; ok {
		return f.Nodes[i]
	}
	return nil
}
