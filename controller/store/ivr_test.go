package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hotline-cc/hotline/controller/store"
)

func bundle(kv ...string) map[string][]byte {
	m := map[string][]byte{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

func TestDeployFlowVersionsAndActivates(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t)

	if _, err := s.ActiveFlow(ctx, "main"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "main has no active version") {
		t.Fatalf("ActiveFlow before any deploy = %v, want a not-found error naming the flow", err)
	}

	v1 := bundle("main.yaml", "menu: 1\n", "sub/billing.yaml", "bill: 1\n")
	ver, unchanged, err := s.DeployFlow(ctx, "main", v1, "alice", "first")
	if err != nil || ver != 1 || unchanged {
		t.Fatalf("first deploy = %d, %v, %v; want 1, false, nil", ver, unchanged, err)
	}
	// The same content again: no new version.
	ver, unchanged, err = s.DeployFlow(ctx, "main", bundle("sub/billing.yaml", "bill: 1\n", "main.yaml", "menu: 1\n"), "bob", "again")
	if err != nil || ver != 1 || !unchanged {
		t.Fatalf("same deploy = %d, %v, %v; want 1, true, nil", ver, unchanged, err)
	}
	// A change in a sub-flow alone is a new version.
	v2 := bundle("main.yaml", "menu: 1\n", "sub/billing.yaml", "bill: 2\n")
	ver, unchanged, err = s.DeployFlow(ctx, "main", v2, "bob", "billing wording")
	if err != nil || ver != 2 || unchanged {
		t.Fatalf("second deploy = %d, %v, %v; want 2, false, nil", ver, unchanged, err)
	}
	// Another flow numbers its own versions.
	if ver, _, err := s.DeployFlow(ctx, "night", bundle("night.yml", "x: 1\n"), "carol", ""); err != nil || ver != 1 {
		t.Fatalf("other flow = %d, %v; want version 1", ver, err)
	}

	act, err := s.ActiveFlow(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if act.Version != 2 || !act.Active || act.Entry != "main.yaml" || !maps.EqualFunc(act.Files, v2, slices.Equal) ||
		act.SHA256 != store.BundleSHA256(v2) || act.DeployedBy != "bob" || act.Comment != "billing wording" || act.DeployedAt.IsZero() {
		t.Errorf("active = %+v", act)
	}
	old, err := s.FlowVersion(ctx, "main", 1)
	if err != nil {
		t.Fatal(err)
	}
	if old.Active || !maps.EqualFunc(old.Files, v1, slices.Equal) || old.DeployedBy != "alice" {
		t.Errorf("version 1 = %+v", old)
	}
	if _, err := s.FlowVersion(ctx, "main", 7); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FlowVersion 7 = %v, want not found", err)
	}

	hist, err := s.FlowHistory(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, fmt.Sprintf("%d %v %s %s", h.Version, h.Active, h.DeployedBy, h.SHA256[:8]))
	}
	want := []string{"2 true bob " + store.BundleSHA256(v2)[:8], "1 false alice " + store.BundleSHA256(v1)[:8]}
	if !slices.Equal(got, want) {
		t.Errorf("history %q, want %q", got, want)
	}
	if _, err := s.FlowHistory(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("history of an unknown flow = %v, want not found", err)
	}
}

func TestBundleSHA256(t *testing.T) {
	a := store.BundleSHA256(bundle("a.yaml", "bc", "x.yaml", ""))
	if a != store.BundleSHA256(bundle("x.yaml", "", "a.yaml", "bc")) {
		t.Error("sum depends on map order")
	}
	for _, other := range []map[string][]byte{
		bundle("a.yamlb", "c", "x.yaml", ""), // name/content boundary moved
		bundle("a.yaml", "bc"),               // an empty file dropped
		bundle("a.yaml", "bd", "x.yaml", ""),
	} {
		if store.BundleSHA256(other) == a {
			t.Errorf("%q has the same sum as the original", other)
		}
	}
	if len(a) != 64 {
		t.Errorf("sum %q is not hex sha256", a)
	}
}

