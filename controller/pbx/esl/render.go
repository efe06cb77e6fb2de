package esl

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// renderEnv is what render needs besides the command: driver state that
// Do resolves first (FreeSWITCH addresses playbacks, bridges and
// recordings through a channel UUID).
type renderEnv struct {
	RecordingDir string // FreeSWITCH's directory for recordings (absolute)
	JobUUID      string // Originate: the bgapi Job-UUID
	// Channel is the channel a StopPlayback, StopRecording,
	// PauseRecording or ResumeRecording acts on.
	Channel pbx.ChannelID
	// Format is the recording's format for StopRecording,
	// PauseRecording and ResumeRecording (from its RecordBridge or
	// RecordChannel).
	Format string
	// Members are a bridge's current members (AddToBridge: before the
	// add; RecordBridge, DestroyBridge: now).
	Members []pbx.ChannelID
	// Outbound: the command goes over the channel's own outbound socket,
	// where "sendmsg" without a UUID addresses the controlled call.
	Outbound bool
}

// hangupCauses maps pbx.Hangup reasons to FreeSWITCH cause names.
var hangupCauses = map[string]string{"": "NORMAL_CLEARING", "normal": "NORMAL_CLEARING",
	"busy": "USER_BUSY", "congestion": "NORMAL_CIRCUIT_CONGESTION", "no_answer": "NO_ANSWER"}

