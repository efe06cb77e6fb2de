package ari

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// The ARI JSON shapes hotline reads (Asterisk 22, rest-api/api-docs/*.json).
// Fields hotline does not use are left out; encoding/json ignores them.

type wireCaller struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type wireDialplan struct {
	Context string `json:"context"`
	Exten   string `json:"exten"`
	AppName string `json:"app_name"`
	AppData string `json:"app_data"`
}

type wireChannel struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	State        string       `json:"state"`
	Caller       wireCaller   `json:"caller"`
	Dialplan     wireDialplan `json:"dialplan"`
	CreationTime string       `json:"creationtime"`
}

type wireBridge struct {
	ID       string   `json:"id"`
	Channels []string `json:"channels"`
}

type wirePlayback struct {
	ID        string `json:"id"`
	TargetURI string `json:"target_uri"`
}

type wireRecording struct {
	Name      string `json:"name"`
	TargetURI string `json:"target_uri"`
	Cause     string `json:"cause"`
}

type wireEvent struct {
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Args      []string       `json:"args"`
	Channel   *wireChannel   `json:"channel"`
	Bridge    *wireBridge    `json:"bridge"`
	Playback  *wirePlayback  `json:"playback"`
	Recording *wireRecording `json:"recording"`
	Cause     int            `json:"cause"`
	CauseTxt  string         `json:"cause_txt"`
	Digit     string         `json:"digit"`
	Soft      bool           `json:"soft"`
}

type wireType struct {
	Type string `json:"type"`
}

// errMalformed marks a frame that is not an ARI event at all.
var errMalformed = errors.New("ari: malformed event")

// frame is one decoded ARI event.
type frame struct {
	Type    string    // the ARI event type, for logging
	Event   pbx.Event // what to deliver, when Deliver
	Deliver bool
	// SoftHangup: a ChannelHangupRequest made by Asterisk itself (an ARI
	// DELETE, a shutdown); its Cause is then soft-hangup flags, not Q.850.
	SoftHangup bool
}

// decodeEvent maps one WebSocket frame to a pbx.Event. Deliver is false
// for well-formed events hotline has no use for (unknown types, state
// changes other than Ringing and Up). ChannelHangupRequest is decoded
// (Event.Channel, Event.Cause) but not delivered: it is what the driver's
// hang-up tracking reads. StasisEnd and ChannelDestroyed both decode to
// ChannelHungup; the driver delivers one of them per channel (see
// hangups). err is set, wrapping errMalformed, when the frame is not
// valid JSON or an event lacks the object its type requires. It never
// panics.
// decodedTypes are the ARI event types hotline maps to pbx events (and
// ApplicationReplaced, which ends the link); the driver asks Asterisk for
// these only (setEventFilter).
var decodedTypes = []string{"ApplicationReplaced",
	"StasisStart", "StasisEnd", "ChannelHangupRequest", "ChannelStateChange", "ChannelDestroyed", "ChannelDtmfReceived",
	"PlaybackStarted", "PlaybackFinished",
	"RecordingStarted", "RecordingFinished", "RecordingFailed",
	"ChannelEnteredBridge", "ChannelLeftBridge", "ChannelHold", "ChannelUnhold"}

func decodeEvent(data []byte) (frame, error) {
	ev, typ, deliver, soft, err := decodeWire(data)
	return frame{Type: typ, Event: ev, Deliver: deliver, SoftHangup: soft}, err
}

