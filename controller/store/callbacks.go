package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Callback sources.
const (
	CallbackSourcePhone = "phone"
	CallbackSourceWeb   = "web"
)

// CallbackRow is one row of the callbacks table.
type CallbackRow struct {
	ID            int64          `db:"id"`
	Queue         string         `db:"queue"`
	Number        string         `db:"number"`
	Source        string         `db:"source"`
	RequestedAt   time.Time      `db:"requested_at"`
	PlaceAt       time.Time      `db:"place_at"`
	Priority      int            `db:"priority"`
	Mode          string         `db:"mode"`
	Status        string         `db:"status"`
	Attempts      int            `db:"attempts"`
	NextAttemptAt sql.NullTime   `db:"next_attempt_at"`
	Outcome       string         `db:"outcome"`
	ContactID     sql.NullInt64  `db:"contact_id"`
	Agent         sql.NullString `db:"agent"`
	UpdatedAt     time.Time      `db:"updated_at"`
}

// NewCallback is a callback request to record.
type NewCallback struct {
	Queue       string
	Number      string
	Source      string // CallbackSourcePhone or CallbackSourceWeb
	RequestedAt time.Time
	PlaceAt     time.Time // the place in line (a phone callback keeps the caller's)
	Priority    int
	Mode        string // "" means customer-first
	ContactID   int64  // 0: none
}

// CreateCallback records a new, pending callback and returns its id.
func (s *Store) CreateCallback(ctx context.Context, c NewCallback) (int64, error) {
	if c.Mode == "" {
		c.Mode = "customer-first"
	}
	var id int64
	err := s.DB.QueryRowContext(ctx, `
		INSERT INTO callbacks (queue, number, source, requested_at, place_at, priority, mode, contact_id, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, 0), $4)
		RETURNING id`, c.Queue, c.Number, c.Source, c.RequestedAt, c.PlaceAt, c.Priority, c.Mode, c.ContactID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: create callback for queue %s: %w", c.Queue, err)
	}
	return id, nil
}

// CallbackUpdate is a change of a callback's status (acd.CallbackChange).
type CallbackUpdate struct {
	ID            int64
	Status        string
	Attempts      int
	NextAttemptAt time.Time // zero: none
	Outcome       string
	Agent         string // "" leaves the agent as it is
	At            time.Time
}

// UpdateCallback records a change of a callback's status.
func (s *Store) UpdateCallback(ctx context.Context, u CallbackUpdate) error {
	var next sql.NullTime
	if !u.NextAttemptAt.IsZero() {
		next = sql.NullTime{Time: u.NextAttemptAt, Valid: true}
	}
	res, err := s.DB.ExecContext(ctx, `
		UPDATE callbacks SET status = $2, attempts = $3, next_attempt_at = $4, outcome = $5,
			agent = COALESCE(NULLIF($6, ''), agent), updated_at = $7
		WHERE id = $1`, u.ID, u.Status, u.Attempts, next, u.Outcome, u.Agent, u.At)
	if err != nil {
		return fmt.Errorf("store: callback %d: %w", u.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: callback %d: %w", u.ID, ErrNotFound)
	}
	return nil
}

const callbackColumns = `id, queue, number, source, requested_at, place_at, priority, mode, status, attempts,
	next_attempt_at, outcome, contact_id, agent, updated_at`

// Callback returns one callback; ErrNotFound if there is none.
func (s *Store) Callback(ctx context.Context, id int64) (CallbackRow, error) {
	var r CallbackRow
	err := s.DB.GetContext(ctx, &r, `SELECT `+callbackColumns+` FROM callbacks WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("store: callback %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("store: callback %d: %w", id, err)
	}
	return r, nil
}

// OpenCallbacks returns the callbacks still to be made (pending, offered
// or scheduled), in place order, for the ACD to restore at start.
func (s *Store) OpenCallbacks(ctx context.Context) ([]CallbackRow, error) {
	var rows []CallbackRow
	err := s.DB.SelectContext(ctx, &rows, `SELECT `+callbackColumns+` FROM callbacks
		WHERE status IN ('pending', 'offered', 'scheduled') ORDER BY place_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: open callbacks: %w", err)
	}
	return rows, nil
}

// NotReadyReason is one row of the not_ready_reasons table.
type NotReadyReason struct {
	Code  int    `db:"code"`
	Digit string `db:"digit"`
	Name  string `db:"name"`
}

// NotReadyReasons returns the reason table, by code.
func (s *Store) NotReadyReasons(ctx context.Context) ([]NotReadyReason, error) {
	var rows []NotReadyReason
	if err := s.DB.SelectContext(ctx, &rows, `SELECT code, digit, name FROM not_ready_reasons ORDER BY code`); err != nil {
		return nil, fmt.Errorf("store: not-ready reasons: %w", err)
	}
	return rows, nil
}