// render turns a command into the exact ESL messages (each ending in the
// blank line) that perform it, in order. It is the only place a
// pbx.Command becomes wire text. Everything interpolated has passed the
// pbx Validate patterns (no spaces, newlines or separators in IDs), and
// the few free-text fields get ESL-specific checks here; Conn checks the
// framing of every message again before writing it.
func render(cmd pbx.Command, env renderEnv) ([]string, error) {
	if cmd == nil {
		return nil, fmt.Errorf("%w: nil command", pbx.ErrInvalid)
	}
	if err := cmd.Validate(); err != nil {
		return nil, err
	}
	switch c := cmd.(type) {
	case pbx.Answer:
		return one(execute(env.target(c.Channel), "answer", "")), nil
	case pbx.Ring:
		return one(execute(env.target(c.Channel), "ring_ready", "")), nil
	case pbx.Hangup:
		return one(sendmsg(env.target(c.Channel)) + "call-command: hangup\nhangup-cause: " + hangupCauses[c.Reason] + "\n\n"), nil
	case pbx.Play:
		files := make([]string, 0, len(c.Media))
		for _, m := range c.Media {
			files = append(files, mediaFiles(m)...)
		}
		// {playback_id=...} becomes a header of PLAYBACK_START and
		// PLAYBACK_STOP (switch_ivr_play_say.c merges fh->params).
		return one(execute(env.target(c.Channel), "playback", "{playback_id="+string(c.ID)+"}file_string://"+strings.Join(files, "!"))), nil
	case pbx.StopPlayback:
		return one(api("uuid_break " + string(env.Channel))), nil
	case pbx.StartMOH:
		class := c.Class
		if class == "" {
			class = "default"
		}
		return one(execute(env.target(c.Channel), "playback", "local_stream://"+class)), nil
	case pbx.StopMOH:
		return one(api("uuid_break " + string(c.Channel) + " all")), nil
	case pbx.Hold:
		return one(api("uuid_hold " + string(c.Channel))), nil
	case pbx.Unhold:
		return one(api("uuid_hold off " + string(c.Channel))), nil
	case pbx.Originate:
		dial, err := dialString(c.Endpoint)
		if err != nil {
			return nil, err
		}
		if strings.ContainsAny(c.CallerName, "',") {
			return nil, fmt.Errorf("%w: Originate: caller name %q: ' and , cannot be quoted in a FreeSWITCH originate variable", pbx.ErrInvalid, c.CallerName)
		}
		// hotline=true tags the leg for the event filter (filters).
		vars := []string{"origination_uuid=" + string(c.ID), "hotline=true"}
		if len(c.Args) > 0 {
			vars = append(vars, "hotline_args="+strings.Join(c.Args, ":"))
		}
		if c.CallerID != "" {
			vars = append(vars, "origination_caller_id_number="+c.CallerID)
		}
		if c.CallerName != "" {
			vars = append(vars, "origination_caller_id_name='"+c.CallerName+"'")
		}
		if c.Timeout > 0 {
			secs := int((c.Timeout + time.Second - 1) / time.Second) // round up: 1.5s rings 2s
			vars = append(vars, "originate_timeout="+strconv.Itoa(secs))
		}
		vars = append(vars, "hangup_after_bridge=false", "park_after_bridge=true")
		if !pbx.ValidID(env.JobUUID) {
			return nil, fmt.Errorf("%w: Originate: job UUID %q", pbx.ErrInvalid, env.JobUUID)
		}
		return one(renderBgAPI("originate {"+strings.Join(vars, ",")+"}"+dial+" &park()", env.JobUUID)), nil
	case pbx.CreateBridge:
		return nil, nil // the driver keeps bridges; nothing on the wire
	case pbx.AddToBridge:
		members := append(append([]pbx.ChannelID(nil), env.Members...), c.Channels...)
		switch {
		case len(members) > 2:
			return nil, fmt.Errorf("%w: AddToBridge: a FreeSWITCH bridge (uuid_bridge) holds two channels, %s would have %d", pbx.ErrInvalid, c.Bridge, len(members))
		case len(members) < 2:
			return nil, nil // the first member joins when the second comes
		}
		return one(api("uuid_bridge " + string(members[0]) + " " + string(members[1]))), nil
	case pbx.RemoveFromBridge:
		return one(api("uuid_transfer " + string(c.Channel) + " park inline")), nil
	case pbx.DestroyBridge:
		if len(env.Members) < 2 {
			return nil, nil
		}
		return one(api("uuid_transfer " + string(env.Members[0]) + " -both park inline")), nil
	case pbx.RecordBridge:
		if len(env.Members) == 0 {
			return nil, fmt.Errorf("%w: RecordBridge: bridge %s has no channel to record", pbx.ErrNotFound, c.Bridge)
		}
		cmd := "uuid_record " + string(env.Members[0]) + " start " + recordingPath(env.RecordingDir, c.Name, c.Format)
		if c.MaxDuration > 0 {
			cmd += " " + strconv.Itoa(ceilSeconds(c.MaxDuration))
		}
		return one(api(cmd)), nil
	case pbx.StopRecording:
		return one(api("uuid_record " + string(env.Channel) + " stop " + recordingPath(env.RecordingDir, c.Name, env.Format))), nil
	case pbx.RecordChannel:
		// The beep is queued on the channel like a playback
		// (uuid_broadcast, "aleg": this leg only); the recording starts
		// at once beside it. RECORD_READ_ONLY records what the caller
		// says, not what the channel plays to them (so not the beep);
		// the silence limits are uuid_record's recording variables
		// (switch_ivr_async.c: with a silence threshold set, a
		// recording ends after RECORD_INITIAL_TIMEOUT_MS of silence
		// before any speech, or RECORD_FINAL_TIMEOUT_MS after it). The
		// limit argument must be present for the variables to be read;
		// MaxDuration is always positive. uuid_record has no terminator
		// key: the driver stops the recording when the caller presses
		// TerminateOn (events.go).
		vars := []string{"RECORD_READ_ONLY=true"}
		if c.MaxSilence > 0 {
			ms := strconv.FormatInt(int64((c.MaxSilence+time.Millisecond-1)/time.Millisecond), 10)
			vars = append(vars, "RECORD_INITIAL_TIMEOUT_MS="+ms, "RECORD_FINAL_TIMEOUT_MS="+ms)
		}
		return []string{
			api("uuid_broadcast " + string(c.Channel) + " " + beep + " aleg"),
			api("uuid_record " + string(c.Channel) + " start " + recordingPath(env.RecordingDir, c.Name, c.Format) +
				" " + strconv.Itoa(ceilSeconds(c.MaxDuration)) + " {" + strings.Join(vars, ",") + "}"),
		}, nil
	case pbx.PauseRecording:
		// mask, not pause. FreeSWITCH 1.10's uuid_record takes
		// start|stop|mask|unmask (SESS_REC_SYNTAX), and from 1.10.7 also
		// pause|resume. A paused media bug is skipped (SMBF_PAUSE): the
		// paused time is missing from the file, which then no longer
		// matches the call's length. A masked one (SMBF_MASK) goes on
		// writing, silence in place of the audio: the caller's card
		// number or password is not in the file and the file keeps the
		// call's timing, which hotline's check of a recording's length
		// relies on. mask also works on every 1.10 release.
		return one(api("uuid_record " + string(env.Channel) + " mask " + recordingPath(env.RecordingDir, c.Name, env.Format))), nil
	case pbx.ResumeRecording:
		return one(api("uuid_record " + string(env.Channel) + " unmask " + recordingPath(env.RecordingDir, c.Name, env.Format))), nil
	default:
		return nil, fmt.Errorf("%w: esl driver cannot render %T", pbx.ErrInvalid, cmd)
	}
}

// beep is the tone before a voice message: FreeSWITCH's own beep
// (conf/vanilla/vars.xml, beep=%(1000,0,640)), one second at 640 Hz.
const beep = "tone_stream://%(1000,0,640)"

// ceilSeconds rounds d up to whole seconds: a 1.5 s limit is 2 s, not 1.
func ceilSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

func recordingPath(dir string, name pbx.RecordingName, format string) string {
	return path.Join(dir, string(name)+"."+format)
}

func one(s string) []string { return []string{s} }

func api(cmd string) string { return "api " + cmd + "\n\n" }

// target is the channel a sendmsg names: none on the channel's own
// outbound socket.
func (env renderEnv) target(ch pbx.ChannelID) pbx.ChannelID {
	if env.Outbound {
		return ""
	}
	return ch
}

// sendmsg starts a sendmsg command for ch; an empty ch addresses the
// call an outbound socket controls (mod_event_socket.c, parse_command).
func sendmsg(ch pbx.ChannelID) string {
	if ch == "" {
		return "sendmsg\n"
	}
	return "sendmsg " + string(ch) + "\n"
}

func execute(ch pbx.ChannelID, app, arg string) string {
	s := sendmsg(ch) + "call-command: execute\nexecute-app-name: " + app + "\n"
	if arg != "" {
		s += "execute-app-arg: " + arg + "\n"
	}
	return s + "\n"
}

// dialString maps a pbx endpoint to a FreeSWITCH dial string: "user/NAME"
// (a directory user, e.g. an agent's phone) and "sofia/PROFILE/DEST" pass
// through; Asterisk technologies cannot be dialled.
func dialString(ep string) (string, error) {
	if strings.HasPrefix(ep, "user/") || strings.HasPrefix(ep, "sofia/") {
		return ep, nil
	}
	return "", fmt.Errorf("%w: Originate: endpoint %q is not user/NAME or sofia/PROFILE/DEST (FreeSWITCH)", pbx.ErrInvalid, ep)
}

// mediaFiles maps one pbx media entry to sound files FreeSWITCH plays
// from its sound_prefix (the callie/en sound set names).
func mediaFiles(m string) []string {
	kind, v, _ := strings.Cut(m, ":")
	switch kind {
	case "sound":
		return []string{v + ".wav"}
	case "digits":
		out := make([]string, 0, len(v))
		for _, d := range v {
			switch d {
			case '*':
				out = append(out, "digits/star.wav")
			case '#':
				out = append(out, "digits/pound.wav")
			default:
				out = append(out, "digits/"+string(d)+".wav")
			}
		}
		return out
	case "number":
		n, _ := strconv.ParseInt(v, 10, 64)
		return numberFiles(n)
	case "silence":
		s, _ := strconv.Atoi(v)
		return []string{"silence_stream://" + strconv.Itoa(s*1000)}
	}
	return nil // unreachable after Validate
}

// numberFiles says n in English with the digits/ prompts.
func numberFiles(n int64) []string {
	if n == 0 {
		return []string{"digits/0.wav"}
	}
	var out []string
	if n < 0 {
		out = append(out, "currency/minus.wav")
		n = -n
	}
	scales := []struct {
		v    int64
		name string
	}{{1e12, "trillion"}, {1e9, "billion"}, {1e6, "million"}, {1e3, "thousand"}}
	for _, s := range scales {
		if n >= s.v {
			out = append(out, below1000(n/s.v)...)
			out = append(out, "digits/"+s.name+".wav")
			n %= s.v
		}
	}
	return append(out, below1000(n)...)
}

