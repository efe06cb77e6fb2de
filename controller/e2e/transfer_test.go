package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/store"
)

// transferScripts is the shipped ivr-scripts/ plus two one-node flows
// that transfer every caller to an outside number: 95598 (allowed) and
// 12345 (not in transfer.allow).
func transferScripts(t *testing.T) string {
	t.Helper()
	src := scriptsDir(t)
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, en.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, number := range map[string]string{"partner": "95598", "nowhere": "12345"} {
		src := "flow: " + name + `
description: every caller to an outside number
lang: en
nodes:
  out:
    type: transfer
    say: [please-hold]
    number: '"` + number + `"'
`
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// An IVR transfer to an outside number: hotline dials it on the trunk
// and bridges the caller to whoever answers; the call ends when the far
// end hangs up. A transfer to a number outside transfer.allow is not
// dialled: the caller reaches an agent instead.
func TestTransferToAnOutsideNumber(t *testing.T) {
	dir := transferScripts(t)
	o := fast
	o.edit = func(c *config.Config) {
		c.IVR.ScriptsDir = dir
		c.Transfer = config.Transfer{Dial: "PJSIP/{number}@pstn", Allow: []string{"955"}, RingTimeout: 20 * time.Second}
		c.Services = append(c.Services,
			config.Service{Number: "10086", Name: "Partner line", Queue: "general", Flow: "partner"},
			config.Service{Number: "10087", Name: "Nowhere", Queue: "general", Flow: "nowhere"})
	}
	e := start(t, o)
	// The outside number answers after 1 s and hangs up 4 s later.
	far := e.customerPhone(map[string]string{"ring_ms": "1000", "hangup_ms": "4000"})
	if r := e.callTo("10086", []string{"13800000041", "", "0", "", "0", "", "0", "0"}); r.Failed != 0 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	ct := e.contact("13800000041")
	if ct.Disposition.String != store.DispTransferred || ct.HangupBy.String != "transfer" || ct.IVROutcome.String != "transferred" {
		t.Fatalf("contact %+v: want transferred, ended by the outside number", ct)
	}
	if ct.AgentID.Valid || ct.AnsweredAt.Valid {
		t.Fatalf("contact %+v: a transfer is not answered by an agent", ct)
	}
	kinds := e.eventKinds(ct.ID)
	i, j := slices.Index(kinds, "transfer_dialing"), slices.Index(kinds, "transferred")
	if i < 0 || j < i {
		t.Fatalf("contact log %v: want transfer_dialing then transferred", kinds)
	}
	var talked time.Duration
	var at struct{ Dial, Bridged, End time.Time }
	if err := e.db.QueryRowContext(e.ctx, `SELECT
		(SELECT at FROM contact_events WHERE contact_id = $1 AND kind = 'transfer_dialing'),
		(SELECT at FROM contact_events WHERE contact_id = $1 AND kind = 'transferred'),
		ended_at FROM contacts WHERE id = $1`, ct.ID).Scan(&at.Dial, &at.Bridged, &at.End); err != nil {
		t.Fatal(err)
	}
	talked = at.End.Sub(at.Bridged)
	if talked < 3*time.Second || talked > 8*time.Second {
		t.Fatalf("bridged to the outside number for %s, want about the 4 s it stayed on", talked)
	}
	res, _ := far.Stop(2 * time.Second)
	if res.Events["answered"] != 1 || res.Events["near-bye"] != 1 {
		t.Fatalf("outside number's phone: %s, want one answered call that it ended", res.Summary())
	}

	// Not allowed: never dialled, the caller goes to an agent.
	e.phone(1, "agent-uas-hangup.xml", map[string]string{"ring_ms": "500", "hangup_ms": "2000"})
	e.ready("1001")
	if r := e.callTo("10087", []string{"13800000042", "", "0", "", "0", "", "0", "0"}); r.Failed != 0 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	ct = e.contact("13800000042")
	if ct.Disposition.String != store.DispAnswered || ct.AgentID.String != "1001" {
		t.Fatalf("contact %+v: a transfer that may not be dialled goes to an agent", ct)
	}
	if tr := e.trail(ct.ID); !has(tr, "ivr/transfer/to 12345 not placed (12345 matches no prefix in transfer.allow): to an agent instead") {
		t.Fatalf("trail:\n%s", strings.Join(tr, "\n"))
	}
	if slices.Contains(e.eventKinds(ct.ID), "transfer_dialing") {
		t.Fatal("a number outside transfer.allow was dialled")
	}
	var reason string
	if err := e.db.GetContext(e.ctx, &reason, `SELECT data->>'reason' FROM contact_events WHERE contact_id = $1 AND kind = 'transfer_failed'`, ct.ID); err != nil || reason != "not allowed" {
		t.Fatalf("transfer_failed reason %q (%v), want not allowed", reason, err)
	}
}
