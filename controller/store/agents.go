package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// AgentRow is an agent with its durable state and queues.
type AgentRow struct {
	ID         string         `db:"id"`
	Name       string         `db:"name"`
	Endpoint   string         `db:"endpoint"`
	State      string         `db:"state"`
	Reason     string         `db:"reason"`
	StateSince time.Time      `db:"state_since"`
	IdleSince  time.Time      `db:"idle_since"`
	Queues     pq.StringArray `db:"queues"`
	// The agent's today counters as last written (SaveAgentState), and
	// when (null: never). Whether they are still today's is for the
	// reader to judge in its own time zone (acd.New does).
	CallsToday  int          `db:"calls_today"`
	TalkTodayMS int64        `db:"talk_today_ms"`
	CountersAt  sql.NullTime `db:"counters_at"`
}

// TalkToday is the row's talk time counter.
func (r AgentRow) TalkToday() time.Duration { return time.Duration(r.TalkTodayMS) * time.Millisecond }

// Agents returns every agent with its queues and today counters.
func (s *Store) Agents(ctx context.Context) ([]AgentRow, error) {
	var rows []AgentRow
	err := s.DB.SelectContext(ctx, &rows, `
		SELECT a.id, a.name, a.endpoint, a.state, a.reason, a.state_since, a.idle_since,
		       COALESCE(array_agg(q.queue_id ORDER BY q.queue_id) FILTER (WHERE q.queue_id IS NOT NULL), '{}') AS queues,
		       a.calls_today, a.talk_today_ms, a.counters_at
		FROM agents a LEFT JOIN agent_queues q ON q.agent_id = a.id
		GROUP BY a.id ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("store: agents: %w", err)
	}
	return rows, nil
}

// AgentState is one durable agent state change, with the agent's today
// counters as of At.
type AgentState struct {
	AgentID    string
	State      string
	Reason     string
	At         time.Time
	IdleSince  time.Time
	ContactID  int64
	CallsToday int
	TalkToday  time.Duration
}

// SaveAgentState makes a state change durable: the agent's current row
// (with its today counters, stamped with At), its history and the
// contact log, in one transaction.
func (s *Store) SaveAgentState(ctx context.Context, st AgentState) error {
	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: agent %s state: %w", st.AgentID, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, `UPDATE agents SET state = $2, reason = $3, state_since = $4, idle_since = $5,
		calls_today = $6, talk_today_ms = $7, counters_at = $4 WHERE id = $1`,
		st.AgentID, st.State, st.Reason, st.At, st.IdleSince, st.CallsToday, st.TalkToday.Milliseconds()); err != nil {
		return fmt.Errorf("store: agent %s state: %w", st.AgentID, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO agent_state_history (agent_id, state, reason, contact_id, at)
		VALUES ($1, $2, $3, NULLIF($4, 0), $5)`, st.AgentID, st.State, st.Reason, st.ContactID, st.At); err != nil {
		return fmt.Errorf("store: agent %s history: %w", st.AgentID, err)
	}
	data, _ := json.Marshal(map[string]string{"state": st.State, "reason": st.Reason})
	if _, err := tx.ExecContext(ctx, `INSERT INTO contact_events (contact_id, agent_id, kind, data, at)
		VALUES (NULLIF($1, 0), $2, 'agent_state', $3, $4)`, st.ContactID, st.AgentID, data, st.At); err != nil {
		return fmt.Errorf("store: agent %s event: %w", st.AgentID, err)
	}
	return tx.Commit()
}

// leaderLockKey is the advisory lock that makes one controller active.
const leaderLockKey = 0x686f746c696e65 // "hotline"

// LeaderLock blocks until this process is the one active controller for
// the database (a standby waits here), and returns the release function.
// The lock lives on one dedicated connection: if the process dies, Postgres
// releases it when the connection drops.
func (s *Store) LeaderLock(ctx context.Context, log interface{ Info(string, ...any) }) (func(), error) {
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: leader lock: %w", err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, leaderLockKey).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: leader lock: %w", err)
	}
	if !got {
		log.Info("another controller is active; waiting as standby")
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, leaderLockKey); err != nil {
			conn.Close()
			return nil, fmt.Errorf("store: leader lock: %w", err)
		}
	}
	log.Info("active controller")
	return func() {
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, leaderLockKey)
		conn.Close()
	}, nil
}
