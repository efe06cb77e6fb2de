package esl

import (
	"context"
	"errors"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// q850 maps FreeSWITCH cause names (switch_channel.c CAUSE_CHART) to
// Q.850 codes, for a CHANNEL_HANGUP_COMPLETE without
// variable_hangup_cause_q850.
var q850 = map[string]int{
	"UNALLOCATED_NUMBER": 1, "NO_ROUTE_DESTINATION": 3, "NORMAL_CLEARING": 16, "USER_BUSY": 17,
	"NO_USER_RESPONSE": 18, "NO_ANSWER": 19, "SUBSCRIBER_ABSENT": 20, "CALL_REJECTED": 21,
	"NUMBER_CHANGED": 22, "DESTINATION_OUT_OF_ORDER": 27, "INVALID_NUMBER_FORMAT": 28,
	"NORMAL_UNSPECIFIED": 31, "NORMAL_CIRCUIT_CONGESTION": 34, "NETWORK_OUT_OF_ORDER": 38,
	"NORMAL_TEMPORARY_FAILURE": 41, "SWITCH_CONGESTION": 42, "REQUESTED_CHAN_UNAVAIL": 44,
	"BEARERCAPABILITY_NOTAVAIL": 58, "INCOMPATIBLE_DESTINATION": 88, "RECOVERY_ON_TIMER_EXPIRE": 102,
	"INTERWORKING": 127, "ORIGINATOR_CANCEL": 487, "LOSE_RACE": 502, "MANAGER_REQUEST": 503,
}

// mapEvent turns one FreeSWITCH event into the pbx events it means (none
// for most). Call with d.dmu held.
func (d *Driver) mapEvent(ev *Event) []pbx.Event {
	ch := pbx.ChannelID(ev.Get("Unique-ID"))
	base := pbx.Event{At: eventTime(ev), Channel: ch}
	with := func(k pbx.EventKind) []pbx.Event { base.Kind = k; return []pbx.Event{base} }
	switch ev.Name() {
	case "CHANNEL_PARK":
		// A park is where a channel comes under hotline's control: an
		// inbound call the dialplan parked, or an originate's &park()
		// after answer. It parks again after a bridge ends.
		if ch == "" || d.started[ch] {
			return nil
		}
		d.started[ch] = true
		base.Caller = ev.Get("Caller-Caller-ID-Number")
		base.Dialed = ev.Get("Caller-Destination-Number")
		if a := ev.Get("variable_hotline_args"); a != "" {
			base.Args = strings.Split(a, ":")
		}
		return with(pbx.ChannelStarted)
	case "CHANNEL_ANSWER":
		return with(pbx.ChannelAnswered)
	case "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA":
		if d.ringing[ch] {
			return nil
		}
		d.ringing[ch] = true
		return with(pbx.ChannelRinging)
	case "CHANNEL_HANGUP_COMPLETE":
		delete(d.started, ch)
		delete(d.ringing, ch)
		delete(d.held, ch)
		d.forgetChannel(ch)
		name := ev.Get("Hangup-Cause")
		base.CauseText = name
		if n, err := strconv.Atoi(ev.Get("variable_hangup_cause_q850")); err == nil {
			base.Cause = n
		} else {
			base.Cause = q850[name]
		}
		return with(pbx.ChannelHungup)
	case "DTMF":
		base.Digit = ev.Get("DTMF-Digit")
		if len(base.Digit) != 1 || !strings.Contains("0123456789*#ABCDabcd", base.Digit) {
			d.log.Warn("FreeSWITCH DTMF event with odd digit skipped", "channel", ch, "digit", base.Digit)
			return nil
		}
		base.Digit = strings.ToUpper(base.Digit)
		d.stopOnKey(ch, base.Digit)
		return with(pbx.DTMF)
	case "PLAYBACK_START", "PLAYBACK_STOP":
		id := pbx.PlaybackID(ev.Get("playback_id"))
		if id == "" {
			return nil // music on hold or a playback hotline did not start
		}
		base.Playback = id
		if ev.Name() == "PLAYBACK_START" {
			return with(pbx.PlaybackStarted)
		}
		d.mu.Lock()
		delete(d.playbacks, id)
		d.mu.Unlock()
		return with(pbx.PlaybackFinished)
	case "RECORD_START", "RECORD_STOP":
		p := ev.Get("Record-File-Path")
		name := pbx.RecordingName(strings.TrimSuffix(path.Base(p), path.Ext(p)))
		if p == "" || !pbx.ValidID(string(name)) {
			return nil
		}
		base.Recording = name
		d.mu.Lock()
		r, ok := d.recs[name]
		if ev.Name() == "RECORD_STOP" {
			delete(d.recs, name)
		} else if ok {
			r.live = true
			d.recs[name] = r
		}
		d.mu.Unlock()
		if ok {
			base.Bridge = r.bridge
		}
		if ev.Name() == "RECORD_START" {
			return with(pbx.RecordingStarted)
		}
		// Record-Completion-Cause (switch_ivr_async.c): success-maxtime
		// (stopped, or at its limit), success-silence and
		// no-input-timeout (silence, or the channel hung up) leave the
		// file; empty-file and input-too-short remove it, uri-failure is
		// a file that could not be written.
		switch cause := ev.Get("Record-Completion-Cause"); cause {
		case "empty-file", "input-too-short", "uri-failure":
			base.CauseText = cause
			return with(pbx.RecordingFailed)
		}
		return with(pbx.RecordingFinished)
	case "CHANNEL_HOLD", "CHANNEL_UNHOLD":
		return d.mapHold(ev, base)
	case "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE":
		a := pbx.ChannelID(ev.Get("Bridge-A-Unique-ID"))
		b := pbx.ChannelID(ev.Get("Bridge-B-Unique-ID"))
		if a == "" || b == "" {
			return nil
		}
		d.mu.Lock()
		br, ok := d.chBridge[a]
		if !ok {
			if br, ok = d.chBridge[b]; !ok {
				br = pbx.BridgeID(a)
			}
		}
		d.mu.Unlock()
		kind := pbx.ChannelEnteredBridge
		if ev.Name() == "CHANNEL_UNBRIDGE" {
			kind = pbx.ChannelLeftBridge
		}
		ea, eb := base, base
		ea.Kind, ea.Channel, ea.Bridge = kind, a, br
		eb.Kind, eb.Channel, eb.Bridge = kind, b, br
		return []pbx.Event{ea, eb}
	case "BACKGROUND_JOB":
		if res := strings.TrimSpace(string(ev.Body)); strings.HasPrefix(res, "-") {
			d.log.Warn("FreeSWITCH background job failed", "job", ev.Get("Job-UUID"),
				"command", ev.Get("Job-Command"), "result", res)
		}
	}
	return nil
}

// holdFunction is the function that raises CHANNEL_HOLD and
// CHANNEL_UNHOLD when a channel's far end puts the call on hold or takes
// it off: the endpoint's media negotiation (a re-INVITE whose SDP says
// sendonly or inactive, then sendrecv) calls switch_channel_mark_hold
// (switch_core_media.c, switch_channel.c), as does a hang-up while held.
// uuid_hold runs switch_ivr_hold and switch_ivr_unhold (switch_ivr.c),
// which raise the same events from themselves: that is hotline's own
// Hold (or another controller's), and like ARI's hold, which raises no
// ChannelHold, it is not reported.
const holdFunction = "switch_channel_mark_hold"

// mapHold maps CHANNEL_HOLD and CHANNEL_UNHOLD. ChannelHold is the
// phone's hold (Event-Calling-Function, see holdFunction); ChannelUnhold
// follows only a ChannelHold, whoever ends the hold, so the two always
// pair up. A channel held when the driver resynced counts as held by its
// phone. Call with d.dmu held.
func (d *Driver) mapHold(ev *Event, base pbx.Event) []pbx.Event {
	ch := base.Channel
	if ch == "" {
		return nil
	}
	if ev.Name() == "CHANNEL_HOLD" {
		if d.held[ch] || ev.Get("Event-Calling-Function") != holdFunction {
			return nil
		}
		d.held[ch] = true
		base.Kind = pbx.ChannelHold
		return []pbx.Event{base}
	}
	if !d.held[ch] {
		return nil
	}
	delete(d.held, ch)
	base.Kind = pbx.ChannelUnhold
	return []pbx.Event{base}
}

// stopOnKey stops the live channel recordings of ch that end on key
// (RecordChannel.TerminateOn): uuid_record has no terminator of its own.
// The stop is sent from a goroutine, as mapping runs on the goroutine
// that reads the replies. A key before the recording's RECORD_START
// does not count. Call with d.dmu held.
func (d *Driver) stopOnKey(ch pbx.ChannelID, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, r := range d.recs {
		if r.channel != ch || r.terminate != key || !r.live || r.stopping {
			continue
		}
		r.stopping = true
		d.recs[name] = r
		cmd := "uuid_record " + string(ch) + " stop " + recordingPath(d.cfg.RecordingDir, name, r.format)
		d.bg.Add(1)
		go func() {
			defer d.bg.Done()
			c := d.conn.Load()
			if c == nil {
				d.log.Warn("recording not stopped on its key: no link to FreeSWITCH", "recording", name, "channel", ch)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), d.cfg.CommandTimeout)
			defer cancel()
			if _, err := c.API(ctx, cmd); err != nil && !errors.Is(err, pbx.ErrNotFound) {
				d.log.Warn("recording not stopped on its key", "recording", name, "channel", ch, "error", err)
			}
		}()
	}
}

// forgetChannel drops a hung-up channel from driver state.
func (d *Driver) forgetChannel(ch pbx.ChannelID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if br, ok := d.chBridge[ch]; ok {
		d.bridges[br] = without(d.bridges[br], ch)
		delete(d.chBridge, ch)
	}
	for id, c := range d.playbacks {
		if c == ch {
			delete(d.playbacks, id)
		}
	}
}

// eventTime is Event-Date-Timestamp (microseconds since the epoch).
func eventTime(ev *Event) time.Time {
	us, err := strconv.ParseInt(ev.Get("Event-Date-Timestamp"), 10, 64)
	if err != nil || us <= 0 {
		return time.Now()
	}
	return time.UnixMicro(us)
}
