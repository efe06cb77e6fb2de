// Package report derives contact-center numbers from the durable contact
// records in Postgres (contacts, recordings, agents), so a report and the
// live view can never disagree about what happened.
package report

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"
)

// Summary is what happened to the calls that arrived since a moment.
type Summary struct {
	Since time.Time

	Offered         int // calls that arrived
	Contained       int // finished in the IVR (disposition contained)
	Queued          int // reached a queue
	Answered        int // answered by an agent
	Abandoned       int // caller hung up in the IVR, in queue or while an agent's phone rang
	ReleasedNoInput int // released after the IVR's no-input timeout

	ASA     time.Duration // average speed of answer: answered_at - queued_at, over answered calls
	AvgTalk time.Duration // average answered_at → ended_at, over answered calls that ended

	Recordings       int     // recordings that passed the size/duration check (ok = true)
	RecordedSeconds  float64 // seconds of those recordings
	FailedRecordings int     // recordings that failed the check (ok = false)

	Agents []AgentSummary // agents that answered calls, by id
}

// AgentSummary is one agent's share of the answered calls.
type AgentSummary struct {
	ID    string
	Name  string
	Calls int           // calls answered
	Talk  time.Duration // total answered_at → ended_at of those that ended
}

// Compute summarises the contacts that arrived at or after since. All
// numbers come from one consistent snapshot of the database.
func Compute(ctx context.Context, db *sqlx.DB, since time.Time) (Summary, error) {
	s := Summary{Since: since}
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return s, fmt.Errorf("report: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to commit

	var c struct {
		Offered         int     `db:"offered"`
		Contained       int     `db:"contained"`
		Queued          int     `db:"queued"`
		Answered        int     `db:"answered"`
		Abandoned       int     `db:"abandoned"`
		ReleasedNoInput int     `db:"released_no_input"`
		ASA             float64 `db:"asa"`
		AvgTalk         float64 `db:"avg_talk"`
	}
	err = tx.GetContext(ctx, &c, `
		SELECT count(*) AS offered,
		       count(*) FILTER (WHERE disposition = 'contained') AS contained,
		       count(*) FILTER (WHERE queued_at IS NOT NULL) AS queued,
		       count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,
		       count(*) FILTER (WHERE disposition IN ('abandoned_queue', 'abandoned_ivr', 'abandoned_ringing')) AS abandoned,
		       count(*) FILTER (WHERE disposition = 'released_no_input') AS released_no_input,
		       COALESCE(avg(EXTRACT(EPOCH FROM answered_at - queued_at))
		           FILTER (WHERE answered_at IS NOT NULL AND queued_at IS NOT NULL), 0)::float8 AS asa,
		       COALESCE(avg(EXTRACT(EPOCH FROM ended_at - answered_at))
		           FILTER (WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL), 0)::float8 AS avg_talk
		FROM contacts WHERE arrived_at >= $1`, since)
	if err != nil {
		return s, fmt.Errorf("report: contacts: %w", err)
	}
	s.Offered, s.Contained, s.Queued, s.Answered = c.Offered, c.Contained, c.Queued, c.Answered
	s.Abandoned, s.ReleasedNoInput = c.Abandoned, c.ReleasedNoInput
	s.ASA, s.AvgTalk = seconds(c.ASA), seconds(c.AvgTalk)

	var r struct {
		OK      int     `db:"ok"`
		Seconds float64 `db:"seconds"`
		Failed  int     `db:"failed"`
	}
	err = tx.GetContext(ctx, &r, `
		SELECT count(*) FILTER (WHERE r.ok) AS ok,
		       COALESCE(sum(r.seconds) FILTER (WHERE r.ok), 0)::float8 AS seconds,
		       count(*) FILTER (WHERE NOT r.ok) AS failed
		FROM recordings r JOIN contacts c ON c.id = r.contact_id
		WHERE c.arrived_at >= $1`, since)
	if err != nil {
		return s, fmt.Errorf("report: recordings: %w", err)
	}
	s.Recordings, s.RecordedSeconds, s.FailedRecordings = r.OK, r.Seconds, r.Failed

	var agents []struct {
		ID    string  `db:"id"`
		Name  string  `db:"name"`
		Calls int     `db:"calls"`
		Talk  float64 `db:"talk"`
	}
	err = tx.SelectContext(ctx, &agents, `
		SELECT c.agent_id AS id, COALESCE(a.name, '') AS name, count(*) AS calls,
		       COALESCE(sum(EXTRACT(EPOCH FROM c.ended_at - c.answered_at)), 0)::float8 AS talk
		FROM contacts c LEFT JOIN agents a ON a.id = c.agent_id
		WHERE c.arrived_at >= $1 AND c.answered_at IS NOT NULL AND c.agent_id IS NOT NULL
		GROUP BY c.agent_id, a.name ORDER BY c.agent_id`, since)
	if err != nil {
		return s, fmt.Errorf("report: agents: %w", err)
	}
	for _, a := range agents {
		s.Agents = append(s.Agents, AgentSummary{ID: a.ID, Name: a.Name, Calls: a.Calls, Talk: seconds(a.Talk)})
	}
	return s, nil
}

func seconds(f float64) time.Duration {
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond)
}

// Print writes the summary as a human table. Its last line is always,
// exactly:
//
//	demo: offered=N contained=N queued=N answered=N abandoned=N released_no_input=N recordings=N recorded_seconds=S.S
func (s Summary) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if !s.Since.IsZero() {
		fmt.Fprintf(tw, "calls since %s\n", s.Since.Format(time.RFC3339))
	}
	rows := []struct {
		name  string
		value any
	}{
		{"offered", s.Offered},
		{"contained in IVR", s.Contained},
		{"released (no input)", s.ReleasedNoInput},
		{"queued", s.Queued},
		{"answered", s.Answered},
		{"abandoned", s.Abandoned},
		{"average speed of answer", s.ASA},
		{"average talk time", s.AvgTalk},
		{"recordings", s.Recordings},
		{"recorded seconds", fmt.Sprintf("%.1f", s.RecordedSeconds)},
		{"failed recordings", s.FailedRecordings},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%v\n", r.name, r.value)
	}
	if len(s.Agents) > 0 {
		fmt.Fprintln(tw, "\n  AGENT\tNAME\tCALLS\tTALK")
		for _, a := range s.Agents {
			name := a.Name
			if name == "" {
				name = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\n", a.ID, name, a.Calls, a.Talk)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, s.DemoLine())
}

// DemoLine is the machine-checked summary line Print ends with.
func (s Summary) DemoLine() string {
	return fmt.Sprintf("demo: offered=%d contained=%d queued=%d answered=%d abandoned=%d released_no_input=%d recordings=%d recorded_seconds=%.1f",
		s.Offered, s.Contained, s.Queued, s.Answered, s.Abandoned, s.ReleasedNoInput, s.Recordings, s.RecordedSeconds)
}