func below1000(n int64) []string {
	var out []string
	if n >= 100 {
		out = append(out, "digits/"+strconv.FormatInt(n/100, 10)+".wav", "digits/hundred.wav")
		n %= 100
	}
	switch {
	case n == 0:
	case n < 20:
		out = append(out, "digits/"+strconv.FormatInt(n, 10)+".wav")
	default:
		out = append(out, "digits/"+strconv.FormatInt(n/10*10, 10)+".wav")
		if n%10 != 0 {
			out = append(out, "digits/"+strconv.FormatInt(n%10, 10)+".wav")
		}
	}
	return out
}

// controlEvents is the control connection's "event plain" list: what
// events.go maps, plus BACKGROUND_JOB (bgapi results) and HEARTBEAT
// (liveness). The list is exact, so nothing needs a nixevent here.
var controlEvents = []string{"CHANNEL_PARK", "CHANNEL_ANSWER", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA",
	"CHANNEL_HANGUP_COMPLETE", "DTMF", "PLAYBACK_START", "PLAYBACK_STOP", "RECORD_START", "RECORD_STOP",
	"CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_HOLD", "CHANNEL_UNHOLD", "BACKGROUND_JOB", "HEARTBEAT"}

// controlFilters narrow the control connection to hotline's calls on a
// switch that also carries other traffic. mod_event_socket passes an
// event when any positive filter's header has the filter's value
// (event_handler, case-insensitive), so the filters are alternatives:
//
//   - variable_hotline=true: channels hotline owns. The park dialplan
//     sets the channel variable hotline=true and every originate sets it
//     on the new leg; channel events carry variables
//     (switch_channel_event_set_extended_data) for every event above
//     except DTMF, CHANNEL_HOLD and CHANNEL_UNHOLD included.
//   - Event-Name DTMF: DTMF events carry no variables unless
//     verbose_events is on, so they pass by name; the driver ignores
//     digits of channels it does not know.
//   - Event-Name BACKGROUND_JOB and HEARTBEAT: they belong to no channel.
//
// A per-call "filter Unique-ID" is not used here: it would need one
// filter per call and drop BACKGROUND_JOB. Calls that arrive through the
// socket application (outbound mode) do not set hotline=true, so their
// events reach hotline only over their own socket (myevents); their DTMF
// still passes here by name and the driver drops it for calls it
// controls over a socket.
var controlFilters = [][2]string{{"variable_hotline", "true"}, {"Event-Name", "DTMF"},
	{"Event-Name", "BACKGROUND_JOB"}, {"Event-Name", "HEARTBEAT"}}

// callEvents are added to myevents' fixed list on an outbound socket
// (mod_event_socket.c's myevents does not include them), and callNix are
// the myevents events the driver does not map.
var (
	callEvents = []string{"PLAYBACK_START", "PLAYBACK_STOP", "RECORD_START", "RECORD_STOP", "CHANNEL_HOLD", "CHANNEL_UNHOLD"}
	callNix    = []string{"CHANNEL_APPLICATION", "CHANNEL_CREATE", "CHANNEL_DATA", "CHANNEL_DESTROY",
		"CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_ORIGINATE", "CHANNEL_UUID",
		"CHANNEL_OUTGOING", "CHANNEL_STATE", "CHANNEL_UNPARK", "DETECTED_SPEECH", "NOTALK", "TALK"}
)

// renderControlSetup is what the driver sends after auth on the inbound
// control connection, one command per string (each ends in the blank
// line): the subscription, then the filters.
func renderControlSetup() []string {
	out := []string{"event plain " + strings.Join(controlEvents, " ") + "\n\n"}
	for _, f := range controlFilters {
		out = append(out, "filter "+f[0]+" "+f[1]+"\n\n")
	}
	return out
}

// renderCallSetup is what the driver sends on an outbound socket after
// "connect": linger first (so that a hang-up from now on still delivers
// CHANNEL_HANGUP_COMPLETE before FreeSWITCH closes), then myevents
// (events of this call only), the playback, recording and hold events
// myevents lacks, and nixevent for the myevents events hotline does not map.
func renderCallSetup(linger time.Duration) []string {
	return []string{
		"linger " + strconv.Itoa(int((linger+time.Second-1)/time.Second)) + "\n\n",
		"myevents\n\n",
		"event plain " + strings.Join(callEvents, " ") + "\n\n",
		"nixevent " + strings.Join(callNix, " ") + "\n\n",
	}
}
