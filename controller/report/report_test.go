package report_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/report"
	"github.com/hotline-cc/hotline/controller/store"
)

func TestCompute(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, testenv.NewDatabase(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := store.Migrate(ctx, st.DB.DB, log); err != nil {
		t.Fatal(err)
	}
	db := st.DB

	since := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return since.Add(time.Duration(sec) * time.Second) }
	exec(t, db, `INSERT INTO agents (id, name, endpoint) VALUES ('1001', 'Agent One', 'PJSIP/agent1'), ('1002', 'Agent Two', 'PJSIP/agent2')`)

	type contact struct {
		disp                    any // string or nil (live call)
		agent                   any
		arrived                 time.Time
		queued, answered, ended any
	}
	contacts := []contact{
		// An old call, before since: excluded from everything.
		{"answered", "1001", since.Add(-time.Hour), at(-3590), at(-3580), at(-3000)},
		// Contained in the IVR, released on no input.
		{"contained", nil, at(0), nil, nil, at(30)},
		{"contained", nil, at(1), nil, nil, at(40)},
		{"released_no_input", nil, at(2), nil, nil, at(62)},
		// Abandoned in IVR, in queue, while ringing.
		{"abandoned_ivr", nil, at(3), nil, nil, at(5)},
		{"abandoned_queue", nil, at(4), at(10), nil, at(50)},
		{"abandoned_ringing", "1002", at(5), at(11), nil, at(30)},
		// Answered: waits 10 s, 20 s, 30 s; talks 60 s, 120 s, (live).
		{"answered", "1001", at(6), at(10), at(20), at(80)},
		{"answered", "1001", at(7), at(10), at(30), at(150)},
		{nil, "1002", at(8), at(10), at(40), nil},
	}
	var ids []int64
	for i, c := range contacts {
		var id int64
		if err := db.QueryRowContext(ctx, `INSERT INTO contacts (channel_id, service_number, agent_id, disposition,
			arrived_at, queued_at, answered_at, ended_at) VALUES ($1, '10000', $2, $3, $4, $5, $6, $7) RETURNING id`,
			"ch-"+string(rune('a'+i)), c.agent, c.disp, c.arrived, c.queued, c.answered, c.ended).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rec := func(contact int64, name string, seconds any, ok any) {
		exec(t, db, `INSERT INTO recordings (contact_id, name, path, format, seconds, ok, started_at)
			VALUES ($1, $2, '/r/'||$2, 'wav', $3, $4, now())`, contact, name, seconds, ok)
	}
	rec(ids[0], "old", 500.0, true) // before since
	rec(ids[7], "r1", 60.25, true)  // ok
	rec(ids[8], "r2", 119.9, true)  // ok
	rec(ids[6], "r3", 0.0, false)   // failed check (44-byte file)
	rec(ids[9], "r4", nil, nil)     // still recording: neither
	sum, err := report.Compute(ctx, db, since)
	if err != nil {
		t.Fatal(err)
	}

	want := report.Summary{
		Since: since, Offered: 9, Contained: 2, Queued: 5, Answered: 3, Abandoned: 3, ReleasedNoInput: 1,
		ASA: 20 * time.Second, AvgTalk: 90 * time.Second,
		Recordings: 2, RecordedSeconds: 180.15, FailedRecordings: 1,
		Agents: []report.AgentSummary{
			{ID: "1001", Name: "Agent One", Calls: 2, Talk: 180 * time.Second},
			{ID: "1002", Name: "Agent Two", Calls: 1, Talk: 0},
		},
	}
	if !sum.Since.Equal(want.Since) {
		t.Errorf("Since %v", sum.Since)
	}
	sum.Since = want.Since
	if got, w := strings.TrimSpace(strings.ReplaceAll(fmtSummary(sum), "\t", " ")), strings.TrimSpace(strings.ReplaceAll(fmtSummary(want), "\t", " ")); got != w {
		t.Errorf("Compute\n got %s\nwant %s", got, w)
	}

	var buf bytes.Buffer
	sum.Print(&buf)
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	if wantLast := "demo: offered=9 contained=2 queued=5 answered=3 abandoned=3 released_no_input=1 recordings=2 recorded_seconds=180.2"; last != wantLast {
		t.Errorf("last line\n got %q\nwant %q\nfull output:\n%s", last, wantLast, buf.String())
	}
	for _, s := range []string{"average speed of answer  20s", "average talk time        1m30s", "1001   Agent One  2      3m0s", "failed recordings        1"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, buf.String())
		}
	}

	// Nothing since: zeros, and the line still has one decimal.
	empty, err := report.Compute(ctx, db, since.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := empty.DemoLine(); got != "demo: offered=0 contained=0 queued=0 answered=0 abandoned=0 released_no_input=0 recordings=0 recorded_seconds=0.0" {
		t.Errorf("empty: %s", got)
	}
}

func fmtSummary(s report.Summary) string {
	var b strings.Builder
	b.WriteString(strings.Join([]string{
		"offered", itoa(s.Offered), "contained", itoa(s.Contained), "queued", itoa(s.Queued),
		"answered", itoa(s.Answered), "abandoned", itoa(s.Abandoned), "released", itoa(s.ReleasedNoInput),
		"asa", s.ASA.String(), "talk", s.AvgTalk.String(), "recs", itoa(s.Recordings),
		"secs", strconvF(s.RecordedSeconds), "failed", itoa(s.FailedRecordings),
	}, " "))
	for _, a := range s.Agents {
		b.WriteString(" | " + a.ID + " " + a.Name + " " + itoa(a.Calls) + " " + a.Talk.String())
	}
	return b.String()
}

func exec(t *testing.T, db *sqlx.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func strconvF(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }
