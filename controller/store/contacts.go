package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Contact is one call's row.
type Contact struct {
	ID             int64          `db:"id"`
	ChannelID      string         `db:"channel_id"`
	ServiceNumber  string         `db:"service_number"`
	Caller         string         `db:"caller"`
	QueueID        sql.NullString `db:"queue_id"`
	AgentID        sql.NullString `db:"agent_id"`
	AgentChannelID sql.NullString `db:"agent_channel_id"`
	BridgeID       sql.NullString `db:"bridge_id"`
	State          string         `db:"state"`
	Disposition    sql.NullString `db:"disposition"`
	HangupBy       sql.NullString `db:"hangup_by"`
	ArrivedAt      time.Time      `db:"arrived_at"`
	IVREndAt       sql.NullTime   `db:"ivr_end_at"`
	QueuedAt       sql.NullTime   `db:"queued_at"`
	OfferedAt      sql.NullTime   `db:"offered_at"`
	AnsweredAt     sql.NullTime   `db:"answered_at"`
	EndedAt        sql.NullTime   `db:"ended_at"`
	// The IVR flow and version the call ran, and how it left the flow.
	IVRFlow    sql.NullString `db:"ivr_flow"`
	IVRVersion sql.NullInt64  `db:"ivr_version"`
	IVROutcome sql.NullString `db:"ivr_outcome"`
	// SurveyScore is the caller's post-call satisfaction score.
	SurveyScore sql.NullInt64  `db:"survey_score"`
	Voicemail   sql.NullString `db:"voicemail"`
}

// Contact states, where a live call is now.
const (
	ContactIVR     = "ivr"
	ContactQueued  = "queued"
	ContactOffered = "offered"
	ContactBridged = "bridged"
	// ContactTransferred: the IVR transferred the caller to an outside
	// number and hotline bridged the two (agent_channel_id is that leg).
	ContactTransferred = "transferred"
	ContactEnded       = "ended"
)

// Dispositions, how a call ended.
const (
	DispContained        = "contained"
	DispAnswered         = "answered"
	DispAbandonedIVR     = "abandoned_ivr"
	DispAbandonedQueue   = "abandoned_queue"
	DispAbandonedRinging = "abandoned_ringing"
	DispReleasedNoInput  = "released_no_input"
	// DispReleased: the IVR said goodbye for another reason (for
	// instance the invalid-entry limit with on_max_invalid: release).
	DispReleased = "released"
	DispFailed   = "failed"
	// The caller waited the queue's max_wait and then asked to be called
	// back, left a voice message, or was released with an announcement.
	DispCallbackRequested = "callback_requested"
	DispVoicemail         = "voicemail"
	DispReleasedMaxWait   = "released_max_wait"
	// DispCallbackUnanswered: a callback dial that did not connect the
	// customer with an agent (no answer, busy, unreachable, or no agent
	// answered first); the callback itself is retried by the ACD.
	DispCallbackUnanswered = "callback_unanswered"
	// DispTransferred: the IVR transferred the caller to an outside
	// number, which answered.
	DispTransferred = "transferred"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("store: not found")

// CreateContact records an arrived call and returns its ID. Creating the
// same channel twice returns the first row's ID, so adoption after a
// restart never duplicates a contact.
func (s *Store) CreateContact(ctx context.Context, channelID, service, caller string, at time.Time) (int64, error) {
	var id int64
	err := s.DB.QueryRowContext(ctx, `
		INSERT INTO contacts (channel_id, service_number, caller, arrived_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (channel_id) DO UPDATE SET channel_id = EXCLUDED.channel_id
		RETURNING id`, channelID, service, caller, at).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: create contact for channel %s: %w", channelID, err)
	}
	return id, nil
}

// ContactByChannel returns the contact of a caller channel.
func (s *Store) ContactByChannel(ctx context.Context, channelID string) (Contact, error) {
	var c Contact
	err := s.DB.GetContext(ctx, &c, `SELECT * FROM contacts WHERE channel_id = $1`, channelID)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("contact for channel %s: %w", channelID, ErrNotFound)
	}
	return c, err
}

