package flow

import (
	"context"
	"time"

	"github.com/hotline-cc/hotline/controller/ivr"
)

// Session is what the interpreter needs from the call it runs on. The
// live implementation drives a switch channel; the simulator's fakes it on
// a fake clock. Every method returns ivr.ErrHungUp once the caller has
// hung up, and returns promptly when ctx ends.
type Session interface {
	// Play plays media in order (Asterisk-style URIs: "sound:hotline/
	// welcome", "number:12", "digits:0755"). A key pressed while it plays
	// stops it and is returned; "" means it played to the end. The
	// session trails the prompt and the key (kinds "prompt" and "key").
	Play(ctx context.Context, node string, media ...string) (key string, err error)
	// PlayAll plays media to the end: keys pressed meanwhile are
	// discarded. For announcements the caller must hear out.
	PlayAll(ctx context.Context, node string, media ...string) error
	// WaitKey waits up to d for a key; "" means none came. The session
	// trails the key.
	WaitKey(ctx context.Context, node string, d time.Duration) (key string, err error)
	// Trail appends one step to the call's IVR trail.
	Trail(node, kind, detail string)
	// Secret turns secret mode on or off. While it is on the caller is
	// keying a password or card number: the session pauses call
	// recording, and keys must not reach the trail, logs or anything
	// stored (the interpreter trails only "N digits").
	Secret(ctx context.Context, on bool) error
	// Record records the caller (a voicemail) for at most max, until a
	// key or silence ends it, and returns a reference to the recording.
	Record(ctx context.Context, node string, max time.Duration) (ref string, err error)
}

// Call is what the interpreter knows of a call when it starts.
type Call struct {
	Caller  string // the calling number
	Service string // the dialled service number
	Lang    string // "en" or "zh"; "" = the flow's lang
}

// Env is what a run may use besides the call: look-ups, notices, the
// clock and the log. Nil members: look-ups fail (their on_error branch),
// no notices, time.Now, slog.Default().
type Env struct {
	Lookups Lookups
	Notices Notices
	Now     func() time.Time
	Log     interface {
		Warn(msg string, args ...any)
	}
	// MaxSteps bounds nodes run without a caller key in between
	// (default 1000): a flow that loops without input stops with
	// ErrStepLimit instead of spinning.
	MaxSteps int
}

// QueueTarget is the queue a call goes to.
type QueueTarget struct {
	Service  string  `json:"service"` // "" = the service number's own queue
	Skills   []Skill `json:"skills,omitempty"`
	Priority int     `json:"priority"`
}

// TransferTarget is where a call is transferred: a checked number (digits
// with an optional leading +) or a named service, never both.
type TransferTarget struct {
	Number  string `json:"number,omitempty"`
	Service string `json:"service,omitempty"`
}

// Result is how a run ended.
type Result struct {
	Outcome ivr.Outcome `json:"-"`
	// OutcomeName is Outcome.String(), for JSON.
	OutcomeName string          `json:"outcome"`
	Node        string          `json:"node"` // the node it ended at (flow.node in a sub-flow)
	Queue       *QueueTarget    `json:"queue,omitempty"`
	Transfer    *TransferTarget `json:"transfer,omitempty"`
	// SurveyScore is the last survey score keyed, 0 when none.
	SurveyScore int    `json:"survey_score,omitempty"`
	Voicemail   string `json:"voicemail,omitempty"`
	// Vars are the final variables, formatted; secrets read "[redacted]".
	// A sub-flow's variables are prefixed with its name and a dot.
	Vars  map[string]string `json:"vars,omitempty"`
	Steps int               `json:"steps"`
}
