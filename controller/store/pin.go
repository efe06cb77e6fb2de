package store

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// An agent's PIN (for logging in from a phone) is stored as PBKDF2 with
// HMAC-SHA256 over a per-agent random salt; the PIN itself never is.
const (
	pinIterations = 210_000
	pinSaltBytes  = 16
	pinKeyBytes   = 32
)

var rePIN = regexp.MustCompile(`^[0-9]{4,8}$`)

// ErrInvalidPIN is returned for a PIN that is not 4-8 digits.
var ErrInvalidPIN = errors.New("a PIN is 4-8 digits")

// ErrNoPIN is returned by CheckAgentPIN for an agent without a PIN.
var ErrNoPIN = errors.New("agent has no PIN")

// ValidPIN says whether pin has the form of a PIN: 4-8 digits.
func ValidPIN(pin string) bool { return rePIN.MatchString(pin) }

func pinKey(pin string, salt []byte, iter int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, pin, salt, iter, pinKeyBytes)
}

// SetAgentPIN sets (or replaces) an agent's PIN. ErrInvalidPIN for a PIN
// that is not 4-8 digits, ErrNotFound for an unknown agent.
func (s *Store) SetAgentPIN(ctx context.Context, agent, pin string) error {
	if !ValidPIN(pin) {
		return fmt.Errorf("store: agent %s PIN: %w", agent, ErrInvalidPIN)
	}
	salt := make([]byte, pinSaltBytes)
	if _, err := rand.Read(salt); err != nil {
		return fmt.Errorf("store: agent %s PIN: salt: %w", agent, err)
	}
	key, err := pinKey(pin, salt, pinIterations)
	if err != nil {
		return fmt.Errorf("store: agent %s PIN: %w", agent, err)
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE agents SET pin_hash = $2, pin_salt = $3, pin_iterations = $4, pin_set_at = $5 WHERE id = $1`,
		agent, key, salt, pinIterations, time.Now())
	if err != nil {
		return fmt.Errorf("store: agent %s PIN: %w", agent, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: agent %s: %w", agent, ErrNotFound)
	}
	return nil
}

// CheckAgentPIN reports whether pin is the agent's PIN, comparing in
// constant time. ErrNoPIN when the agent has none, ErrNotFound for an
// unknown agent.
func (s *Store) CheckAgentPIN(ctx context.Context, agent, pin string) (bool, error) {
	var row struct {
		Hash []byte        `db:"pin_hash"`
		Salt []byte        `db:"pin_salt"`
		Iter sql.NullInt64 `db:"pin_iterations"`
	}
	err := s.DB.GetContext(ctx, &row, `SELECT pin_hash, pin_salt, pin_iterations FROM agents WHERE id = $1`, agent)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("store: agent %s: %w", agent, ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("store: agent %s PIN: %w", agent, err)
	}
	if row.Hash == nil || !row.Iter.Valid || row.Iter.Int64 <= 0 {
		return false, fmt.Errorf("store: agent %s: %w", agent, ErrNoPIN)
	}
	if !ValidPIN(pin) {
		return false, nil // no derivation needed: it cannot match
	}
	key, err := pinKey(pin, row.Salt, int(row.Iter.Int64))
	if err != nil {
		return false, fmt.Errorf("store: agent %s PIN: %w", agent, err)
	}
	return subtle.ConstantTimeCompare(key, row.Hash) == 1, nil
}