func decodeWire(data []byte) (ev pbx.Event, typ string, deliver, soft bool, err error) {
	var t wireType
	if err := json.Unmarshal(data, &t); err != nil {
		return pbx.Event{}, "", false, false, fmt.Errorf("%w: %v", errMalformed, err)
	}
	typ = t.Type
	switch typ {
	case "ApplicationReplaced":
		// Another client opened an event socket for the same application;
		// Asterisk now sends this one nothing more. The driver treats it
		// as a lost link.
		return pbx.Event{}, typ, false, false, nil
	case "":
		return pbx.Event{}, "", false, false, fmt.Errorf("%w: no type", errMalformed)
	default:
		if !slices.Contains(decodedTypes, typ) {
			return pbx.Event{}, typ, false, false, nil
		}
	}
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return pbx.Event{}, typ, false, false, fmt.Errorf("%w: %s: %v", errMalformed, typ, err)
	}
	ev.At = parseTime(w.Timestamp)
	need := func(ok bool, what string) error {
		if ok {
			return nil
		}
		return fmt.Errorf("%w: %s without %s", errMalformed, typ, what)
	}
	switch typ {
	case "StasisStart":
		if err := need(w.Channel != nil && w.Channel.ID != "", "channel.id"); err != nil {
			return pbx.Event{}, typ, false, false, err
		}
		ev.Kind = pbx.ChannelStarted
		ev.Channel = pbx.ChannelID(w.Channel.ID)
		ev.Caller = w.Channel.Caller.Number
		ev.Dialed = w.Channel.Dialplan.Exten
		ev.Args = w.Args
		if ev.Args == nil {
			ev.Args = []string{}
		}
	case "ChannelStateChange":
		if err := need(w.Channel != nil && w.Channel.ID != "", "channel.id"); err != nil {
			return pbx.Event{}, typ, false, false, err
		}
		switch w.Channel.State {
		case "Ringing":
			ev.Kind = pbx.ChannelRinging
		case "Up":
			ev.Kind = pbx.ChannelAnswered
		default:
			return pbx.Event{}, typ, false, false, nil
		}
		ev.Channel = pbx.ChannelID(w.Channel.ID)
	case "ChannelHangupRequest":
		if err := need(w.Channel != nil && w.Channel.ID != "", "channel.id"); err != nil {
			return pbx.Event{}, typ, false, false, err
		}
		ev.Channel = pbx.ChannelID(w.Channel.ID)
		ev.Cause = w.Cause
		return ev, typ, false, w.Soft, nil
	case "StasisEnd":
		if err := need(w.Channel != nil && w.Channel.ID != "", "channel.id"); err != nil {
			return pbx.Event{}, typ, false, false, err
		}
		ev.Kind = pbx.ChannelHungup
		ev.Channel = pbx.ChannelID(w.Channel.ID)
	case "ChannelDestroyed":
		if err := need(w.Channel != nil && w.Channel.ID != "", "channel.id"); err != nil {
			return pbx.Event{}, typ, false, false, err
		}
		ev.Kind = pbx.ChannelHungup
		ev.Channel = pbx.ChannelID(w.Channel.ID)
		ev.Cause = w.Cause
		ev.CauseText = w.CauseTxt
	case "ChannelHold", "ChannelUnhold":
		if err := need(w.Channel != nil && w.Channel.ID != "", "channel.id"); err != nil {
			return pbx.Event{}, typ, false, false, err
		}
		ev.Kind = pbx.ChannelHold
		if typ == "ChannelUnhold" {
			ev.Kind = pbx.ChannelUnhold
		}
		ev.Channel = pbx.ChannelID(w.Channel.ID)
	case "ChannelDtmfReceived":
		if err := need(w.Channel != nil && w.Channel.ID != "" && w.Digit != "", "channel.id and digit"); err != nil {
			return pbx.Event{}, typ, false, false, err
		}
		ev.Kind = pbx.DTMF
		ev.Channel = pbx.ChannelID(w.Channel.ID)
		ev.Digit = w.Digit
	case "PlaybackStarted", "PlaybackFinished":
		if err := need(w.Playback != nil && w.Playback.ID != "", "playback.id"); err != nil {
			return pbx.Event{}, typ, false, false, err
		}
		ev.Kind = pbx.PlaybackStarted
		if typ == "PlaybackFinished" {
			ev.Kind = pbx.PlaybackFinished
		}
		ev.Playback = pbx.PlaybackID(w.Playback.ID)
		setTarget(&ev, w.Playback.TargetURI)
	case "RecordingStarted", "RecordingFinished", "RecordingFailed":
		if err := need(w.Recording != nil && w.Recording.Name != "", "recording.name"); err != nil {
			return pbx.Event{}, typ, false, false, err
		}
		switch typ {
		case "RecordingStarted":
			ev.Kind = pbx.RecordingStarted
		case "RecordingFinished":
			ev.Kind = pbx.RecordingFinished
		default:
			ev.Kind = pbx.RecordingFailed
			ev.CauseText = w.Recording.Cause
		}
		ev.Recording = pbx.RecordingName(w.Recording.Name)
		setTarget(&ev, w.Recording.TargetURI)
	case "ChannelEnteredBridge", "ChannelLeftBridge":
		if err := need(w.Bridge != nil && w.Bridge.ID != "" && w.Channel != nil && w.Channel.ID != "",
			"bridge.id and channel.id"); err != nil {
			return pbx.Event{}, typ, false, false, err
		}
		ev.Kind = pbx.ChannelEnteredBridge
		if typ == "ChannelLeftBridge" {
			ev.Kind = pbx.ChannelLeftBridge
		}
		ev.Bridge = pbx.BridgeID(w.Bridge.ID)
		ev.Channel = pbx.ChannelID(w.Channel.ID)
	}
	return ev, typ, true, false, nil
}

// setTarget fills Channel or Bridge from an ARI target URI such as
// "channel:1700000000.12" or "bridge:b-1".
func setTarget(ev *pbx.Event, uri string) {
	kind, id, ok := strings.Cut(uri, ":")
	if !ok {
		return
	}
	switch kind {
	case "channel":
		ev.Channel = pbx.ChannelID(id)
	case "bridge":
		ev.Bridge = pbx.BridgeID(id)
	}
}

// ARI writes timestamps as "2026-11-23T11:20:41.123+0000". Go's parser
// accepts any fractional seconds after the seconds field.
const ariTimeLayout = "2006-01-02T15:04:05-0700"

// parseTime parses an ARI timestamp; the zero time if absent or unreadable.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(ariTimeLayout, s); err == nil {
		return t
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	return time.Time{}
}

// channelState maps an ARI channel state to the switch-neutral one.
func channelState(s string) pbx.ChannelState {
	switch s {
	case "Up":
		return pbx.StateUp
	case "Ring", "Ringing":
		return pbx.StateRinging
	default:
		return pbx.StateDown
	}
}
