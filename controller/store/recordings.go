package store

import (
	"context"
	"time"
)

// Recording is one recording's row.
type Recording struct {
	ID             int64      `db:"id"`
	ContactID      int64      `db:"contact_id"`
	Name           string     `db:"name"`
	Path           string     `db:"path"`
	Format         string     `db:"format"`
	Bytes          *int64     `db:"bytes"`
	Seconds        *float64   `db:"seconds"`
	BridgedSeconds *float64   `db:"bridged_seconds"`
	OK             *bool      `db:"ok"`
	Problem        string     `db:"problem"`
	StartedAt      time.Time  `db:"started_at"`
	FinishedAt     *time.Time `db:"finished_at"`
}

// StartRecording records that a recording began.
func (s *Store) StartRecording(ctx context.Context, contactID int64, name, path, format string, at time.Time) error {
	return s.exec(ctx, `INSERT INTO recordings (contact_id, name, path, format, started_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING`, contactID, name, path, format, at)
}

// FinishRecording stores what the finished file holds and whether it
// passed the size and duration check.
func (s *Store) FinishRecording(ctx context.Context, name string, bytes int64, seconds, bridged float64, ok bool, problem string, at time.Time) error {
	return s.exec(ctx, `UPDATE recordings SET bytes = $2, seconds = $3, bridged_seconds = $4, ok = $5,
		problem = $6, finished_at = $7 WHERE name = $1`, name, bytes, seconds, bridged, ok, problem, at)
}

// RecordingsOf returns a contact's recordings.
func (s *Store) RecordingsOf(ctx context.Context, contactID int64) ([]Recording, error) {
	var rs []Recording
	err := s.DB.SelectContext(ctx, &rs, `SELECT * FROM recordings WHERE contact_id = $1 ORDER BY id`, contactID)
	return rs, err
}
