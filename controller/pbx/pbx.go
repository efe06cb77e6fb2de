package pbx

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ChannelID is the switch's identifier for one call leg.
type ChannelID string

// BridgeID identifies a mixing bridge on the switch.
type BridgeID string

// PlaybackID identifies one playback started by hotline.
type PlaybackID string

// RecordingName names a recording; the switch writes it as NAME.FORMAT.
type RecordingName string

// EventKind says what happened.
type EventKind uint8

// The events a driver delivers. Every driver maps its wire events onto
// these; a wire event with no meaning for hotline is not delivered.
const (
	_ EventKind = iota
	// ChannelStarted: a channel came under hotline's control: an inbound
	// call for a service number, or a channel hotline originated that
	// answered. Caller, Dialed and Args are set.
	ChannelStarted
	// ChannelRinging: an originated channel's far end is ringing.
	ChannelRinging
	// ChannelAnswered: the channel is up.
	ChannelAnswered
	// ChannelHungup: the channel is gone; Cause says why.
	ChannelHungup
	// DTMF: the caller pressed Digit.
	DTMF
	// PlaybackStarted and PlaybackFinished frame one Play command.
	PlaybackStarted
	PlaybackFinished
	// RecordingStarted, RecordingFinished and RecordingFailed frame one
	// Record command.
	RecordingStarted
	RecordingFinished
	RecordingFailed
	// ChannelEnteredBridge and ChannelLeftBridge report bridge membership.
	ChannelEnteredBridge
	ChannelLeftBridge
	// LinkDown: the connection to the switch was lost; events may be
	// missing until the next Resynced.
	LinkDown
	// Resynced: the link is (back) up; Snapshot holds what is live now.
	Resynced
	// ChannelHold and ChannelUnhold: the channel's phone put the call on
	// hold (a re-INVITE to sendonly or inactive) or took it off hold.
	// Drivers that cannot see this never deliver them.
	ChannelHold
	ChannelUnhold
)

var kindNames = [...]string{
	ChannelStarted: "ChannelStarted", ChannelRinging: "ChannelRinging",
	ChannelAnswered: "ChannelAnswered", ChannelHungup: "ChannelHungup",
	DTMF: "DTMF", PlaybackStarted: "PlaybackStarted", PlaybackFinished: "PlaybackFinished",
	RecordingStarted: "RecordingStarted", RecordingFinished: "RecordingFinished",
	RecordingFailed: "RecordingFailed", ChannelEnteredBridge: "ChannelEnteredBridge",
	ChannelLeftBridge: "ChannelLeftBridge", LinkDown: "LinkDown", Resynced: "Resynced",
	ChannelHold: "ChannelHold", ChannelUnhold: "ChannelUnhold",
}

func (k EventKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", k)
}

// Event is one thing that happened on the switch.
type Event struct {
	Kind      EventKind
	At        time.Time // the switch's timestamp where it gives one
	Channel   ChannelID
	Bridge    BridgeID
	Playback  PlaybackID
	Recording RecordingName
	Digit     string // DTMF: one of 0-9 * # A-D
	Caller    string // ChannelStarted: calling number
	Dialed    string // ChannelStarted: dialled number (the service number)
	Args      []string
	Cause     int    // ChannelHungup: Q.850 cause
	CauseText string // ChannelHungup: the switch's text for it
	Snapshot  *Snapshot
	// Seq is the driver's delivery sequence number, from 1, increasing
	// by one per delivered event for the life of the driver.
	Seq uint64
}

// ChannelState is the switch-neutral state of a channel.
type ChannelState string

// Channel states.
const (
	StateDown    ChannelState = "down"
	StateRinging ChannelState = "ringing" // ringing, inbound or outbound
	StateUp      ChannelState = "up"
)

// ChannelInfo describes one live channel in a Snapshot.
type ChannelInfo struct {
	ID      ChannelID
	Name    string // e.g. PJSIP/agent1-00000002
	State   ChannelState
	Caller  string
	Dialed  string
	Created time.Time
	// InApp is true when the channel is under hotline's control.
	InApp bool
}

// BridgeInfo describes one live bridge in a Snapshot.
type BridgeInfo struct {
	ID       BridgeID
	Channels []ChannelID
}

// Snapshot is what the switch reports live at one instant.
type Snapshot struct {
	Channels []ChannelInfo
	Bridges  []BridgeInfo
}

// Channel returns the channel with the given ID.
func (s *Snapshot) Channel(id ChannelID) (ChannelInfo, bool) {
	for _, c := range s.Channels {
		if c.ID == id {
			return c, true
		}
	}
	return ChannelInfo{}, false
}

// Bridge returns the bridge with the given ID.
func (s *Snapshot) Bridge(id BridgeID) (BridgeInfo, bool) {
	for _, b := range s.Bridges {
		if b.ID == id {
			return b, true
		}
	}
	return BridgeInfo{}, false
}

// Driver connects hotline to one switch.
type Driver interface {
	// Run connects, keeps the link up (reconnecting with back-off) and
	// delivers events on Events until ctx ends. It returns ctx's error, or
	// an error that retrying cannot fix (such as rejected credentials).
	Run(ctx context.Context) error
	// Events delivers events in wire order. The driver blocks when the
	// consumer falls behind; it never drops an event.
	Events() <-chan Event
	// Do sends one command and waits for the switch's reply to it.
	Do(ctx context.Context, cmd Command) error
	// Snapshot lists live channels and bridges.
	Snapshot(ctx context.Context) (Snapshot, error)
}

// Sentinel errors drivers wrap so callers can branch on them.
var (
	// ErrNotFound: the channel, bridge, playback or recording is gone.
	ErrNotFound = errors.New("pbx: not found")
	// ErrNotConnected: no link to the switch right now.
	ErrNotConnected = errors.New("pbx: not connected to the switch")
	// ErrAuth: the switch rejected hotline's credentials.
	ErrAuth = errors.New("pbx: switch rejected credentials")
	// ErrInvalid: the command failed validation and was not sent.
	ErrInvalid = errors.New("pbx: invalid command")
)

// idPattern is what any identifier hotline puts on the wire must match:
// nothing from a caller reaches a dial string or a header unchecked.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidID reports whether s is safe to use as an identifier on any wire.
func ValidID(s string) bool { return idPattern.MatchString(s) }

func checkID(field, s string) error {
	if !ValidID(s) {
		return fmt.Errorf("%w: %s %q must match %s", ErrInvalid, field, s, idPattern)
	}
	return nil
}
