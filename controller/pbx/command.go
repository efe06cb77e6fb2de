package pbx

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Command is one instruction to the switch. Each is a plain value; a
// driver renders it to wire text in one place. Validate is called by
// drivers before anything is sent.
type Command interface {
	Validate() error
}

// Answer answers an inbound channel.
type Answer struct{ Channel ChannelID }

// Hangup ends a channel. Reason is one of "normal", "busy", "congestion",
// "no_answer"; empty means normal.
type Hangup struct {
	Channel ChannelID
	Reason  string
}

// Play plays media to a channel, in order. Media entries are
// "sound:NAME" (a prompt file without extension), "digits:123",
// "number:45", or "silence:SECONDS".
type Play struct {
	Channel ChannelID
	ID      PlaybackID
	Media   []string
}

// StopPlayback stops a playback early.
type StopPlayback struct{ ID PlaybackID }

// StartMOH starts music on hold on a channel; Class empty means default.
type StartMOH struct {
	Channel ChannelID
	Class   string
}

// StopMOH stops music on hold.
type StopMOH struct{ Channel ChannelID }

// Ring indicates ringing to an inbound channel that is not yet answered.
type Ring struct{ Channel ChannelID }

// Originate places a call to Endpoint ("PJSIP/agent1"). The new channel
// gets ID, and comes under hotline's control, with Args, when it answers.
type Originate struct {
	ID         ChannelID
	Endpoint   string
	CallerID   string // number shown to the called party
	CallerName string
	Timeout    time.Duration // ring time before the switch gives up
	Args       []string
}

// CreateBridge creates a mixing bridge.
type CreateBridge struct{ ID BridgeID }

// AddToBridge puts channels into a bridge.
type AddToBridge struct {
	Bridge   BridgeID
	Channels []ChannelID
}

// RemoveFromBridge takes a channel out of a bridge.
type RemoveFromBridge struct {
	Bridge  BridgeID
	Channel ChannelID
}

// DestroyBridge tears a bridge down; its channels stay up.
type DestroyBridge struct{ Bridge BridgeID }

// RecordBridge records the mixed audio of a bridge to Name.Format.
type RecordBridge struct {
	Bridge BridgeID
	Name   RecordingName
	Format string // "wav"
	// MaxDuration bounds the recording; zero means no limit.
	MaxDuration time.Duration
}

// StopRecording ends a live recording and keeps the file.
type StopRecording struct{ Name RecordingName }

// RecordChannel records what a caller says (a voice message) to
// Name.Format, after a beep, until MaxDuration, MaxSilence of silence or
// the TerminateOn key ("#", "*" or "" for none).
type RecordChannel struct {
	Channel     ChannelID
	Name        RecordingName
	Format      string
	MaxDuration time.Duration
	MaxSilence  time.Duration
	TerminateOn string
}

// PauseRecording pauses a live recording (the caller keys a card number
// or password); ResumeRecording goes on with it.
type PauseRecording struct{ Name RecordingName }

// ResumeRecording resumes a paused recording.
type ResumeRecording struct{ Name RecordingName }

// Hold puts a channel on hold (the switch plays its hold music).
type Hold struct{ Channel ChannelID }

// Unhold takes a channel off hold.
type Unhold struct{ Channel ChannelID }

var (
	endpointPattern = regexp.MustCompile(`^(PJSIP|SIP|sofia/[A-Za-z0-9_.-]+|user)/[A-Za-z0-9+][A-Za-z0-9_.+-]{0,63}(@[A-Za-z0-9_.-]{1,253})?$`)
	mediaPattern    = regexp.MustCompile(`^(sound:[A-Za-z0-9][A-Za-z0-9_/-]{0,127}|digits:[0-9*#]{1,32}|number:-?[0-9]{1,15}|silence:[0-9]{1,2})$`)
	callerPattern   = regexp.MustCompile(`^\+?[0-9*#]{0,32}$`)
	namePattern     = regexp.MustCompile(`^[A-Za-z0-9 ._'-]{0,64}$`)
	formatPattern   = regexp.MustCompile(`^(wav|gsm|ulaw|alaw|sln)$`)
	reasons         = map[string]bool{"": true, "normal": true, "busy": true, "congestion": true, "no_answer": true}
)

func invalid(cmd, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, cmd, fmt.Sprintf(format, args...))
}

// Validate implements Command.
func (c Answer) Validate() error { return checkID("Answer.Channel", string(c.Channel)) }

// Validate implements Command.
func (c Hangup) Validate() error {
	if !reasons[c.Reason] {
		return invalid("Hangup", "unknown reason %q", c.Reason)
	}
	return checkID("Hangup.Channel", string(c.Channel))
}

