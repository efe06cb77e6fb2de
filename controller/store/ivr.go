package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// FlowVersion is one deployed version of an IVR flow: the flow's own file
// and every sub-flow file it references, as they were when deployed.
type FlowVersion struct {
	Flow    string `db:"flow"`
	Version int    `db:"version"`
	// Entry is the key in Files of the flow's own file (e.g. "main.yaml").
	Entry string `db:"entry"`
	// Files maps file name (relative to the flow's directory) to source.
	// FlowHistory leaves it nil.
	Files      map[string][]byte `db:"-"`
	SHA256     string            `db:"sha256"` // hex, see BundleSHA256
	DeployedAt time.Time         `db:"deployed_at"`
	DeployedBy string            `db:"deployed_by"`
	Comment    string            `db:"comment"`
	// Active reports whether new calls get this version.
	Active bool `db:"active"`
}

// FlowEvent is one change of a flow's active version.
type FlowEvent struct {
	ID          int64         `db:"id"`
	Flow        string        `db:"flow"`
	Kind        string        `db:"kind"` // FlowDeployed or FlowRolledBack
	FromVersion sql.NullInt64 `db:"from_version"`
	ToVersion   int           `db:"to_version"`
	At          time.Time     `db:"at"`
	By          string        `db:"by"`
	Comment     string        `db:"comment"`
}

// Kinds of FlowEvent.
const (
	FlowDeployed   = "deploy"
	FlowRolledBack = "rollback"
)

// MaxFlowBundle is the largest bundle DeployFlow accepts, in bytes of
// source.
const MaxFlowBundle = 4 << 20

// flowLockClass is the first key of the per-flow advisory lock that
// serialises deploys and rollbacks of one flow ("IVRF"); the second key is
// hashtext(flow). The two-key form never collides with the one-key
// leader lock.
const flowLockClass = 0x49565246

var flowNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$`)

// CheckFlowName reports whether name can name a flow: letters, digits, '-'
// and '_', starting with a letter or digit, at most 100 characters. A
// flow's name is its file name without ".yaml" or ".yml".
func CheckFlowName(name string) error {
	if !flowNameRE.MatchString(name) {
		return fmt.Errorf("flow name %q: use letters, digits, '-' and '_' (at most 100, starting with a letter or digit)", name)
	}
	return nil
}

// BundleSHA256 returns the hex sha256 of a flow bundle: for each file in
// byte order of its name, the name, a NUL byte, the source length in
// decimal, a NUL byte, then the source. Equal bundles have equal sums
// whatever the map order.
func BundleSHA256(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkBundle validates a bundle for flow name and returns its entry key:
// name+".yaml" or name+".yml", at the top level.
func checkBundle(name string, files map[string][]byte) (string, error) {
	if err := CheckFlowName(name); err != nil {
		return "", err
	}
	var entries []string
	total := 0
	for k, src := range files {
		switch {
		case k == "" || strings.HasPrefix(k, "/") || strings.Contains(k, `\`) || path.Clean(k) != k || k == ".." || strings.HasPrefix(k, "../"):
			return "", fmt.Errorf("flow %s: file name %q: use a clean relative path with '/' separators", name, k)
		case !utf8.Valid(src):
			return "", fmt.Errorf("flow %s: file %s is not UTF-8 text", name, k)
		case strings.IndexByte(string(src), 0) >= 0:
			return "", fmt.Errorf("flow %s: file %s contains a NUL byte", name, k)
		}
		total += len(src)
		if k == name+".yaml" || k == name+".yml" {
			entries = append(entries, k)
		}
	}
	if total > MaxFlowBundle {
		return "", fmt.Errorf("flow %s: %d bytes of source, more than the %d a deploy takes", name, total, MaxFlowBundle)
	}
	switch len(entries) {
	case 0:
		return "", fmt.Errorf("flow %s: the bundle has no %s.yaml (files: %s)", name, name, strings.Join(bundleNames(files), ", "))
	case 1:
		return entries[0], nil
	}
	return "", fmt.Errorf("flow %s: the bundle has both %s.yaml and %s.yml", name, name, name)
}

func bundleNames(files map[string][]byte) []string {
	ks := make([]string, 0, len(files))
	for k := range files {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// lockFlow takes the transaction-scoped advisory lock of flow name, so
// deploys and rollbacks of one flow run one after the other.
func lockFlow(ctx context.Context, tx interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, name string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, flowLockClass, name)
	return err
}

// DeployFlow stores files (the flow's own file name+".yaml" and every
// sub-flow file it references, keyed by path relative to the flow's
// directory) as the next version of flow name and makes it the active
// version, in one transaction: calls that start afterwards get it, calls
// in progress keep theirs. Concurrent deploys of a flow are serialised and
// get distinct versions. When the active version has exactly these files,
// nothing is stored and DeployFlow returns that version with unchanged
// set. The caller validates the flow first: DeployFlow checks only the
// bundle's shape (names, UTF-8 text, size).
func (s *Store) DeployFlow(ctx context.Context, name string, files map[string][]byte, by, comment string) (version int, unchanged bool, err error) {
	entry, err := checkBundle(name, files)
	if err != nil {
		return 0, false, fmt.Errorf("store: deploy: %w", err)
	}
	sum := BundleSHA256(files)
	text := make(map[string]string, len(files))
	for k, v := range files {
		text[k] = string(v)
	}
	doc, err := json.Marshal(text)
	if err != nil {
		return 0, false, fmt.Errorf("store: deploy flow %s: %w", name, err)
	}

	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return 0, false, fmt.Errorf("store: deploy flow %s: %w", name, err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := lockFlow(ctx, tx, name); err != nil {
		return 0, false, fmt.Errorf("store: deploy flow %s: lock: %w", name, err)
	}

	var cur struct {
		Version int    `db:"version"`
		SHA256  string `db:"sha256"`
		Entry   string `db:"entry"`
	}
	from := sql.NullInt64{}
	err = tx.GetContext(ctx, &cur, `SELECT a.version, v.sha256, v.entry FROM ivr_flow_active a
		JOIN ivr_flow_versions v ON v.flow = a.flow AND v.version = a.version WHERE a.flow = $1`, name)
	switch {
	case err == nil:
		if cur.SHA256 == sum && cur.Entry == entry {
			return cur.Version, true, nil
		}
		from = sql.NullInt64{Int64: int64(cur.Version), Valid: true}
	case errors.Is(err, sql.ErrNoRows):
	default:
		return 0, false, fmt.Errorf("store: deploy flow %s: active version: %w", name, err)
	}

	if err := tx.GetContext(ctx, &version, `SELECT COALESCE(max(version), 0) + 1 FROM ivr_flow_versions WHERE flow = $1`, name); err != nil {
		return 0, false, fmt.Errorf("store: deploy flow %s: next version: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ivr_flow_versions (flow, version, entry, files, sha256, deployed_by, comment)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, name, version, entry, doc, sum, by, comment); err != nil {
		return 0, false, fmt.Errorf("store: deploy flow %s version %d: %w", name, version, err)
	}
	if err := activateFlow(ctx, tx, name, FlowDeployed, from, version, by, comment); err != nil {
		return 0, false, err
	}
	if err := tx.Commit(); err != nil {
		return 0, false, fmt.Errorf("store: deploy flow %s: commit: %w", name, err)
	}
	return version, false, nil
}

// activateFlow points flow name at version and logs the change.
func activateFlow(ctx context.Context, tx interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, name, kind string, from sql.NullInt64, version int, by, comment string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO ivr_flow_active (flow, version, changed_at, changed_by)
		VALUES ($1, $2, now(), $3)
		ON CONFLICT (flow) DO UPDATE SET version = EXCLUDED.version, changed_at = EXCLUDED.changed_at,
			changed_by = EXCLUDED.changed_by`, name, version, by); err != nil {
		return fmt.Errorf("store: activate flow %s version %d: %w", name, version, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ivr_flow_events (flow, kind, from_version, to_version, by, comment)
		VALUES ($1, $2, $3, $4, $5, $6)`, name, kind, from, version, by, comment); err != nil {
		return fmt.Errorf("store: flow %s event: %w", name, err)
	}
	return nil
}

// flowRow is a FlowVersion as read, with the files still JSON.
type flowRow struct {
	FlowVersion
	FilesJSON []byte `db:"files"`
}

func (r flowRow) decode() (FlowVersion, error) {
	v := r.FlowVersion
	var text map[string]string
	if err := json.Unmarshal(r.FilesJSON, &text); err != nil {
		return v, fmt.Errorf("store: flow %s version %d: files: %w", v.Flow, v.Version, err)
	}
	v.Files = make(map[string][]byte, len(text))
	for k, src := range text {
		v.Files[k] = []byte(src)
	}
	return v, nil
}

const flowColumns = `v.flow, v.version, v.entry, v.files, v.sha256, v.deployed_at, v.deployed_by, v.comment`

// ActiveFlow returns the version of flow name that new calls get, with its
// files. A flow never deployed gives an error wrapping ErrNotFound.
func (s *Store) ActiveFlow(ctx context.Context, name string) (FlowVersion, error) {
	var r flowRow
	err := s.DB.GetContext(ctx, &r, `SELECT `+flowColumns+`, true AS active FROM ivr_flow_active a
		JOIN ivr_flow_versions v ON v.flow = a.flow AND v.version = a.version WHERE a.flow = $1`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return FlowVersion{}, fmt.Errorf("ivr flow %s has no active version (deploy it with `hotline ivr deploy`): %w", name, ErrNotFound)
	}
	if err != nil {
		return FlowVersion{}, fmt.Errorf("store: active flow %s: %w", name, err)
	}
	return r.decode()
}

// ActiveFlowVersion returns the active version number of flow name: the
// cheap question every new call asks (the files are fetched only when a
// version is not yet compiled).
func (s *Store) ActiveFlowVersion(ctx context.Context, name string) (int, error) {
	var v int
	err := s.DB.GetContext(ctx, &v, `SELECT version FROM ivr_flow_active WHERE flow = $1`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("ivr flow %s has no active version (deploy it with `hotline ivr deploy`): %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: active version of flow %s: %w", name, err)
	}
	return v, nil
}

// FlowVersion returns one version of flow name with its files.
func (s *Store) FlowVersion(ctx context.Context, name string, version int) (FlowVersion, error) {
	var r flowRow
	err := s.DB.GetContext(ctx, &r, `SELECT `+flowColumns+`,
			EXISTS (SELECT 1 FROM ivr_flow_active a WHERE a.flow = v.flow AND a.version = v.version) AS active
		FROM ivr_flow_versions v WHERE v.flow = $1 AND v.version = $2`, name, version)
	if errors.Is(err, sql.ErrNoRows) {
		return FlowVersion{}, fmt.Errorf("ivr flow %s has no version %d: %w", name, version, ErrNotFound)
	}
	if err != nil {
		return FlowVersion{}, fmt.Errorf("store: flow %s version %d: %w", name, version, err)
	}
	return r.decode()
}

// FlowHistory returns every version of flow name, newest first, without
// their files. A flow never deployed gives an error wrapping ErrNotFound.
func (s *Store) FlowHistory(ctx context.Context, name string) ([]FlowVersion, error) {
	var vs []FlowVersion
	err := s.DB.SelectContext(ctx, &vs, `SELECT v.flow, v.version, v.entry, v.sha256, v.deployed_at, v.deployed_by, v.comment,
			(a.version IS NOT NULL) AS active
		FROM ivr_flow_versions v LEFT JOIN ivr_flow_active a ON a.flow = v.flow AND a.version = v.version
		WHERE v.flow = $1 ORDER BY v.version DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("store: flow %s history: %w", name, err)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("ivr flow %s has never been deployed: %w", name, ErrNotFound)
	}
	return vs, nil
}

