package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/controller/ivr/flow"
	"github.com/hotline-cc/hotline/controller/store"
)

// Flows gives each new call the active version of its service's IVR flow,
// compiled. A deploy (hotline ivr deploy) changes the active version in
// Postgres; calls that started before keep the program they were given.
type Flows struct {
	st   *store.Store
	opts flow.Options
	log  *slog.Logger

	// site-wide overrides of every flow's rules (0: as the flow says)
	noInput    time.Duration
	maxInvalid int
	// endpoints are the configured HTTP endpoint names; nil: not known
	endpoints []string

	mu    sync.Mutex
	cache map[string]compiledFlow // by flow name: the last version compiled
}

// Override replaces, in every flow compiled from now on, the no-input
// time and the invalid-entry limit (0 keeps each flow's own).
func (f *Flows) Override(noInput time.Duration, maxInvalid int) {
	f.noInput, f.maxInvalid = noInput, maxInvalid
}

// HTTPEndpoints gives the names of the installation's HTTP endpoints
// (ivr.http_endpoints): a version compiled from now on whose lookups use
// another is logged with a warning (those lookups take their on_error
// branch).
func (f *Flows) HTTPEndpoints(names []string) {
	f.endpoints = append([]string{}, names...)
}

type compiledFlow struct {
	version int
	prog    *flow.Program
}

// NewFlows returns the flow source; opts are the prompts and named
// queries read at start-up from ivr.scripts_dir. A deployed version is
// compiled with the prompt list and queries stored in its own bundle
// (those it was validated against), and with opts only where it has none
// (versions deployed before bundles carried them).
func NewFlows(st *store.Store, opts flow.Options, log *slog.Logger) *Flows {
	return &Flows{st: st, opts: opts, log: log, cache: map[string]compiledFlow{}}
}

// Program returns the active version of flow name, compiled.
func (f *Flows) Program(ctx context.Context, name string) (*flow.Program, int, error) {
	version, err := f.st.ActiveFlowVersion(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	f.mu.Lock()
	c, ok := f.cache[name]
	f.mu.Unlock()
	if ok && c.version == version {
		return c.prog, version, nil
	}
	v, err := f.st.FlowVersion(ctx, name, version)
	if err != nil {
		return nil, 0, err
	}
	prog, err := compileBundle(v, f.opts)
	if err != nil {
		return nil, 0, err
	}
	for _, fl := range prog.Flows() {
		if f.noInput > 0 {
			fl.Rules.NoInput = f.noInput
		}
		if f.maxInvalid > 0 {
			fl.Rules.MaxInvalid = f.maxInvalid
		}
	}
	f.mu.Lock()
	if cur, ok := f.cache[name]; !ok || cur.version < version {
		f.cache[name] = compiledFlow{version: version, prog: prog}
	}
	f.mu.Unlock()
	f.log.Info("ivr flow compiled", "flow", name, "version", version,
		"prompts", optionsSource(v.Files, flow.PromptsFile), "queries", optionsSource(v.Files, flow.QueriesFile))
	if f.endpoints != nil {
		var missing []string
		for _, e := range prog.HTTPEndpoints() {
			if !slices.Contains(f.endpoints, e) {
				missing = append(missing, e)
			}
		}
		if len(missing) > 0 {
			f.log.Warn("ivr flow uses HTTP endpoints that ivr.http_endpoints does not configure: their lookups take on_error",
				"flow", name, "version", version, "endpoints", missing)
		}
	}
	return prog, version, nil
}

// compileBundle compiles a stored version with the prompt list and
// queries of its bundle, falling back to opts (the start-up ones) for
// what the bundle lacks.
func compileBundle(v store.FlowVersion, opts flow.Options) (*flow.Program, error) {
	prog, err := flow.LoadBundle(v.Files, v.Entry, opts)
	if err != nil {
		return nil, fmt.Errorf("ivr flow %s version %d does not compile: %w", v.Flow, v.Version, err)
	}
	return prog, nil
}

// optionsSource says, for the log, where a version's prompt list or
// queries came from.
func optionsSource(files map[string][]byte, name string) string {
	if _, ok := files[name]; ok {
		return "bundle"
	}
	return "start-up"
}

// DeployMissing deploys, from dir, every named flow that has no active
// version yet (a fresh database), so a new installation answers calls
// without a manual deploy. The bundle stored is the flow's files with the
// start-up prompt list and queries it was validated against. Flows
// already deployed are left alone: after the first start, `hotline ivr
// deploy` is the way to change them.
func (f *Flows) DeployMissing(ctx context.Context, dir string, names []string) error {
	var errs []error
	for _, name := range names {
		_, err := f.st.ActiveFlowVersion(ctx, name)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		path := filepath.Join(dir, name+".yaml")
		prog, err := flow.LoadFile(path, f.opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("ivr flow %s: %w", name, err))
			continue
		}
		files := prog.Bundle()
		version, _, err := f.st.DeployFlow(ctx, name, files, "hotline serve", "first start: deployed from "+dir)
		if err != nil {
			return err
		}
		f.log.Info("ivr flow deployed on first start", "flow", name, "version", version, "from", path)
	}
	return errors.Join(errs...)
}

// storeNotices gives flows the notices in Postgres (hotline notice add).
type storeNotices struct{ st *store.Store }

// Active implements flow.Notices.
func (n storeNotices) Active(ctx context.Context, q flow.NoticeQuery) ([]flow.Notice, error) {
	at := q.At
	if at.IsZero() {
		at = time.Now()
	}
	rows, err := n.st.ActiveNotices(ctx, q.Caller, q.Area, q.Kinds, at)
	if err != nil {
		return nil, err
	}
	out := make([]flow.Notice, len(rows))
	for i, r := range rows {
		out[i] = flow.Notice{ID: r.ID, Kind: r.Kind, Area: r.AreaPrefix, Prompt: r.Prompt, Text: r.Text}
	}
	return out, nil
}

// NoticesFrom returns the flow.Notices of a store.
func NoticesFrom(st *store.Store) flow.Notices { return storeNotices{st} }
