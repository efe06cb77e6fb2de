package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// An outage notice for an area (a prefix of the caller's number), added
// as `hotline notice add` adds it, plays on the fault line before its
// menu, to its end; a notice for the same area that has been ended, and
// one for another area, do not. Once the first is ended too, the next
// caller from the area hears none.
func TestOutageNoticePlaysOnTheFaultLine(t *testing.T) {
	o := fast
	o.edit = func(c *config.Config) {
		c.Services = append(c.Services, config.Service{Number: "10003", Name: "Fault line", Queue: "general", Flow: "fault"})
	}
	e := start(t, o)
	add := func(area, prompt, text string) store.Notice {
		t.Helper()
		n, err := e.st.AddNotice(e.ctx, store.Notice{Kind: store.NoticeOutage, AreaPrefix: area, Prompt: prompt, Text: text, CreatedBy: "e2e"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	active := add("1380000004", "sound:hotline/bb-down", "Broadband outage in the area")
	over := add("138000000", "sound:hotline/queue-long-wait", "An outage that is over")
	if _, err := e.st.EndNotice(e.ctx, over.ID, "e2e"); err != nil {
		t.Fatal(err)
	}
	elsewhere := add("0755", "sound:hotline/please-hold", "Outage in another area")

	// The caller keys nothing and hangs up once the menu has begun: the
	// welcome and the notice take about 7.5 s.
	if r := e.callTo("10003", []string{"13800000041", "", "0", "", "0", "", "0", "12000"}); r.Failed != 0 || r.Events["near-bye"] != 1 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000041")
	if c.ServiceNumber != "10003" || c.IVRFlow.String != "fault" {
		t.Fatalf("contact %+v, want the fault flow of service 10003", c)
	}
	trail := e.trail(c.ID)
	for _, want := range []string{"welcome/prompt/sound:hotline/fault-welcome", fmt.Sprintf("outage/notice/outage #%d", active.ID),
		"outage/prompt/sound:hotline/bb-down", "fault_menu/prompt/sound:hotline/fault-menu"} {
		if !has(trail, want) {
			t.Errorf("trail lacks %q:\n%s", want, strings.Join(trail, "\n"))
		}
	}
	for _, n := range []store.Notice{over, elsewhere} {
		if has(trail, fmt.Sprintf("outage/notice/outage #%d", n.ID)) || has(trail, "outage/prompt/"+n.Prompt) {
			t.Errorf("notice %d (%s) was played:\n%s", n.ID, n.Text, strings.Join(trail, "\n"))
		}
	}
	// The notice played to its end before the menu.
	steps := e.trailSteps(c.ID)
	var noticeAt, menuAt time.Time
	for _, s := range steps {
		switch {
		case s.Node == "outage" && s.Kind == "prompt":
			noticeAt = s.At
		case s.Node == "fault_menu" && s.Kind == "prompt" && menuAt.IsZero():
			menuAt = s.At
		}
	}
	if heard := e.promptSeconds("bb-down"); noticeAt.IsZero() || menuAt.Sub(noticeAt).Seconds() < heard-0.3 {
		t.Fatalf("the menu came %s after the notice began; the notice lasts %.2f s", menuAt.Sub(noticeAt), heard)
	}

	// Ended, the notice is not played to the next caller from the area.
	if _, err := e.st.EndNotice(e.ctx, active.ID, "e2e"); err != nil {
		t.Fatal(err)
	}
	if r := e.callTo("10003", []string{"13800000042", "", "0", "", "0", "", "0", "6000"}); r.Failed != 0 || r.Events["near-bye"] != 1 {
		t.Fatalf("second caller: %s\n%s", r.Summary(), r.Errors())
	}
	next := e.trail(e.contact("13800000042").ID)
	if !has(next, "outage/notice/none") || !has(next, "fault_menu/prompt/sound:hotline/fault-menu") ||
		slices.ContainsFunc(next, func(s string) bool { return strings.HasPrefix(s, "outage/prompt/") }) {
		t.Fatalf("after the notice ended the caller still heard one:\n%s", strings.Join(next, "\n"))
	}
}
