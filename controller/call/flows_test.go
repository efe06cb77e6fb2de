package call

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/ivr"
	"github.com/hotline-cc/hotline/controller/ivr/flow"
	"github.com/hotline-cc/hotline/controller/store"
)

// flowsStore is a store on a fresh migrated database.
func flowsStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, testenv.NewDatabase(t), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := store.Migrate(ctx, st.DB.DB, log); err != nil {
		t.Fatal(err)
	}
	return st
}

// scriptsCopy copies the shipped prompts.txt and queries.yaml into a new
// directory, with the given flow files.
func scriptsCopy(t *testing.T, flows map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{flow.PromptsFile, flow.QueriesFile} {
		src, err := os.ReadFile(filepath.Join("..", "..", "ivr-scripts", f))
		if err != nil {
			t.Fatal(err)
		}
		flows[f] = string(src)
	}
	for name, src := range flows {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runActiveFlow runs the active version of flow name from flows on a fake
// call from caller, with lookups on the database.
func runActiveFlow(t *testing.T, flows *Flows, st *store.Store, name, caller string) (int, *flow.Program, flow.Result, []string) {
	t.Helper()
	prog, version, err := flows.Program(context.Background(), name)
	if err != nil {
		t.Fatalf("Program(%s): %v", name, err)
	}
	s := flow.NewFakeSession(nil, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	res, err := prog.Run(context.Background(), s, flow.Call{Caller: caller, Service: "10000"},
		flow.Env{Lookups: &flow.DBLookups{DB: st.DB.DB}, Now: s.Now, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("run %s version %d: %v", name, version, err)
	}
	var trail []string
	for _, step := range s.Steps() {
		trail = append(trail, step.String())
	}
	return version, prog, res, trail
}

const hoursV1 = `nodes:
  bill:
    type: lookup
    query: current_bill
    args: {number: caller}
    next: tell
  tell:
    type: play
    served: true
    say: [bill-is, {money: bill.cents}]
    next: end
`

// Version 2 uses a query and a prompt that the files read at start-up
// do not have.
const hoursV2 = `nodes:
  level:
    type: lookup
    query: customer_level
    args: {number: caller}
    next: tell
  tell:
    type: play
    served: true
    say: [your-level, {number: level.level}]
    next: end
`

const newQuery = `customer_level:
  sql: SELECT priority AS level FROM customers WHERE number = $1
  params: [number]
  columns: {level: int}
`

// A deployed version is compiled with the prompt list and queries of its
// own bundle: a flow using a new query and a new prompt runs on the next
// call without a restart, and a rollback brings back the old set. A
// version stored without them compiles against the start-up files.
func TestFlowsCompileWithTheBundlesPromptsAndQueries(t *testing.T) {
	ctx := context.Background()
	st := flowsStore(t)
	if _, err := st.DB.Exec(`INSERT INTO customers (number, current_bill_cents, priority) VALUES ('13800000001', 12345, 7)`); err != nil {
		t.Fatal(err)
	}
	dir := scriptsCopy(t, map[string]string{"hours.yaml": hoursV1})
	startup, err := flow.LoadOptions(filepath.Join(dir, flow.PromptsFile), filepath.Join(dir, flow.QueriesFile))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	flows := NewFlows(st, startup, slog.New(slog.NewTextHandler(&logs, nil)))

	// The first start deploys version 1 with the files it was checked
	// against.
	if err := flows.DeployMissing(ctx, dir, []string{"hours"}); err != nil {
		t.Fatal(err)
	}
	v1, err := st.ActiveFlow(ctx, "hours")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hours.yaml", flow.PromptsFile, flow.QueriesFile} {
		disk, _ := os.ReadFile(filepath.Join(dir, f))
		if !bytes.Equal(v1.Files[f], disk) {
			t.Errorf("version 1 stores %s as %d bytes, want the %d on disk", f, len(v1.Files[f]), len(disk))
		}
	}
	version, _, res, trail := runActiveFlow(t, flows, st, "hours", "13800000001")
	if version != 1 || res.Outcome != ivr.Contained || !hasLine(trail, "tell prompt: sound:hotline/bill-is number:123 sound:hotline/yuan number:45 sound:hotline/cents") {
		t.Fatalf("version %d: %s\n%s", version, res.OutcomeName, strings.Join(trail, "\n"))
	}

	// An admin adds a query and a prompt, and deploys a flow using them
	// (what `hotline ivr deploy` stores: Program.Bundle).
	for f, add := range map[string]string{flow.QueriesFile: newQuery, flow.PromptsFile: "your-level|Your customer level is\n", "hours.yaml": ""} {
		src, _ := os.ReadFile(filepath.Join(dir, f))
		if f == "hours.yaml" {
			src = []byte(hoursV2)
		}
		if err := os.WriteFile(filepath.Join(dir, f), append(src, add...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	edited, err := flow.LoadOptions(filepath.Join(dir, flow.PromptsFile), filepath.Join(dir, flow.QueriesFile))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := flow.LoadFile(filepath.Join(dir, "hours.yaml"), edited)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := st.DeployFlow(ctx, "hours", prog.Bundle(), "admin", "customer level"); err != nil || v != 2 {
		t.Fatalf("deploy: version %d, %v", v, err)
	}
	version, _, res, trail = runActiveFlow(t, flows, st, "hours", "13800000001")
	if version != 2 || res.Outcome != ivr.Contained ||
		!hasLine(trail, "level lookup: customer_level: found") || !hasLine(trail, "tell prompt: sound:hotline/your-level number:7") {
		t.Fatalf("version %d after the deploy: %s\n%s", version, res.OutcomeName, strings.Join(trail, "\n"))
	}
	if !strings.Contains(logs.String(), `msg="ivr flow compiled" flow=hours version=2 prompts=bundle queries=bundle`) {
		t.Errorf("log lacks where version 2's prompts and queries came from:\n%s", logs.String())
	}

	// The rollback: version 1 again, compiled with its own (older) files.
	if _, to, err := st.RollbackFlow(ctx, "hours", 0, "admin"); err != nil || to != 1 {
		t.Fatalf("rollback to %d: %v", to, err)
	}
	version, prog, res, trail = runActiveFlow(t, flows, st, "hours", "13800000001")
	if version != 1 || res.Outcome != ivr.Contained || !hasLine(trail, "bill lookup: current_bill: found") {
		t.Fatalf("version %d after the rollback: %s\n%s", version, res.OutcomeName, strings.Join(trail, "\n"))
	}
	if b := prog.Bundle(); !bytes.Equal(b[flow.QueriesFile], v1.Files[flow.QueriesFile]) || !bytes.Equal(b[flow.PromptsFile], v1.Files[flow.PromptsFile]) {
		t.Errorf("after the rollback, version 1 is not compiled with its own prompts and queries")
	}

	// A version stored with the flow alone (as before bundles carried
	// prompts and queries) compiles against the start-up files: version
	// 2's flow does not compile there, a flow using only what they
	// define does.
	if _, _, err := st.DeployFlow(ctx, "hours", map[string][]byte{"hours.yaml": []byte(hoursV2)}, "admin", "flow only"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := flows.Program(ctx, "hours"); err == nil || !strings.Contains(err.Error(), `ivr flow hours version 3 does not compile`) ||
		!strings.Contains(err.Error(), `query "customer_level" is not defined`) {
		t.Errorf("flow-only version using a new query: %v", err)
	}
	if _, _, err := st.DeployFlow(ctx, "hours", map[string][]byte{"hours.yaml": []byte(hoursV1 + "\n")}, "admin", "flow only"); err != nil {
		t.Fatal(err)
	}
	version, prog, res, _ = runActiveFlow(t, flows, st, "hours", "13800000001")
	if version != 4 || res.Outcome != ivr.Contained || !bytes.Equal(prog.Bundle()[flow.QueriesFile], startup.Queries.Source()) {
		t.Errorf("flow-only version 4: %s, not compiled with the start-up queries", res.OutcomeName)
	}
	if !strings.Contains(logs.String(), `version=4 prompts=start-up queries=start-up`) {
		t.Errorf("log lacks that version 4 uses the start-up files:\n%s", logs.String())
	}
}

// A flow naming an HTTP endpoint the installation does not configure
// compiles with a warning; on a call that lookup takes its on_error
// branch (here: an agent) and is logged, and the call goes on.
func TestFlowsEndpointNotConfigured(t *testing.T) {
	ctx := context.Background()
	st := flowsStore(t)
	src := `nodes:
  bb:
    type: lookup
    http: {endpoint: broadband_status, path: /v1/line, params: {number: caller}}
    fields: {state: string}
    next: end
    on_error: agent
`
	if _, _, err := st.DeployFlow(ctx, "bb", map[string][]byte{"bb.yaml": []byte(src)}, "admin", ""); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	flows := NewFlows(st, flow.Options{}, log)
	flows.HTTPEndpoints([]string{"billing"})
	prog, _, err := flows.Program(ctx, "bb")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `level=WARN msg="ivr flow uses HTTP endpoints that ivr.http_endpoints does not configure: their lookups take on_error" flow=bb version=1 endpoints=[broadband_status]`) {
		t.Errorf("no warning at compile time:\n%s", logs.String())
	}
	logs.Reset()
	s := flow.NewFakeSession(nil, time.Unix(0, 0))
	res, err := prog.Run(ctx, s, flow.Call{Caller: "13800000001"},
		flow.Env{Lookups: &flow.DBLookups{DB: st.DB.DB, Endpoints: map[string]string{"billing": "http://127.0.0.1:1"}}, Log: log})
	if err != nil || res.Outcome != ivr.ToAgent {
		t.Fatalf("outcome %s, %v; want to_agent", res.OutcomeName, err)
	}
	if !strings.Contains(logs.String(), `level=WARN msg="ivr lookup failed" node=bb lookup=broadband_status/v1/line`) ||
		!strings.Contains(logs.String(), `HTTP endpoint \"broadband_status\" is not configured`) {
		t.Errorf("the failed lookup is not logged:\n%s", logs.String())
	}
}

func hasLine(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}