func TestDeployFlowRejectsBadBundles(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t)
	if _, _, err := s.DeployFlow(ctx, "main", bundle("main.yaml", "ok: 1\n"), "a", ""); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"main", bundle("other.yaml", "x"), "has no main.yaml"},
		{"main", bundle("main.yaml", "x", "main.yml", "y"), "both main.yaml and main.yml"},
		{"main", bundle("main.yaml", "x", "../etc.yaml", "y"), `file name "../etc.yaml"`},
		{"main", bundle("main.yaml", "x", "/abs.yaml", "y"), `file name "/abs.yaml"`},
		{"main", bundle("main.yaml", "x", "a/./b.yaml", "y"), `file name "a/./b.yaml"`},
		{"main", bundle("main.yaml", "\xff\xfe"), "main.yaml is not UTF-8 text"},
		{"main", bundle("main.yaml", "a\x00b"), "NUL byte"},
		{"main", bundle("main.yaml", strings.Repeat("x", store.MaxFlowBundle+1)), "more than"},
		{"../main", bundle("../main.yaml", "x"), `flow name "../main"`},
		{"", bundle(".yaml", "x"), `flow name ""`},
	} {
		if _, _, err := s.DeployFlow(ctx, tt.name, tt.files, "a", ""); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("DeployFlow(%q, %q) = %v, want an error with %q", tt.name, slices.Sorted(maps.Keys(tt.files)), err, tt.want)
		}
	}
	assertRows(t, s, `SELECT flow || ' ' || version FROM ivr_flow_versions ORDER BY 1`, "main 1")
	assertRows(t, s, `SELECT flow || ' ' || version FROM ivr_flow_active`, "main 1")
}

// A deploy that fails after its version row is written (here a trigger
// refuses the history row) leaves the active version and the versions as
// they were: the whole deploy is one transaction.
func TestFailedDeployChangesNothing(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t)
	v1 := bundle("main.yaml", "ok: 1\n")
	if _, _, err := s.DeployFlow(ctx, "main", v1, "a", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.ExecContext(ctx, `
		CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.comment = 'boom' THEN RAISE EXCEPTION 'refused by test trigger'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_boom BEFORE INSERT ON ivr_flow_events FOR EACH ROW EXECUTE FUNCTION refuse_boom();`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.DeployFlow(ctx, "main", bundle("main.yaml", "ok: 2\n"), "a", "boom"); err == nil || !strings.Contains(err.Error(), "refused by test trigger") {
		t.Fatalf("deploy = %v, want the trigger's error", err)
	}
	act, err := s.ActiveFlow(ctx, "main")
	if err != nil || act.Version != 1 || !maps.EqualFunc(act.Files, v1, slices.Equal) {
		t.Fatalf("active after a failed deploy = %+v, %v; want version 1", act, err)
	}
	assertRows(t, s, `SELECT version::text FROM ivr_flow_versions WHERE flow = 'main'`, "1")
	// The next good deploy is version 2: the failed one left no gap.
	if ver, _, err := s.DeployFlow(ctx, "main", bundle("main.yaml", "ok: 2\n"), "a", "fine"); err != nil || ver != 2 {
		t.Fatalf("next deploy = %d, %v; want 2", ver, err)
	}
}

func TestConcurrentDeploys(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t)
	const n = 8

	// Different content: every deploy gets its own version.
	var wg sync.WaitGroup
	vers := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			vers[i], _, errs[i] = s.DeployFlow(ctx, "main", bundle("main.yaml", fmt.Sprintf("deploy: %d\n", i)), "a", "")
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("deploy %d: %v", i, err)
		}
	}
	slices.Sort(vers)
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(vers, want) {
		t.Fatalf("versions %v, want %v", vers, want)
	}
	act, err := s.ActiveFlow(ctx, "main")
	if err != nil || act.Version != n {
		t.Fatalf("active = %d, %v; want the last deploy, %d", act.Version, err, n)
	}

	// The same content at once: one new version, the others see it.
	unchanged := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			vers[i], unchanged[i], errs[i] = s.DeployFlow(ctx, "main", bundle("main.yaml", "same: true\n"), "a", "")
		})
	}
	wg.Wait()
	news := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("deploy %d: %v", i, errs[i])
		}
		if vers[i] != n+1 {
			t.Errorf("deploy %d got version %d, want %d", i, vers[i], n+1)
		}
		if !unchanged[i] {
			news++
		}
	}
	if news != 1 {
		t.Errorf("%d deploys of the same content stored a version, want 1", news)
	}
	assertRows(t, s, `SELECT count(*)::text FROM ivr_flow_events WHERE flow = 'main'`, fmt.Sprint(n+1))
}