// Contact returns one contact by ID.
func (s *Store) Contact(ctx context.Context, id int64) (Contact, error) {
	var c Contact
	err := s.DB.GetContext(ctx, &c, `SELECT * FROM contacts WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("contact %d: %w", id, ErrNotFound)
	}
	return c, err
}

// LiveContacts returns every contact that has not ended, oldest first.
func (s *Store) LiveContacts(ctx context.Context) ([]Contact, error) {
	var cs []Contact
	err := s.DB.SelectContext(ctx, &cs, `SELECT * FROM contacts WHERE ended_at IS NULL ORDER BY queued_at NULLS LAST, arrived_at, id`)
	return cs, err
}

// MarkIVREnd records that the IVR part ended.
func (s *Store) MarkIVREnd(ctx context.Context, id int64, at time.Time) error {
	return s.exec(ctx, `UPDATE contacts SET ivr_end_at = COALESCE(ivr_end_at, $2) WHERE id = $1`, id, at)
}

// MarkIVRFlow records the IVR flow version a call runs.
func (s *Store) MarkIVRFlow(ctx context.Context, id int64, flow string, version int) error {
	return s.exec(ctx, `UPDATE contacts SET ivr_flow = $2, ivr_version = $3 WHERE id = $1`, id, flow, version)
}

// MarkIVROutcome records how a call left the IVR, and the voice message
// it left there, if any.
func (s *Store) MarkIVROutcome(ctx context.Context, id int64, outcome, voicemail string) error {
	return s.exec(ctx, `UPDATE contacts SET ivr_outcome = $2, voicemail = NULLIF($3, '') WHERE id = $1`, id, outcome, voicemail)
}

// MarkVoicemail records the voice message a caller left (its file, as
// hotline sees it), leaving the IVR outcome as it is.
func (s *Store) MarkVoicemail(ctx context.Context, id int64, voicemail string) error {
	return s.exec(ctx, `UPDATE contacts SET voicemail = NULLIF($2, '') WHERE id = $1`, id, voicemail)
}

// SetSurveyScore stores the caller's post-call survey score (1-10).
func (s *Store) SetSurveyScore(ctx context.Context, id int64, score int) error {
	if score < 1 || score > 10 {
		return fmt.Errorf("store: survey score %d of contact %d: want 1-10", score, id)
	}
	return s.exec(ctx, `UPDATE contacts SET survey_score = $2 WHERE id = $1`, id, score)
}

// MarkQueued records that the call joined a queue. A call queued again
// (after a ring-no-answer) keeps its first queued_at: its place in line.
func (s *Store) MarkQueued(ctx context.Context, id int64, queue string, at time.Time) error {
	return s.exec(ctx, `UPDATE contacts SET state = 'queued', queue_id = $2,
		queued_at = COALESCE(queued_at, $3), agent_id = NULL, agent_channel_id = NULL WHERE id = $1`, id, queue, at)
}

// MarkQueue records that a queued call moved to another queue (overflow),
// keeping its place in line (queued_at) and its state.
func (s *Store) MarkQueue(ctx context.Context, id int64, queue string) error {
	return s.exec(ctx, `UPDATE contacts SET queue_id = $2 WHERE id = $1`, id, queue)
}

// MarkOffered records that the call is ringing an agent.
func (s *Store) MarkOffered(ctx context.Context, id int64, agent, agentChannel string, at time.Time) error {
	return s.exec(ctx, `UPDATE contacts SET state = 'offered', agent_id = $2, agent_channel_id = $3,
		offered_at = COALESCE(offered_at, $4) WHERE id = $1`, id, agent, agentChannel, at)
}

// MarkAnswered records that an agent answered and the call is bridged.
func (s *Store) MarkAnswered(ctx context.Context, id int64, agent, agentChannel, bridge string, at time.Time) error {
	return s.exec(ctx, `UPDATE contacts SET state = 'bridged', agent_id = $2, agent_channel_id = $3,
		bridge_id = $4, answered_at = $5 WHERE id = $1`, id, agent, agentChannel, bridge, at)
}

// MarkTransferDialing records the leg dialling an outside number the
// IVR transferred the caller to (so a restart finds and ends it).
func (s *Store) MarkTransferDialing(ctx context.Context, id int64, leg string) error {
	return s.exec(ctx, `UPDATE contacts SET agent_channel_id = $2 WHERE id = $1`, id, leg)
}

// MarkTransferred records that the outside number answered and the
// caller is bridged to it.
func (s *Store) MarkTransferred(ctx context.Context, id int64, leg, bridge string) error {
	return s.exec(ctx, `UPDATE contacts SET state = 'transferred', agent_channel_id = $2, bridge_id = $3
		WHERE id = $1`, id, leg, bridge)
}

// EndContact records how and when the call ended. It is idempotent: a
// contact ends once.
func (s *Store) EndContact(ctx context.Context, id int64, disposition, hangupBy string, at time.Time) error {
	return s.exec(ctx, `UPDATE contacts SET state = 'ended', disposition = $2, hangup_by = $3,
		ended_at = $4 WHERE id = $1 AND ended_at IS NULL`, id, disposition, hangupBy, at)
}

// AppendEvent appends to the contact log. contactID 0 means no contact.
func (s *Store) AppendEvent(ctx context.Context, contactID int64, agentID, kind string, data map[string]any, at time.Time) error {
	js, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("store: event %s: %w", kind, err)
	}
	if data == nil {
		js = []byte("{}")
	}
	return s.exec(ctx, `INSERT INTO contact_events (contact_id, agent_id, kind, data, at)
		VALUES (NULLIF($1, 0), NULLIF($2, ''), $3, $4, $5)`, contactID, agentID, kind, js, at)
}

// TrailStep is one step of a call's IVR trail.
type TrailStep struct {
	Seq    int       `db:"seq"`
	At     time.Time `db:"at"`
	Node   string    `db:"node"`
	Kind   string    `db:"kind"`
	Detail string    `db:"detail"`
}

// AppendTrail stores one IVR trail step. Writing the same step twice is
// harmless.
func (s *Store) AppendTrail(ctx context.Context, contactID int64, st TrailStep) error {
	return s.exec(ctx, `INSERT INTO ivr_trail (contact_id, seq, at, node, kind, detail)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, contactID, st.Seq, st.At, st.Node, st.Kind, st.Detail)
}

