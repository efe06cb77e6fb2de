package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/pbx/esl/esltest"
	"github.com/hotline-cc/hotline/controller/recording"
	"github.com/hotline-cc/hotline/controller/server"
	"github.com/hotline-cc/hotline/controller/store"
)

// The service-number-10000 flow on FreeSWITCH: the real controller
// (server.Serve with the driver `hotline serve` builds for switch:
// freeswitch) on a fresh Postgres database, against esltest, the
// wire-faithful Event Socket server with simulated calls. No Asterisk.

const fsPassword = "e2e-esl-s3cret"

// fsFileDuration is how long esltest plays one sound file (the menu
// prompt is one file).
const fsFileDuration = 400 * time.Millisecond

var fsFast = options{agents: 3, ringTimeout: 2 * time.Second, wrapUp: time.Second, noInput: 2 * time.Second}

// fsEnv is one hotline serving a simulated FreeSWITCH.
type fsEnv struct {
	*env
	fs *esltest.Server
}

// startFS runs hotline in this process against a fresh esltest whose
// agent phones (user/agent1..) answer as agents says.
func startFS(t *testing.T, o options, agents map[string]esltest.Agent) *fsEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	fs, err := esltest.Start(esltest.Options{Password: fsPassword, FileDuration: fsFileDuration,
		AgentAnswerDelay: time.Second, Agents: agents})
	if err != nil {
		t.Fatal(err)
	}
	dbURL, st := openDB(t, ctx)
	recDir, err := os.MkdirTemp("", "hotline-e2e-fs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(recDir) })

	// The configuration as `hotline serve` would load it.
	yaml := fmt.Sprintf(`switch: freeswitch
freeswitch:
  address: %s
database:
  url: %s
api:
  listen: %s
recording:
  dir: %s
ivr:
  scripts_dir: %s
  no_input_timeout: %s
  max_invalid: 3
queues:
  - id: general
    name: General
    ring_timeout: %s
    wrap_up: %s
services:
  - number: "10000"
    name: Hotline
    queue: general
agents:
`, fs.Addr(), dbURL, freePort(t), recDir, scriptsDir(t), o.noInput, o.ringTimeout, o.wrapUp)
	for i := 1; i <= o.agents; i++ {
		yaml += fmt.Sprintf("  - {id: \"100%d\", name: Agent %d, endpoint: user/agent%d, queues: [general]}\n", i, i, i)
	}
	cfg, err := config.Parse("hotline-e2e.yaml", []byte(yaml), func(k string) string {
		if k == config.EnvESLPassword {
			return fsPassword
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	if err := cfg.CheckSecrets(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	if err := st.SyncConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	drv, err := server.NewDriver(cfg, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, cfg, st, drv, logger(t)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		fs.Close()
	})
	e := &env{t: t, ctx: ctx, cfg: cfg, st: st, db: st.DB, client: api.NewClient(cfg.API.Listen, ""), since: time.Now()}
	e.waitAPI()
	return &fsEnv{env: e, fs: fs}
}

// call places one inbound call to 10000 and waits until the far end or
// the caller ends it.
func (e *fsEnv) call(spec esltest.CallSpec) {
	e.t.Helper()
	spec.Service = "10000"
	c := e.fs.PlaceCall(spec)
	ctx, cancel := context.WithTimeout(e.ctx, 40*time.Second)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		e.t.Fatalf("caller %s: %v", spec.Caller, err)
	}
}

func TestFreeSWITCHSelfServiceBillIsContained(t *testing.T) {
	e := startFS(t, fsFast, nil)
	e.call(esltest.CallSpec{Caller: "13800000001", Keys: []string{"1"}, KeysOnPrompt: "main-options", KeyDelay: fsFileDuration / 2})
	c := e.contact("13800000001")
	if c.Disposition.String != store.DispContained || c.HangupBy.String != "system" || c.QueuedAt.Valid || c.AgentID.Valid {
		t.Fatalf("contact %+v, want contained, released by the system, never queued", c)
	}
	trail := e.trail(c.ID)
	// The bill is read, the sub-menu offered; no key for the no-input
	// time: goodbye, and the call counts as contained.
	want := []string{"greeting/prompt/sound:hotline/welcome", "main_menu/prompt/sound:hotline/main-options", "main_menu/key/1",
		"main_menu/choice/1 → bill", "bill/lookup/current_bill: found", "bill_known/condition/when[0] → read_bill",
		"read_bill/prompt/sound:hotline/bill-is number:123 sound:hotline/yuan number:45 sound:hotline/cents",
		"bill_more/prompt/sound:hotline/bill-more", "bill_more/timeout/no key for 2s",
		"goodbye/prompt/sound:hotline/goodbye"}
	if got := strings.Join(trail, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("trail:\n%s\nwant (the key barges into the menu prompt):\n%s", got, strings.Join(want, "\n"))
	}
}

func TestFreeSWITCHAgentCallIsBridgedRecordedAndLogged(t *testing.T) {
	e := startFS(t, fsFast, map[string]esltest.Agent{"agent1": {AnswerAfter: time.Second}})
	e.ready("1001")
	// Presses 0 in the middle of the menu prompt, then stays 7 s (about
	// 6 s with the agent).
	e.call(esltest.CallSpec{Caller: "13800000002", Keys: []string{"0"}, KeysOnPrompt: "main-options", KeyDelay: fsFileDuration / 2, HangupAfter: 7 * time.Second})
	c := e.answeredCall("13800000002", "1001", 4)
	// An agent is free: the caller is not told that all agents are busy.
	if trail := e.trail(c.ID); !has(trail, "main_menu/key/0") || !has(trail, "main_menu/choice/agent (zero-out)") || has(trail, "queue/prompt/sound:hotline/please-hold") {
		t.Fatalf("trail: %v", trail)
	}
}

func TestFreeSWITCHRingTimeoutGoesToTheNextAgent(t *testing.T) {
	e := startFS(t, fsFast, map[string]esltest.Agent{
		"agent1": {NoAnswer: true},
		"agent2": {AnswerAfter: 500 * time.Millisecond},
	})
	e.ready("1001", "1002") // 1001 idle longest: offered first
	e.call(esltest.CallSpec{Caller: "13800000003", Keys: []string{"0"}, KeysOnPrompt: "main-options", KeyDelay: fsFileDuration / 2, HangupAfter: 5 * time.Second})
	c := e.contact("13800000003")
	if c.Disposition.String != store.DispAnswered || c.AgentID.String != "1002" {
		t.Fatalf("contact %+v, want answered by 1002", c)
	}
	if wait := c.AnsweredAt.Time.Sub(c.OfferedAt.Time); wait < fsFast.ringTimeout {
		t.Errorf("answered %s after the first offer; 1001 should have rung %s first", wait, fsFast.ringTimeout)
	}
	if s, reason := e.agentState("1001"); s != "NOT_READY" || reason != "no answer" {
		t.Fatalf("agent 1001 is %s (%q), want NOT_READY (no answer)", s, reason)
	}
}

func TestFreeSWITCHNoInputReleasesTheCall(t *testing.T) {
	e := startFS(t, fsFast, nil)
	begin := time.Now()
	e.call(esltest.CallSpec{Caller: "13800000004"})
	c := e.contact("13800000004")
	if c.Disposition.String != store.DispReleasedNoInput || c.HangupBy.String != "system" {
		t.Fatalf("contact %+v, want released_no_input by the system", c)
	}
	if took := time.Since(begin); took < fsFast.noInput+2*fsFileDuration {
		t.Fatalf("released after %s, before the prompts and the no-input time %s", took, fsFast.noInput)
	}
	if trail := e.trail(c.ID); !has(trail, "main_menu/timeout/no key for 2s") || !has(trail, "goodbye/prompt/sound:hotline/goodbye") {
		t.Fatalf("trail: %v", trail)
	}
}

func TestFreeSWITCHCallerHangsUpWhileQueued(t *testing.T) {
	e := startFS(t, fsFast, nil) // no agent is logged in
	e.call(esltest.CallSpec{Caller: "13800000005", Keys: []string{"0"}, KeysOnPrompt: "main-options", KeyDelay: fsFileDuration / 2, HangupAfter: 2 * time.Second})
	c := e.contact("13800000005")
	if c.Disposition.String != store.DispAbandonedQueue || c.HangupBy.String != "caller" || !c.QueuedAt.Valid || c.AnsweredAt.Valid {
		t.Fatalf("contact %+v, want abandoned in queue by the caller", c)
	}
}

// A caller leaves a fault message over FreeSWITCH: 3 in the main menu,
// 2 in the fault menu, then talks after the beep and ends the message
// with #. The message is recorded (uuid_record, stopped by hotline when
// # comes), the flow goes on to its thanks and goodbye, and the contact
// references the file.
func TestFreeSWITCHFaultMessageIsRecorded(t *testing.T) {
	e := startFS(t, fsFast, nil)
	const talk = 3 * time.Second
	e.call(esltest.CallSpec{Caller: "13800000006", Keys: []string{"3", "2", "#"},
		KeyPrompts: []string{"main-options", "fault-menu", "tone_stream://"},
		KeyDelays:  []time.Duration{fsFileDuration / 2, fsFileDuration / 2, talk}})
	c := e.contact("13800000006")
	trail := e.trail(c.ID)
	if c.Disposition.String != store.DispContained || c.HangupBy.String != "system" || !c.Voicemail.Valid {
		t.Fatalf("contact %+v, want contained, released by the system, with the message referenced; trail:\n%s", c, strings.Join(trail, "\n"))
	}
	w, err := recording.ReadWAV(c.Voicemail.String)
	if err != nil {
		t.Fatalf("voice message: %v", err)
	}
	// From the beep to the # (the beep plays as the recording starts).
	if w.Seconds < talk.Seconds()-0.5 || w.Seconds > talk.Seconds()+2 {
		t.Fatalf("voice message holds %.2f s, want about the %s talked before #", w.Seconds, talk)
	}
	for _, want := range []string{"fault.fault_menu/key/2", "fault.message/prompt/sound:hotline/vm-prompt",
		"fault.message/record/message " + c.Voicemail.String, "fault.message_done/prompt/sound:hotline/vm-thanks",
		"goodbye/end/contained"} {
		if !has(trail, want) {
			t.Errorf("trail lacks %q:\n%s", want, strings.Join(trail, "\n"))
		}
	}
}
