// Package store owns hotline's durable state in Postgres: the schema
// (embedded goose migrations), the configuration rows synced from the
// configuration file (queues, service numbers, agents), and the contact
// log, IVR trails, agent states and recordings that must outlive a process.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/hotline-cc/hotline/controller/config"
)

// Store is hotline's handle on Postgres.
type Store struct {
	DB *sqlx.DB
}

// maxConns bounds the pool; openFirstDelay and openMaxDelay bound Open's
// retries while Postgres is unreachable.
const (
	maxConns       = 32
	openFirstDelay = 200 * time.Millisecond
	openMaxDelay   = 5 * time.Second
)

// Open connects to Postgres at dsn (a postgres:// URL or key=value DSN)
// and pings it. While Postgres is unreachable it logs "postgres
// unreachable, retrying" and retries with exponential backoff until ctx
// ends; errors that retrying cannot fix (bad URL, authentication failed,
// no such database) are returned at once.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	conn, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: database url: %w", err)
	}
	db := sql.OpenDB(conn)
	// Keep every connection the pool opens: under load the IVR's lookups,
	// call records and agent states use many at once, and closing all but
	// a few after each burst makes the next burst wait for new backends.
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)

	target := Redact(dsn)
	delay := openFirstDelay
	for attempt := 1; ; attempt++ {
		err := db.PingContext(ctx)
		if err == nil {
			if attempt > 1 {
				log.Info("postgres reachable", "database", target, "attempts", attempt)
			}
			return &Store{DB: sqlx.NewDb(db, "postgres")}, nil
		}
		if !retryable(err) {
			db.Close()
			return nil, fmt.Errorf("store: connect to %s: %w", target, err)
		}
		log.Warn("postgres unreachable, retrying", "database", target, "attempt", attempt, "retry_in", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			db.Close()
			return nil, fmt.Errorf("store: postgres at %s unreachable after %d attempts: %w (last error: %v)", target, attempt, context.Cause(ctx), err)
		case <-t.C:
		}
		delay = min(2*delay, openMaxDelay)
	}
}

// retryable reports whether a failed ping may succeed later: the network
// or a server still starting up, as opposed to a refusal from a running
// server (wrong password, no such database).
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true // the loop notices ctx and stops
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.SQLState() {
		case "57P03", // cannot_connect_now: starting up / shutting down
			"53300": // too_many_connections
			return true
		}
		return false
	}
	return true
}

// Redact returns a Postgres connection string fit for logs: the password
// (URL or key=value form) replaced by "xxxxx".
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	fields := strings.Fields(dsn)
	for i, f := range fields {
		if k, _, ok := strings.Cut(f, "="); ok && strings.EqualFold(strings.TrimSpace(k), "password") {
			fields[i] = k + "=xxxxx"
		}
	}
	return strings.Join(fields, " ")
}

// Close closes the connection pool.
func (s *Store) Close() error {
	return s.DB.Close()
}

// SyncConfig makes the configuration's queues, service numbers and agents
// current in Postgres, in one transaction: queues and service numbers are
// upserted; agents are upserted by id with their name and endpoint only
// (an existing agent's state, reason and timestamps are never touched);
// agent_queues is replaced by the configuration's memberships. Service
// numbers no longer in the configuration are deleted (nothing refers to
// them and a stale one would still route calls). Queues and agents no
// longer in the configuration are kept, because history refers to them,
// but they lose every queue membership, so nothing is routed to them.
func (s *Store) SyncConfig(ctx context.Context, cfg *config.Config) error {
	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: sync config: %w", err)
	}
	defer tx.Rollback() // no-op after Commit

	step := func(what string, q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store: sync config: %s: %w", what, err)
		}
		return nil
	}

	for _, q := range cfg.Queues {
		if err := step("queue "+q.ID, `
			INSERT INTO queues (id, name, strategy, ring_timeout_ms, wrap_up_ms)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, strategy = EXCLUDED.strategy,
				ring_timeout_ms = EXCLUDED.ring_timeout_ms, wrap_up_ms = EXCLUDED.wrap_up_ms`,
			q.ID, q.Name, q.Strategy, q.RingTimeout.Milliseconds(), q.WrapUp.Milliseconds()); err != nil {
			return err
		}
	}

	numbers := make([]string, 0, len(cfg.Services))
	for _, sv := range cfg.Services {
		numbers = append(numbers, sv.Number)
		if err := step("service number "+sv.Number, `
			INSERT INTO service_numbers (number, name, queue_id, flow)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (number) DO UPDATE SET name = EXCLUDED.name, queue_id = EXCLUDED.queue_id,
				flow = EXCLUDED.flow`,
			sv.Number, sv.Name, sv.Queue, sv.Flow); err != nil {
			return err
		}
	}
	if err := step("stale service numbers", `DELETE FROM service_numbers WHERE NOT (number = ANY($1))`,
		pq.StringArray(numbers)); err != nil {
		return err
	}

	for _, a := range cfg.Agents {
		if err := step("agent "+a.ID, `
			INSERT INTO agents (id, name, endpoint) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, endpoint = EXCLUDED.endpoint`,
			a.ID, a.Name, a.Endpoint); err != nil {
			return err
		}
	}
	if err := step("agent queues", `DELETE FROM agent_queues`); err != nil {
		return err
	}
	for _, a := range cfg.Agents {
		for _, q := range a.Queues {
			if err := step("agent "+a.ID+" in queue "+q, `
				INSERT INTO agent_queues (agent_id, queue_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
				a.ID, q); err != nil {
				return err
			}
		}
	}

	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: sync config: commit: %w", err)
	}
	return nil
}
