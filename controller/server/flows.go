package server

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"

	"github.com/hotline-cc/hotline/controller/call"
	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/ivr/flow"
	"github.com/hotline-cc/hotline/controller/store"
)

// newFlows prepares the IVR: the prompts and named queries of
// ivr.scripts_dir (what a deployed version compiles with when its bundle
// does not carry its own), the flows of every service (deployed from the
// directory on the first start), and what flows may use at run time: the
// database, the named HTTP endpoints (ivr.http_endpoints) and notices.
func newFlows(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger) (*call.Flows, flow.Env, error) {
	dir := cfg.IVR.ScriptsDir
	opts, err := flow.LoadOptions(filepath.Join(dir, "prompts.txt"), filepath.Join(dir, "queries.yaml"))
	if err != nil {
		return nil, flow.Env{}, fmt.Errorf("ivr.scripts_dir %s: %w", dir, err)
	}
	flows := call.NewFlows(st, opts, log.With("component", "ivr"))
	flows.Override(cfg.IVR.NoInputTimeout, cfg.IVR.MaxInvalid)
	flows.HTTPEndpoints(slices.Sorted(maps.Keys(cfg.IVR.HTTPEndpoints)))
	var names []string
	seen := map[string]bool{}
	for _, s := range cfg.Services {
		for _, name := range []string{s.ServiceFlow(), s.Survey} {
			if name != "" && !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	if err := flows.DeployMissing(ctx, dir, names); err != nil {
		return nil, flow.Env{}, err
	}
	lookups := &flow.DBLookups{DB: st.DB.DB, Endpoints: maps.Clone(cfg.IVR.HTTPEndpoints)}
	env := flow.Env{Lookups: lookups, Notices: call.NoticesFrom(st), Log: log.With("component", "ivr")}
	return flows, env, nil
}