func TestRollbackFlow(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t)
	if _, _, err := s.RollbackFlow(ctx, "main", 0, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rollback of a flow never deployed = %v, want not found", err)
	}
	files := map[int]map[string][]byte{}
	for v := 1; v <= 3; v++ {
		files[v] = bundle("main.yaml", fmt.Sprintf("v: %d\n", v), "sub.yaml", fmt.Sprintf("sub: %d\n", v))
		if _, _, err := s.DeployFlow(ctx, "main", files[v], "dev", fmt.Sprintf("v%d", v)); err != nil {
			t.Fatal(err)
		}
	}
	active := func(want int) {
		t.Helper()
		act, err := s.ActiveFlow(ctx, "main")
		if err != nil || act.Version != want || !maps.EqualFunc(act.Files, files[want], slices.Equal) {
			t.Fatalf("active = %d %q, %v; want version %d with its files", act.Version, act.Files, err, want)
		}
	}

	from, to, err := s.RollbackFlow(ctx, "main", 0, "ops")
	if err != nil || from != 3 || to != 2 {
		t.Fatalf("rollback = %d→%d, %v; want 3→2", from, to, err)
	}
	active(2)
	if from, to, err = s.RollbackFlow(ctx, "main", 0, "ops"); err != nil || from != 2 || to != 1 {
		t.Fatalf("second rollback = %d→%d, %v; want 2→1", from, to, err)
	}
	active(1)
	if _, _, err := s.RollbackFlow(ctx, "main", 0, "ops"); err == nil || !strings.Contains(err.Error(), "version 1 is the oldest") {
		t.Errorf("rollback from version 1 = %v, want 'the oldest'", err)
	}
	if from, to, err = s.RollbackFlow(ctx, "main", 3, "ops"); err != nil || from != 1 || to != 3 {
		t.Fatalf("rollback --to 3 = %d→%d, %v; want 1→3", from, to, err)
	}
	active(3)
	if _, _, err := s.RollbackFlow(ctx, "main", 3, "ops"); err == nil || !strings.Contains(err.Error(), "version 3 is already active") {
		t.Errorf("rollback to the active version = %v", err)
	}
	if _, _, err := s.RollbackFlow(ctx, "main", 9, "ops"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "no version 9") {
		t.Errorf("rollback to version 9 = %v, want not found", err)
	}
	if _, _, err := s.RollbackFlow(ctx, "main", -1, "ops"); err == nil {
		t.Error("rollback to version -1: no error")
	}
	active(3) // the failed rollbacks changed nothing

	// Back to 2; a deploy after a rollback takes the next free number.
	if _, _, err := s.RollbackFlow(ctx, "main", 2, "ops"); err != nil {
		t.Fatal(err)
	}
	if ver, unchanged, err := s.DeployFlow(ctx, "main", files[3], "dev", "v3 again"); err != nil || ver != 4 || unchanged {
		t.Fatalf("deploy after rollback = %d, %v, %v; want 4, false", ver, unchanged, err)
	}

	es, err := s.FlowEvents(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		from := "-"
		if e.FromVersion.Valid {
			from = fmt.Sprint(e.FromVersion.Int64)
		}
		got = append(got, fmt.Sprintf("%s %s→%d %s", e.Kind, from, e.ToVersion, e.By))
	}
	want := []string{"deploy -→1 dev", "deploy 1→2 dev", "deploy 2→3 dev", "rollback 3→2 ops", "rollback 2→1 ops",
		"rollback 1→3 ops", "rollback 3→2 ops", "deploy 2→4 dev"}
	if !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}
