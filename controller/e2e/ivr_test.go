package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/internal/sipp"
	"github.com/hotline-cc/hotline/controller/ivr/flow"
	"github.com/hotline-cc/hotline/controller/store"
)

// A caller changes the service password by phone: four secret entries
// (old, new, new again) keyed as RFC 2833 DTMF, then 1 to confirm. The
// password changes in Postgres; no digit reaches the trail or the
// contact log, which say only how many digits were collected.
func TestSecretCollectChangesThePassword(t *testing.T) {
	e := start(t, fast)
	if _, err := e.db.ExecContext(e.ctx, `INSERT INTO service_passwords (number, password_hash)
		VALUES ('13800000011', crypt('135790', gen_salt('bf', 4)))`); err != nil {
		t.Fatal(err)
	}
	// 2 in the main menu; the old password; the new one twice and 1 to
	// confirm, keyed ahead (they carry over from prompt to prompt).
	r := e.call([]string{"13800000011", "2", "2500", "135790", "3500", "2468022468021", "4500", "0"})
	if r.Failed != 0 || r.Events["far-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000011")
	if c.Disposition.String != store.DispContained {
		t.Fatalf("contact %+v, want contained; trail:\n%s", c, strings.Join(e.trail(c.ID), "\n"))
	}
	var changed bool
	if err := e.db.GetContext(e.ctx, &changed, `SELECT password_hash = crypt('246802', password_hash)
		FROM service_passwords WHERE number = '13800000011'`); err != nil || !changed {
		t.Fatalf("password not changed to the new one (%v)", err)
	}
	trail := e.trail(c.ID)
	for _, want := range []string{"pw_old/collected/6 digits", "pw_new/collected/6 digits", "pw_again/collected/6 digits",
		"pw_confirm/key/1", "pw_changed/prompt/sound:hotline/pw-changed"} {
		if !has(trail, want) {
			t.Errorf("trail lacks %q:\n%s", want, strings.Join(trail, "\n"))
		}
	}
	var events []string
	if err := e.db.SelectContext(e.ctx, &events, `SELECT data::text FROM contact_events WHERE contact_id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(trail, "\n") + strings.Join(events, "\n")
	for _, secret := range []string{"135790", "246802", "1357", "2468"} {
		if strings.Contains(all, secret) {
			t.Fatalf("secret digits %s reached the trail or the contact log:\n%s", secret, all)
		}
	}
	for _, step := range trail {
		if strings.HasPrefix(step, "pw_old/key/") || strings.HasPrefix(step, "pw_new/key/") || strings.HasPrefix(step, "pw_again/key/") {
			t.Fatalf("a secret key was trailed: %s", step)
		}
	}
}

// A deploy changes the flow for new calls only: a call that started on
// version 1 finishes on it, a call after the deploy runs version 2.
func TestDeployWhileCallsAreUp(t *testing.T) {
	slow := fast
	slow.noInput = 30 * time.Second
	e := start(t, slow)
	// A: presses 1 only after 9 s, so it is in the menu across the deploy.
	a := e.callAsync([]string{"13800000002", "1", "9000", "", "0", "", "0", "0"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		var v []int
		if err := e.db.SelectContext(e.ctx, &v, `SELECT ivr_version FROM contacts WHERE caller = '13800000002' AND ivr_version IS NOT NULL`); err != nil {
			t.Fatal(err)
		}
		if len(v) == 1 && v[0] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("caller A is not running version 1 of main (%v)", v)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Version 2: the greeting also asks the caller to hold on.
	dir := scriptsDir(t)
	opts, err := flow.LoadOptions(filepath.Join(dir, "prompts.txt"), filepath.Join(dir, "queries.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := flow.LoadFile(filepath.Join(dir, "main.yaml"), opts)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range prog.Files() {
		if files[f], err = os.ReadFile(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	v2 := strings.Replace(string(files["main.yaml"]), "say: [welcome]", "say: [welcome, please-hold]", 1)
	if v2 == string(files["main.yaml"]) {
		t.Fatal("main.yaml has no `say: [welcome]` to change")
	}
	files["main.yaml"] = []byte(v2)
	if v, _, err := e.st.DeployFlow(e.ctx, "main", files, "e2e", "greeting v2"); err != nil || v != 2 {
		t.Fatalf("deploy: version %d, %v", v, err)
	}
	b := e.callAsync([]string{"13800000001", "1", "5000", "", "0", "", "0", "0"})
	for _, p := range []*sipp.Process{a, b} {
		if r, err := p.Wait(); err != nil || r.Failed != 0 {
			t.Fatalf("caller: %v %s\n%s", err, r.Summary(), r.Errors())
		}
	}
	ca, cb := e.contact("13800000002"), e.contact("13800000001")
	if ca.IVRVersion.Int64 != 1 || cb.IVRVersion.Int64 != 2 {
		t.Fatalf("versions: call before the deploy %d, after %d; want 1 and 2", ca.IVRVersion.Int64, cb.IVRVersion.Int64)
	}
	if ta := e.trail(ca.ID); !has(ta, "greeting/prompt/sound:hotline/welcome") || !has(ta, "read_bill/prompt/sound:hotline/bill-is number:88 sound:hotline/yuan number:0 sound:hotline/cents") {
		t.Fatalf("call A (version 1) trail:\n%s", strings.Join(ta, "\n"))
	}
	if tb := e.trail(cb.ID); !has(tb, "greeting/prompt/sound:hotline/welcome sound:hotline/please-hold") {
		t.Fatalf("call B (version 2) trail:\n%s", strings.Join(tb, "\n"))
	}
	if ca.Disposition.String != store.DispContained || cb.Disposition.String != store.DispContained {
		t.Fatalf("dispositions %s, %s; want contained", ca.Disposition.String, cb.Disposition.String)
	}
}

// When the agent ends the call, the caller hears the post-call survey
// and the score keyed is stored with the contact.
func TestSurveyAfterTheAgentHangsUp(t *testing.T) {
	o := fast
	o.edit = func(cfg *config.Config) { cfg.Services[0].Survey = "survey" }
	e := start(t, o)
	e.phone(1, "agent-uas-hangup.xml", map[string]string{"ring_ms": "500", "hangup_ms": "3000"})
	e.ready("1001")
	// 0 for an agent; 4 into the survey, about 2 s after the agent hangs up.
	r := e.call([]string{"13800000014", "0", "1500", "4", "7000", "", "0", "0"})
	if r.Failed != 0 || r.Events["far-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000014")
	if c.Disposition.String != store.DispAnswered || c.HangupBy.String != "agent" {
		t.Fatalf("contact %+v, want answered, ended by the agent", c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var score []int
		if err := e.db.SelectContext(e.ctx, &score, `SELECT survey_score FROM contacts WHERE id = $1 AND survey_score IS NOT NULL`, c.ID); err != nil {
			t.Fatal(err)
		}
		if len(score) == 1 {
			if score[0] != 4 {
				t.Fatalf("survey score %d, want 4", score[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no survey score; trail:\n%s", strings.Join(e.trail(c.ID), "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