// Trail returns a contact's IVR trail in order.
func (s *Store) Trail(ctx context.Context, contactID int64) ([]TrailStep, error) {
	var steps []TrailStep
	if err := s.DB.SelectContext(ctx, &steps, `SELECT seq, at, node, kind, detail FROM ivr_trail
		WHERE contact_id = $1 ORDER BY seq`, contactID); err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		var n int
		if err := s.DB.GetContext(ctx, &n, `SELECT count(*) FROM contacts WHERE id = $1`, contactID); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("contact %d: %w", contactID, ErrNotFound)
		}
	}
	return steps, nil
}

// NextTrailSeq returns the sequence number the next trail step of a
// contact takes (used when a call is adopted after a restart).
func (s *Store) NextTrailSeq(ctx context.Context, contactID int64) (int, error) {
	var n int
	err := s.DB.GetContext(ctx, &n, `SELECT COALESCE(max(seq), 0) + 1 FROM ivr_trail WHERE contact_id = $1`, contactID)
	return n, err
}

// CustomerPriority returns the queue priority of the customer with the
// given number (0, normal, for an unknown number).
func (s *Store) CustomerPriority(ctx context.Context, number string) (int, error) {
	var p int
	err := s.DB.GetContext(ctx, &p, `SELECT priority FROM customers WHERE number = $1`, number)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return p, err
}

// CustomerBill returns the current bill of the customer with the given
// number; found is false for an unknown number.
func (s *Store) CustomerBill(ctx context.Context, number string) (cents int64, found bool, err error) {
	err = s.DB.GetContext(ctx, &cents, `SELECT current_bill_cents FROM customers WHERE number = $1`, number)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return cents, err == nil, err
}

func (s *Store) exec(ctx context.Context, q string, args ...any) error {
	if _, err := s.DB.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// CallbackLegPattern matches the channel ID of a callback's customer leg,
// cbID-ATTEMPT-MS-c (the call side names them so), capturing the
// callback's ID. No switch's own channel IDs look like it.
const CallbackLegPattern = `^cb([0-9]+)-[0-9]+-[0-9]+-c$`

// QueueDay is what happened to the calls of one queue since a moment
// (the day's start): calls that joined the queue and have ended, those
// of them an agent answered, those answered within the queue's service
// level threshold, and those whose caller hung up waiting or ringing.
// Callback dials are not calls that waited, and are left out.
type QueueDay struct {
	Queue          string `db:"queue_id"`
	Offered        int    `db:"offered"`
	Answered       int    `db:"answered"`
	AnsweredWithin int    `db:"answered_within"`
	Abandoned      int    `db:"abandoned"`
}

// QueueDays returns, per queue of within (queue → service level
// threshold), the calls that arrived since and joined it (a call moved
// by overflow counts for the queue it was in last).
func (s *Store) QueueDays(ctx context.Context, since time.Time, within map[string]time.Duration) (map[string]QueueDay, error) {
	queues, ms := make([]string, 0, len(within)), make([]int64, 0, len(within))
	for q, d := range within {
		queues, ms = append(queues, q), append(ms, d.Milliseconds())
	}
	var rows []QueueDay
	if err := s.DB.SelectContext(ctx, &rows, `
		SELECT c.queue_id,
			count(*) AS offered,
			count(*) FILTER (WHERE c.answered_at IS NOT NULL) AS answered,
			count(*) FILTER (WHERE c.answered_at - c.queued_at <= t.ms * interval '1 millisecond') AS answered_within,
			count(*) FILTER (WHERE c.disposition IN ($4, $5)) AS abandoned
		FROM contacts c
		JOIN unnest($2::text[], $3::bigint[]) AS t (queue_id, ms) ON t.queue_id = c.queue_id
		WHERE c.arrived_at >= $1 AND c.queued_at IS NOT NULL AND c.ended_at IS NOT NULL
			AND c.channel_id !~ $6
		GROUP BY c.queue_id`,
		since, pq.StringArray(queues), pq.Int64Array(ms), DispAbandonedQueue, DispAbandonedRinging, CallbackLegPattern); err != nil {
		return nil, fmt.Errorf("store: queue days: %w", err)
	}
	out := make(map[string]QueueDay, len(rows))
	for _, r := range rows {
		out[r.Queue] = r
	}
	return out, nil
}