// Validate implements Command.
func (c Play) Validate() error {
	if err := checkID("Play.Channel", string(c.Channel)); err != nil {
		return err
	}
	if err := checkID("Play.ID", string(c.ID)); err != nil {
		return err
	}
	if len(c.Media) == 0 {
		return invalid("Play", "no media")
	}
	for _, m := range c.Media {
		if !mediaPattern.MatchString(m) || strings.Contains(m, "..") {
			return invalid("Play", "media %q is not sound:NAME, digits:N, number:N or silence:N", m)
		}
	}
	return nil
}

// Validate implements Command.
func (c StopPlayback) Validate() error { return checkID("StopPlayback.ID", string(c.ID)) }

// Validate implements Command.
func (c StartMOH) Validate() error {
	if c.Class != "" && !ValidID(c.Class) {
		return invalid("StartMOH", "class %q", c.Class)
	}
	return checkID("StartMOH.Channel", string(c.Channel))
}

// Validate implements Command.
func (c StopMOH) Validate() error { return checkID("StopMOH.Channel", string(c.Channel)) }

// Validate implements Command.
func (c Ring) Validate() error { return checkID("Ring.Channel", string(c.Channel)) }

// Validate implements Command.
func (c Originate) Validate() error {
	if err := checkID("Originate.ID", string(c.ID)); err != nil {
		return err
	}
	if !endpointPattern.MatchString(c.Endpoint) {
		return invalid("Originate", "endpoint %q is not TECH/resource", c.Endpoint)
	}
	if !callerPattern.MatchString(c.CallerID) {
		return invalid("Originate", "caller ID %q is not a number", c.CallerID)
	}
	if !namePattern.MatchString(c.CallerName) {
		return invalid("Originate", "caller name %q has characters outside [A-Za-z0-9 ._'-]", c.CallerName)
	}
	if c.Timeout < 0 || c.Timeout > 10*time.Minute {
		return invalid("Originate", "timeout %s out of range", c.Timeout)
	}
	for _, a := range c.Args {
		if !ValidID(a) {
			return invalid("Originate", "arg %q", a)
		}
	}
	return nil
}

// Validate implements Command.
func (c CreateBridge) Validate() error { return checkID("CreateBridge.ID", string(c.ID)) }

// Validate implements Command.
func (c AddToBridge) Validate() error {
	if len(c.Channels) == 0 {
		return invalid("AddToBridge", "no channels")
	}
	for _, ch := range c.Channels {
		if err := checkID("AddToBridge.Channels", string(ch)); err != nil {
			return err
		}
	}
	return checkID("AddToBridge.Bridge", string(c.Bridge))
}

// Validate implements Command.
func (c RemoveFromBridge) Validate() error {
	if err := checkID("RemoveFromBridge.Channel", string(c.Channel)); err != nil {
		return err
	}
	return checkID("RemoveFromBridge.Bridge", string(c.Bridge))
}

// Validate implements Command.
func (c DestroyBridge) Validate() error { return checkID("DestroyBridge.Bridge", string(c.Bridge)) }

// Validate implements Command.
func (c RecordBridge) Validate() error {
	if err := checkID("RecordBridge.Bridge", string(c.Bridge)); err != nil {
		return err
	}
	if !formatPattern.MatchString(c.Format) {
		return invalid("RecordBridge", "format %q", c.Format)
	}
	if c.MaxDuration < 0 {
		return invalid("RecordBridge", "negative max duration")
	}
	return checkID("RecordBridge.Name", string(c.Name))
}

// Validate implements Command.
func (c StopRecording) Validate() error { return checkID("StopRecording.Name", string(c.Name)) }

// Validate implements Command.
func (c RecordChannel) Validate() error {
	if err := checkID("RecordChannel.Channel", string(c.Channel)); err != nil {
		return err
	}
	if !formatPattern.MatchString(c.Format) {
		return invalid("RecordChannel", "format %q", c.Format)
	}
	if c.MaxDuration <= 0 || c.MaxSilence < 0 {
		return invalid("RecordChannel", "max duration %s, max silence %s: need a positive limit", c.MaxDuration, c.MaxSilence)
	}
	switch c.TerminateOn {
	case "", "#", "*":
	default:
		return invalid("RecordChannel", "terminate on %q: want #, * or nothing", c.TerminateOn)
	}
	return checkID("RecordChannel.Name", string(c.Name))
}

// Validate implements Command.
func (c PauseRecording) Validate() error { return checkID("PauseRecording.Name", string(c.Name)) }

// Validate implements Command.
func (c ResumeRecording) Validate() error { return checkID("ResumeRecording.Name", string(c.Name)) }

// Validate implements Command.
func (c Hold) Validate() error { return checkID("Hold.Channel", string(c.Channel)) }

// Validate implements Command.
func (c Unhold) Validate() error { return checkID("Unhold.Channel", string(c.Channel)) }