// FlowEvents returns every change of flow name's active version (deploys
// and rollbacks), oldest first.
func (s *Store) FlowEvents(ctx context.Context, name string) ([]FlowEvent, error) {
	var es []FlowEvent
	if err := s.DB.SelectContext(ctx, &es, `SELECT * FROM ivr_flow_events WHERE flow = $1 ORDER BY id`, name); err != nil {
		return nil, fmt.Errorf("store: flow %s events: %w", name, err)
	}
	return es, nil
}

// RollbackFlow makes an older version of flow name active again, for new
// calls, and records it: toVersion, or with toVersion 0 the newest version
// older than the active one. It returns the versions active before and
// after. Any stored version other than the active one may be chosen (also
// a newer one, to undo a rollback).
func (s *Store) RollbackFlow(ctx context.Context, name string, toVersion int, by string) (from, to int, err error) {
	if toVersion < 0 {
		return 0, 0, fmt.Errorf("store: rollback flow %s: version %d: versions start at 1", name, toVersion)
	}
	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("store: rollback flow %s: %w", name, err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := lockFlow(ctx, tx, name); err != nil {
		return 0, 0, fmt.Errorf("store: rollback flow %s: lock: %w", name, err)
	}
	err = tx.GetContext(ctx, &from, `SELECT version FROM ivr_flow_active WHERE flow = $1`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, fmt.Errorf("ivr flow %s has never been deployed: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: rollback flow %s: active version: %w", name, err)
	}
	to = toVersion
	if to == 0 {
		var prev sql.NullInt64
		if err := tx.GetContext(ctx, &prev, `SELECT max(version) FROM ivr_flow_versions WHERE flow = $1 AND version < $2`, name, from); err != nil {
			return 0, 0, fmt.Errorf("store: rollback flow %s: previous version: %w", name, err)
		}
		if !prev.Valid {
			return from, 0, fmt.Errorf("ivr flow %s: the active version %d is the oldest; there is no earlier version to roll back to", name, from)
		}
		to = int(prev.Int64)
	} else {
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM ivr_flow_versions WHERE flow = $1 AND version = $2`, name, to); err != nil {
			return 0, 0, fmt.Errorf("store: rollback flow %s: %w", name, err)
		}
		if n == 0 {
			return from, 0, fmt.Errorf("ivr flow %s has no version %d: %w", name, to, ErrNotFound)
		}
	}
	if to == from {
		return from, to, fmt.Errorf("ivr flow %s: version %d is already active", name, to)
	}
	if err := activateFlow(ctx, tx, name, FlowRolledBack, sql.NullInt64{Int64: int64(from), Valid: true}, to, by, ""); err != nil {
		return 0, 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("store: rollback flow %s: commit: %w", name, err)
	}
	return from, to, nil
}
