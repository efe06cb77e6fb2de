package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/store"
)

func TestNoticeCommands(t *testing.T) {
	db := migratedTestDB(t)
	env := map[string]string{"USER": "ops"}
	now := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	notice := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		code, out, stderr := runHotline(t, env, now, append(append([]string{"notice"}, args...), "--database-url", db)...)
		if code != wantCode {
			t.Fatalf("notice %v: exit %d, want %d; stdout %q, stderr %q", args, code, wantCode, out, stderr)
		}
		return out, stderr
	}

	out, _ := notice(0, "add", "--kind", "outage", "--area", "0755", "--prompt", "sound:hotline/outage-0755",
		"--text", "Power cut in Futian", "--for", "4h")
	if want := "notice 1 added: outage for area 0755 from 2025-06-01T08:00:00Z until 2025-06-01T12:00:00Z (sound:hotline/outage-0755)\n"; out != want {
		t.Errorf("add outage: %q, want %q", out, want)
	}
	out, _ = notice(0, "add", "--kind", "tariff", "--prompt", "sound:hotline/tariff-july", "--text", "New tariff",
		"--from", "2025-07-01T00:00:00+08:00", "--by", "boss")
	if want := "notice 2 added: tariff for everywhere from 2025-06-30T16:00:00Z until ended (sound:hotline/tariff-july)\n"; out != want {
		t.Errorf("add tariff: %q, want %q", out, want)
	}
	notice(0, "add", "--kind", "emergency", "--prompt", "sound:hotline/typhoon", "--from", "2025-06-01T06:00:00Z",
		"--until", "2025-06-02T06:00:00Z")

	out, _ = notice(0, "list")
	want := `ID  KIND       AREA  STATUS     FROM                  UNTIL                 PROMPT                     TEXT
3   emergency  *     active     2025-06-01T06:00:00Z  2025-06-02T06:00:00Z  sound:hotline/typhoon      -
1   outage     0755  active     2025-06-01T08:00:00Z  2025-06-01T12:00:00Z  sound:hotline/outage-0755  Power cut in Futian
2   tariff     *     scheduled  2025-06-30T16:00:00Z  -                     sound:hotline/tariff-july  New tariff
`
	if out != want {
		t.Errorf("list:\n got:\n%s\nwant:\n%s", out, want)
	}

	// The store sees what the caller hears: the emergency first.
	st := openVersionStore(t, db)
	active, err := st.ActiveNotices(context.Background(), "075512345", "", nil, now)
	if err != nil || len(active) != 2 || active[0].ID != 3 || active[1].ID != 1 {
		t.Fatalf("active notices for a 0755 caller = %+v, %v", active, err)
	}

	out, _ = notice(0, "end", "1")
	if !strings.HasPrefix(out, "notice 1 ended: outage for area 0755") {
		t.Errorf("end: %q", out)
	}
	if _, stderr := notice(1, "end", "1"); !strings.Contains(stderr, "notice 1 was already ended at") || !strings.Contains(stderr, "by ops") {
		t.Errorf("end twice: %q", stderr)
	}
	if _, stderr := notice(1, "end", "99"); !strings.Contains(stderr, "notice 99 does not exist") {
		t.Errorf("end unknown: %q", stderr)
	}
	if _, stderr := notice(1, "end", "one"); !strings.Contains(stderr, `notice ID "one": want the number`) {
		t.Errorf("end one: %q", stderr)
	}

	out, _ = notice(0, "list")
	if strings.Contains(out, "outage") || !strings.Contains(out, "typhoon") {
		t.Errorf("list after ending 1:\n%s", out)
	}
	out, _ = notice(0, "list", "--all", "--json")
	var got []struct {
		store.Notice
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	var summary []string
	for _, n := range got {
		summary = append(summary, n.Kind+" "+n.Status+" "+n.CreatedBy+" "+n.EndedBy)
	}
	if want := []string{"emergency active ops ", "outage ended ops ops", "tariff scheduled boss "}; strings.Join(summary, "|") != strings.Join(want, "|") {
		t.Errorf("list --all --json: %q, want %q", summary, want)
	}
}

func TestNoticeAddErrorsNameTheFlag(t *testing.T) {
	db := migratedTestDB(t)
	now := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	ok := []string{"--kind", "outage", "--area", "0755", "--prompt", "sound:hotline/outage-0755"}
	with := func(flag, value string) []string {
		args := append([]string{}, ok...)
		for i := 0; i < len(args); i += 2 {
			if args[i] == flag {
				args[i+1] = value
				return args
			}
		}
		return append(args, flag, value)
	}
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{with("--kind", "party"), nil, `--kind: "party" is not one of outage, tariff, emergency`},
		{with("--area", "07a5"), nil, `--area: "07a5": use the digits`},
		{with("--prompt", "hotline/outage"), nil, `--prompt: "hotline/outage" is not a sound name`},
		{with("--from", "tomorrow"), nil, `--from "tomorrow": use "now" or an RFC 3339 time`},
		{with("--until", "2025-06-01T07:00:00Z"), nil, "--until 2025-06-01T07:00:00Z is not after --from 2025-06-01T08:00:00Z"},
		{append(with("--from", "2025-05-01T00:00:00Z"), "--until", "2025-05-02T00:00:00Z"), nil, "--until 2025-05-02T00:00:00Z has already passed"},
		{append(with("--until", "2025-06-02T00:00:00Z"), "--for", "1h"), nil, "--until and --for: give one of them"},
		{with("--for", "-1h"), nil, "--for -1h0m0s: give a positive duration"},
		{with("--until", "soon"), nil, `--until "soon": use "now" or an RFC 3339 time`},
		{[]string{"--kind", "outage"}, nil, `required flag(s) "prompt" not set`},
		{ok, map[string]string{}, "--by: say who is making the change"},
	} {
		env := tt.env
		if env == nil {
			env = map[string]string{"USER": "ops"}
		}
		args := append(append([]string{"notice", "add"}, tt.args...), "--database-url", db)
		code, out, stderr := runHotline(t, env, now, args...)
		if code != 1 || out != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, out %q, stderr %q; want %q", tt.args, code, out, stderr, tt.want)
		}
	}
	// None of them stored anything.
	code, out, _ := runHotline(t, map[string]string{"USER": "ops"}, now, "notice", "list", "--all", "--json", "--database-url", db)
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("list after refused adds: exit %d, %q", code, out)
	}
}
