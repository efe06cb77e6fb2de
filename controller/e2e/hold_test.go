package e2e

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/recording"
	"github.com/hotline-cc/hotline/controller/store"
)

// An agent puts the caller on hold with the desk phone's hold key and
// takes them back: the phone sends the switch a re-INVITE with
// a=sendonly, then one with a=sendrecv. The agent goes ON_CALL → ON_HOLD
// → ON_CALL, live and in the state history (with the contact), the
// contact's log records the hold and the unhold at the switch's times,
// and the call ends as any answered call does, recorded throughout.
func TestAgentPutsTheCallerOnHoldFromTheDeskPhone(t *testing.T) {
	e := start(t, acdOpts(1, func(*config.Config) {}))
	const number = "13800000031"
	// Answers after 1 s; holds 2 s after the answer, for 4 s.
	phone := e.phone(1, "agent-uas-hold.xml", map[string]string{"ring_ms": "1000", "hold_at_ms": "2000", "hold_ms": "4000"})
	e.ready("1001")
	// Straight to the queue; the caller hangs up 14 s after the answer,
	// about 5 s after the agent has taken the call back.
	caller := e.callAsync([]string{number, "", "0", "", "0", "", "0", "14000"})
	e.waitAgent("1001", "ON_HOLD")
	e.waitAgent("1001", "ON_CALL")
	r, err := caller.Wait()
	if err != nil || r.Failed != 0 || r.Events["near-bye"] != 1 {
		t.Fatalf("caller: %v %s\n%s", err, r.Summary(), r.Errors())
	}
	c := e.contact(number)
	if c.Disposition.String != store.DispAnswered || c.HangupBy.String != "caller" || c.AgentID.String != "1001" {
		t.Fatalf("contact %+v, want answered by 1001, ended by the caller", c)
	}

	// The contact's log: hold and unhold by the agent, between the answer
	// and the end, about 4 s apart.
	type event struct {
		Kind string    `db:"kind"`
		Data string    `db:"data"`
		At   time.Time `db:"at"`
	}
	var evs []event
	if err := e.db.SelectContext(e.ctx, &evs, `SELECT kind, data::text AS data, at FROM contact_events WHERE contact_id = $1 ORDER BY id`, c.ID); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	at := map[string]time.Time{}
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
		if ev.Kind == "hold" || ev.Kind == "unhold" {
			var d struct{ Agent string }
			if err := json.Unmarshal([]byte(ev.Data), &d); err != nil || d.Agent != "1001" {
				t.Errorf("%s event data %s, want agent 1001", ev.Kind, ev.Data)
			}
			if _, dup := at[ev.Kind]; dup {
				t.Errorf("contact log %v: more than one %s", kinds, ev.Kind)
			}
			at[ev.Kind] = ev.At
		}
	}
	log := "," + strings.Join(kinds, ",") + ","
	i, j, k, l := strings.Index(log, ",answered,"), strings.Index(log, ",hold,"), strings.Index(log, ",unhold,"), strings.Index(log, ",ended,")
	if i < 0 || j < i || k < j || l < k {
		t.Fatalf("contact log %s: want answered, hold, unhold, ended in that order", strings.Trim(log, ","))
	}
	if held := at["unhold"].Sub(at["hold"]); held < 3*time.Second || held > 6*time.Second {
		t.Errorf("on hold %s by the switch's times; the phone held the call 4 s", held)
	}
	if !at["hold"].After(c.AnsweredAt.Time) || !at["unhold"].Before(c.EndedAt.Time) {
		t.Errorf("hold %s and unhold %s not inside the call (answered %s, ended %s)", at["hold"], at["unhold"], c.AnsweredAt.Time, c.EndedAt.Time)
	}

	// The agent's states, with the hold and the return on the contact.
	e.waitAgent("1001", "READY")
	if got, want := e.states("1001"), "NOT_READY,READY,RESERVED,RINGING,ON_CALL,ON_HOLD,ON_CALL,AFTER_CALL_WORK,READY"; got != want {
		t.Fatalf("agent 1001 states %s, want %s", got, want)
	}
	var onContact []string
	if err := e.db.SelectContext(e.ctx, &onContact, `SELECT state FROM agent_state_history
		WHERE agent_id = '1001' AND contact_id = $1 AND state IN ('ON_HOLD', 'ON_CALL') ORDER BY id`, c.ID); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(onContact, ","); got != "ON_CALL,ON_HOLD,ON_CALL" {
		t.Errorf("states on contact %d: %s, want ON_CALL,ON_HOLD,ON_CALL", c.ID, got)
	}

	// One recording, of the whole bridged time, hold included.
	recs := e.recordings(c.ID)
	if len(recs) != 1 || recs[0].OK == nil || !*recs[0].OK {
		t.Fatalf("recordings %+v, want one that passed its check", recs)
	}
	w, err := recording.ReadWAV(recs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if bridged := c.EndedAt.Time.Sub(c.AnsweredAt.Time).Seconds(); math.Abs(w.Seconds-bridged) > 1 || w.Seconds < 10 {
		t.Fatalf("recording holds %.2f s, bridged %.2f s", w.Seconds, bridged)
	}

	// Both re-INVITEs were accepted (200) by the switch.
	res, _ := phone.Stop(2 * time.Second)
	if res.Events["answered"] != 1 || res.Events["hold"] != 1 || res.Events["unhold"] != 1 || res.Events["far-bye"] != 1 {
		t.Fatalf("agent's phone: %s, want one call answered, held, taken back and ended by the far end\n%s", res.Summary(), res.Errors())
	}
}
