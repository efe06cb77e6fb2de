package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Notice is an announcement the IVR plays without a flow deploy: an outage
// in an area, tariff news, or an emergency message that pre-empts the
// menu. It plays from StartsAt until EndsAt (nil: until ended), unless
// ended earlier (EndedAt).
type Notice struct {
	ID   int64  `db:"id" json:"id"`
	Kind string `db:"kind" json:"kind"` // NoticeOutage, NoticeTariff or NoticeEmergency
	// AreaPrefix is a caller-number prefix or an area code (digits); ""
	// means everywhere.
	AreaPrefix string     `db:"area_prefix" json:"area_prefix"`
	Prompt     string     `db:"prompt" json:"prompt"` // a sound name, "sound:hotline/outage-0755"
	Text       string     `db:"text" json:"text"`     // what the prompt says, for people
	StartsAt   time.Time  `db:"starts_at" json:"starts_at"`
	EndsAt     *time.Time `db:"ends_at" json:"ends_at,omitempty"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	CreatedBy  string     `db:"created_by" json:"created_by"`
	EndedAt    *time.Time `db:"ended_at" json:"ended_at,omitempty"`
	EndedBy    string     `db:"ended_by" json:"ended_by,omitempty"`
}

// Notice kinds.
const (
	NoticeOutage    = "outage"
	NoticeTariff    = "tariff"
	NoticeEmergency = "emergency"
)

// NoticeKinds lists the notice kinds.
var NoticeKinds = []string{NoticeOutage, NoticeTariff, NoticeEmergency}

// Notice statuses at a given time, from Notice.Status.
const (
	NoticeScheduled = "scheduled" // starts later
	NoticeActive    = "active"    // playing
	NoticeExpired   = "expired"   // its window has passed
	NoticeEnded     = "ended"     // ended by hand
)

// Status says whether the notice is scheduled, active, expired or ended at
// time at.
func (n Notice) Status(at time.Time) string {
	switch {
	case n.EndedAt != nil:
		return NoticeEnded
	case n.EndsAt != nil && !at.Before(*n.EndsAt):
		return NoticeExpired
	case at.Before(n.StartsAt):
		return NoticeScheduled
	}
	return NoticeActive
}

// NoticeError is a notice field with a bad value, from Notice.Check.
type NoticeError struct {
	Field   string // kind, area_prefix, prompt, starts_at or ends_at
	Problem string
}

func (e *NoticeError) Error() string { return "notice " + e.Field + ": " + e.Problem }

var (
	noticeAreaRE  = regexp.MustCompile(`^[0-9]*$`)
	noticeSoundRE = regexp.MustCompile(`^sound:[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$`)
)

// Check validates the fields a caller sets (kind, area, prompt, time
// window) and returns a *NoticeError naming the first bad one. A zero
// StartsAt is allowed: AddNotice then starts the notice now.
func (n Notice) Check() error {
	bad := func(field, format string, args ...any) error {
		return &NoticeError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	switch n.Kind {
	case NoticeOutage, NoticeTariff, NoticeEmergency:
	default:
		return bad("kind", "%q is not one of %s", n.Kind, strings.Join(NoticeKinds, ", "))
	}
	if !noticeAreaRE.MatchString(n.AreaPrefix) || len(n.AreaPrefix) > 32 {
		return bad("area_prefix", "%q: use the digits of a caller-number prefix or an area code (empty: everywhere)", n.AreaPrefix)
	}
	if !noticeSoundRE.MatchString(n.Prompt) || strings.Contains(n.Prompt, "..") {
		return bad("prompt", "%q is not a sound name like sound:hotline/outage-0755", n.Prompt)
	}
	if n.EndsAt != nil {
		if n.StartsAt.IsZero() {
			if !n.EndsAt.After(time.Now()) {
				return bad("ends_at", "%s is not in the future", n.EndsAt.Format(time.RFC3339))
			}
		} else if !n.EndsAt.After(n.StartsAt) {
			return bad("ends_at", "%s is not after the start %s", n.EndsAt.Format(time.RFC3339), n.StartsAt.Format(time.RFC3339))
		}
	}
	return nil
}

// AddNotice stores a notice and returns it as stored (ID, times). A zero
// StartsAt starts it now; CreatedAt is set by the database, the ended
// fields are ignored. Bad fields give a *NoticeError.
func (s *Store) AddNotice(ctx context.Context, n Notice) (Notice, error) {
	if err := n.Check(); err != nil {
		return Notice{}, err
	}
	var start any
	if !n.StartsAt.IsZero() {
		start = n.StartsAt
	}
	var out Notice
	err := s.DB.GetContext(ctx, &out, `INSERT INTO ivr_notices (kind, area_prefix, prompt, text, starts_at, ends_at, created_by)
		VALUES ($1, $2, $3, $4, COALESCE($5::timestamptz, now()), $6, $7) RETURNING *`,
		n.Kind, n.AreaPrefix, n.Prompt, n.Text, start, n.EndsAt, n.CreatedBy)
	if err != nil {
		return Notice{}, fmt.Errorf("store: add notice: %w", err)
	}
	return out, nil
}

// ListNotices returns the notices that are active or scheduled at time at
// (not ended, window not over), or with includeEnded every notice ever
// added; by start time.
func (s *Store) ListNotices(ctx context.Context, at time.Time, includeEnded bool) ([]Notice, error) {
	var ns []Notice
	err := s.DB.SelectContext(ctx, &ns, `SELECT * FROM ivr_notices
		WHERE $2 OR (ended_at IS NULL AND (ends_at IS NULL OR ends_at > $1))
		ORDER BY starts_at, id`, at, includeEnded)
	if err != nil {
		return nil, fmt.Errorf("store: list notices: %w", err)
	}
	return ns, nil
}

// EndNotice ends notice id now, before its window is over, and returns it
// as ended. A notice that does not exist gives an error wrapping
// ErrNotFound; one already ended, an error saying when and by whom.
func (s *Store) EndNotice(ctx context.Context, id int64, by string) (Notice, error) {
	var n Notice
	err := s.DB.GetContext(ctx, &n, `UPDATE ivr_notices SET ended_at = now(), ended_by = $2
		WHERE id = $1 AND ended_at IS NULL RETURNING *`, id, by)
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Notice{}, fmt.Errorf("store: end notice %d: %w", id, err)
	}
	err = s.DB.GetContext(ctx, &n, `SELECT * FROM ivr_notices WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Notice{}, fmt.Errorf("notice %d does not exist: %w", id, ErrNotFound)
	}
	if err != nil {
		return Notice{}, fmt.Errorf("store: end notice %d: %w", id, err)
	}
	who := ""
	if n.EndedBy != "" {
		who = " by " + n.EndedBy
	}
	return n, fmt.Errorf("notice %d was already ended at %s%s", id, n.EndedAt.Format(time.RFC3339), who)
}

// ActiveNotices returns the notices a caller hears at time now: not ended,
// inside their window, of one of kinds (none: every kind), and for
// everywhere (empty area prefix), for a prefix of the caller's number, or
// for area (an area a look-up returned; "" matches no area notice).
// Emergency notices come first, then the newest.
func (s *Store) ActiveNotices(ctx context.Context, caller, area string, kinds []string, now time.Time) ([]Notice, error) {
	if kinds == nil {
		kinds = []string{} // an empty array, not NULL
	}
	var ns []Notice
	err := s.DB.SelectContext(ctx, &ns, `SELECT * FROM ivr_notices
		WHERE ended_at IS NULL AND starts_at <= $4 AND (ends_at IS NULL OR ends_at > $4)
			AND (area_prefix = '' OR starts_with($1, area_prefix) OR ($2 <> '' AND area_prefix = $2))
			AND (cardinality($3::text[]) = 0 OR kind = ANY($3::text[]))
		ORDER BY kind = 'emergency' DESC, starts_at DESC, id DESC`,
		caller, area, pq.StringArray(kinds), now)
	if err != nil {
		return nil, fmt.Errorf("store: active notices: %w", err)
	}
	return ns, nil
}
