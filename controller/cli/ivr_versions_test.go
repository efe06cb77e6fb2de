package cli

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/store"
)

// migratedTestDB returns the URL of a fresh database brought up to date by
// `hotline migrate`.
func migratedTestDB(t *testing.T) string {
	t.Helper()
	url := testenv.NewDatabase(t)
	if code, _, stderr := runHotline(t, nil, time.Now(), "migrate", "--database-url", url); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, stderr)
	}
	return url
}

// runIVRVersions runs `hotline ivr ...`.
func runIVRVersions(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	root := newRoot(&globals{getenv: func(string) string { return "" }, now: time.Now})
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, root, append([]string{"ivr"}, args...), &errb)
	return code, out.String(), errb.String()
}

// fakeFlowHooks points the flow reader at a test double: a flow
// containing "BAD" is invalid; a flow's bundle is every .yaml file in its
// directory.
func fakeFlowHooks(t *testing.T) {
	t.Helper()
	old := readFlowBundle
	t.Cleanup(func() { readFlowBundle = old })
	readFlowBundle = func(_ *ivrFiles, path string) (map[string][]byte, map[string]string, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		if bytes.Contains(data, []byte("BAD")) {
			return nil, nil, errors.New(filepath.Base(path) + ":2:3: unknown node \"BAD\"\n" + filepath.Base(path) + ":4:1: menu has no options")
		}
		dir := filepath.Dir(path)
		files := map[string][]byte{}
		err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(p) != ".yaml" {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			files[filepath.ToSlash(rel)] = data
			return err
		})
		return files, nil, err
	}
}

func writeVersionedFlow(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIVRDeployValidatesFirst(t *testing.T) {
	db := migratedTestDB(t)
	dir := t.TempDir()
	main := writeVersionedFlow(t, dir, "main.yaml", "start: menu\nnodes:\n  menu: BAD\n")

	// The flow package's validator: every problem at file:line:col,
	// nothing deployed.
	code, out, stderr := runIVRVersions(t, "deploy", main, "--by", "dev", "--database-url", db)
	if code != 1 || out != "" || !strings.Contains(stderr, main+":3:9: node menu must be a mapping with a type:, not a string") ||
		!strings.Contains(stderr, "hotline: "+main+" is not valid: nothing deployed") {
		t.Fatalf("deploy of an invalid flow: exit %d, out %q, stderr %q", code, out, stderr)
	}

	fakeFlowHooks(t)
	code, out, stderr = runIVRVersions(t, "deploy", main, "--by", "dev", "--database-url", db)
	if code != 1 || out != "" || !strings.Contains(stderr, "main.yaml:2:3: unknown node \"BAD\"\nmain.yaml:4:1: menu has no options\n") ||
		!strings.Contains(stderr, "hotline: "+main+" is not valid: nothing deployed") {
		t.Fatalf("invalid deploy: exit %d, out %q, stderr %q", code, out, stderr)
	}
	code, _, stderr = runIVRVersions(t, "history", "main", "--database-url", db)
	if code != 1 || !strings.Contains(stderr, "main has never been deployed") {
		t.Fatalf("history after a refused deploy: exit %d, stderr %q", code, stderr)
	}

	writeVersionedFlow(t, dir, "main.yaml", "start: menu\nnodes:\n  menu: ok\n")
	code, out, stderr = runIVRVersions(t, "deploy", main, "--by", "dev", "--database-url", db)
	sum := store.BundleSHA256(map[string][]byte{"main.yaml": []byte("start: menu\nnodes:\n  menu: ok\n")})
	if code != 0 || out != "deployed main version 1 (sha256 "+sum[:12]+")\n" {
		t.Fatalf("deploy: exit %d, out %q, stderr %q", code, out, stderr)
	}
	code, out, _ = runIVRVersions(t, "deploy", main, "--by", "dev", "--database-url", db)
	if code != 0 || out != "main version 1 is already active with this content (sha256 "+sum[:12]+"): nothing deployed\n" {
		t.Fatalf("same deploy: exit %d, out %q", code, out)
	}

	// A later invalid version changes nothing: version 1 stays active.
	writeVersionedFlow(t, dir, "main.yaml", "start: menu\nnodes:\n  menu: BAD again\n")
	if code, _, _ := runIVRVersions(t, "deploy", main, "--by", "dev", "--database-url", db); code != 1 {
		t.Fatalf("invalid deploy: exit %d", code)
	}
	st := openVersionStore(t, db)
	act, err := st.ActiveFlow(context.Background(), "main")
	if err != nil || act.Version != 1 || act.SHA256 != sum {
		t.Fatalf("active after a refused deploy = %d %s, %v; want version 1", act.Version, act.SHA256, err)
	}
	hist, err := st.FlowHistory(context.Background(), "main")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history = %v, %v; want one version", hist, err)
	}
}

func openVersionStore(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestIVRVersionsWorkflow(t *testing.T) {
	db := migratedTestDB(t)
	fakeFlowHooks(t)
	t.Setenv("USER", "alice")
	dir := t.TempDir()
	main := writeVersionedFlow(t, dir, "main.yaml", "start: menu\nsub: billing\n")
	writeVersionedFlow(t, dir, "sub/billing.yaml", "say: bill\nthen: hangup\n")

	ivr := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		code, out, stderr := runIVRVersions(t, append(args, "--database-url", db)...)
		if code != wantCode {
			t.Fatalf("ivr %v: exit %d, want %d; stdout %q, stderr %q", args, code, wantCode, out, stderr)
		}
		return out, stderr
	}

	ivr(0, "deploy", main)
	writeVersionedFlow(t, dir, "sub/billing.yaml", "say: bill-is\nthen: hangup\n")
	out, _ := ivr(0, "deploy", main, "--comment", "new  bill\nprompt", "--by", "bob")
	if !strings.HasPrefix(out, "deployed main version 2 ") {
		t.Fatalf("second deploy: %q", out)
	}

	out, _ = ivr(0, "history", "main.yaml")
	re := regexp.MustCompile(`^VERSION  ACTIVE  DEPLOYED              BY     COMMENT          SHA256
2        \*       \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  bob    new bill prompt  [0-9a-f]{12}
1                \S+  alice  -                [0-9a-f]{12}

AT                    CHANGE  FROM  TO  BY
\S+  deploy  -     1   alice
\S+  deploy  1     2   bob
$`)
	if !re.MatchString(out) {
		t.Fatalf("history:\n%s", out)
	}

	// The default diff: the version before the active one → the active one.
	out, _ = ivr(0, "diff", "main")
	want := "--- main@1/sub/billing.yaml\n+++ main@2/sub/billing.yaml\n@@ -1,2 +1,2 @@\n-say: bill\n+say: bill-is\n then: hangup\n"
	if out != want {
		t.Fatalf("diff main:\n got:\n%s\nwant:\n%s", out, want)
	}
	if out2, _ := ivr(0, "diff", "main", "1", "2"); out2 != want {
		t.Errorf("diff main 1 2:\n%s", out2)
	}
	if out2, _ := ivr(0, "diff", "main", "1"); out2 != want {
		t.Errorf("diff main 1:\n%s", out2)
	}
	out, stderr := ivr(0, "diff", "main", "2", "2")
	if out != "" || !strings.Contains(stderr, "no differences between main@2 and main@2") {
		t.Errorf("diff of a version with itself: out %q, stderr %q", out, stderr)
	}

	// A working copy: a changed main and a new sub-flow, before deploying.
	writeVersionedFlow(t, dir, "main.yaml", "start: menu\nsub: billing\nnight: true\n")
	writeVersionedFlow(t, dir, "night.yaml", "say: closed\n")
	out, _ = ivr(0, "diff", "main", "--file", main)
	want = "--- main@2/main.yaml\n+++ " + filepath.ToSlash(main) + "\n@@ -1,2 +1,3 @@\n start: menu\n sub: billing\n+night: true\n" +
		"--- /dev/null\n+++ " + filepath.ToSlash(filepath.Join(dir, "night.yaml")) + "\n@@ -0,0 +1 @@\n+say: closed\n"
	if out != want {
		t.Fatalf("diff --file:\n got:\n%s\nwant:\n%s", out, want)
	}

	out, _ = ivr(0, "rollback", "main", "--by", "ops")
	if out != "rolled back main to version 1 (was version 2)\n" {
		t.Fatalf("rollback: %q", out)
	}
	st := openVersionStore(t, db)
	act, err := st.ActiveFlow(context.Background(), "main")
	if err != nil || act.Version != 1 || string(act.Files["sub/billing.yaml"]) != "say: bill\nthen: hangup\n" {
		t.Fatalf("active after rollback = %d %q, %v", act.Version, act.Files, err)
	}
	out, _ = ivr(0, "history", "main")
	if !regexp.MustCompile(`(?m)^1        \*  `).MatchString(out) || !regexp.MustCompile(`(?m)^\S+  rollback  2     1   ops$`).MatchString(out) {
		t.Errorf("history after rollback:\n%s", out)
	}
	// Nothing older than version 1; --to goes forward again.
	if _, stderr := ivr(1, "rollback", "main"); !strings.Contains(stderr, "version 1 is the oldest") {
		t.Errorf("rollback from 1: %q", stderr)
	}
	if out, _ := ivr(0, "rollback", "main", "--to", "2"); out != "rolled back main to version 2 (was version 1)\n" {
		t.Errorf("rollback --to 2: %q", out)
	}

	// The database from the configuration file, as for `hotline migrate`.
	cfg := writeFile(t, "hotline.yaml", "database: {url: \""+db+"\"}\n")
	code, out, stderr := runIVRVersions(t, "history", "main", "--config", cfg)
	if code != 0 || !strings.Contains(out, "rollback  1     2   alice") {
		t.Errorf("history --config: exit %d, out %q, stderr %q", code, out, stderr)
	}
}

func TestIVRVersionErrors(t *testing.T) {
	db := migratedTestDB(t)
	fakeFlowHooks(t)
	dir := t.TempDir()
	main := writeVersionedFlow(t, dir, "main.yaml", "ok: 1\n")
	t.Setenv("USER", "")

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", writeVersionedFlow(t, dir, "main.txt", "x")}, "main.txt: a flow file's name ends in .yaml or .yml"},
		{[]string{"deploy", writeVersionedFlow(t, dir, "bad name.yaml", "x")}, `flow name "bad name"`},
		{[]string{"deploy", main}, "--by: say who is making the change"},
		{[]string{"deploy", filepath.Join(dir, "none.yaml"), "--by", "x"}, "none.yaml"},
		{[]string{"rollback", "main", "--by", "x"}, "ivr flow main has never been deployed"},
		{[]string{"rollback", "main", "--to", "0", "--by", "x"}, "--to 0: versions start at 1"},
		{[]string{"history", "main"}, "ivr flow main has never been deployed"},
		{[]string{"diff", "main"}, "ivr flow main has no active version"},
		{[]string{"diff", "main", "two"}, `version "two": want a version number`},
		{[]string{"diff", "main", "1", "2", "--file", main}, "--file: compare one version"},
	} {
		code, _, stderr := runIVRVersions(t, append(tt.args, "--database-url", db)...)
		if code != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("ivr %v: exit %d, stderr %q; want %q", tt.args, code, stderr, tt.want)
		}
	}

	if code, _, _ := runIVRVersions(t, "deploy", main, "--by", "x", "--database-url", db); code != 0 {
		t.Fatal("deploy failed")
	}
	if code, _, stderr := runIVRVersions(t, "diff", "main", "--database-url", db); code != 1 || !strings.Contains(stderr, "the active version 1 is the oldest") {
		t.Errorf("diff with one version: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runIVRVersions(t, "diff", "main", "7", "--database-url", db); code != 1 || !strings.Contains(stderr, "ivr flow main has no version 7") {
		t.Errorf("diff with a missing version: exit %d, %q", code, stderr)
	}

	// A database without the IVR tables: say how to fix it.
	bare := testenv.NewDatabase(t)
	code, _, stderr := runIVRVersions(t, "history", "main", "--database-url", bare)
	if code != 1 || !strings.Contains(stderr, "run `hotline migrate`") {
		t.Errorf("unmigrated database: exit %d, stderr %q", code, stderr)
	}
}

// A deploy stores, with the flow, the prompt list and the queries it was
// validated against: diff shows their changes, rollback brings the old
// ones back. A flow naming an HTTP endpoint the installation does not
// configure is refused when the configuration is known.
func TestIVRDeployStoresPromptsAndQueries(t *testing.T) {
	db := migratedTestDB(t)
	dir := t.TempDir()
	orig := map[string]string{}
	for _, f := range []string{"main.yaml", "fault.yaml", "prompts.txt", "queries.yaml"} {
		orig[f] = mustRead(t, filepath.Join(ivrScripts, f))
		writeVersionedFlow(t, dir, f, orig[f])
	}
	main := filepath.Join(dir, "main.yaml")
	ivr := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		if args[0] == "deploy" || args[0] == "rollback" {
			args = append(args, "--by", "dev")
		}
		code, out, stderr := runIVRVersions(t, append(args, "--database-url", db)...)
		if code != wantCode {
			t.Fatalf("ivr %v: exit %d, want %d; stdout %q, stderr %q", args, code, wantCode, out, stderr)
		}
		return out, stderr
	}
	st := openVersionStore(t, db)
	active := func() store.FlowVersion {
		t.Helper()
		v, err := st.ActiveFlow(context.Background(), "main")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	ivr(0, "deploy", main)
	v1 := active()
	if len(v1.Files) != len(orig) {
		t.Errorf("version 1 stores %d files, want %d", len(v1.Files), len(orig))
	}
	for f, src := range orig {
		if string(v1.Files[f]) != src {
			t.Errorf("version 1 %s: %d bytes, want the %d on disk", f, len(v1.Files[f]), len(src))
		}
	}

	// Version 2 uses a new query and a new prompt.
	writeVersionedFlow(t, dir, "queries.yaml", orig["queries.yaml"]+
		"bill_now:\n  sql: SELECT current_bill_cents AS cents FROM customers WHERE number = $1\n  params: [number]\n  columns: {cents: int}\n")
	writeVersionedFlow(t, dir, "prompts.txt", orig["prompts.txt"]+"line-ok|Thank you for calling.\n")
	v2 := strings.Replace(strings.Replace(orig["main.yaml"], "say: [welcome]", "say: [welcome, line-ok]", 1), "query: current_bill\n", "query: bill_now\n", 1)
	writeVersionedFlow(t, dir, "main.yaml", v2)

	noEndpoint := writeFile(t, "hotline.yaml", "ivr:\n  http_endpoints: {billing: https://billing.example.com}\n")
	_, stderr := ivr(1, "deploy", main, "--config", noEndpoint)
	if !strings.Contains(stderr, `node bb http.endpoint: "broadband_status" is not configured in ivr.http_endpoints of `+noEndpoint) ||
		!strings.Contains(stderr, "nothing deployed") {
		t.Errorf("deploy with the endpoint not configured: %q", stderr)
	}
	withEndpoint := writeFile(t, "hotline.yaml", "ivr:\n  http_endpoints: {broadband_status: https://lines.example.com}\n")
	if out, _ := ivr(0, "deploy", main, "--config", withEndpoint); !strings.HasPrefix(out, "deployed main version 2 ") {
		t.Fatalf("deploy of version 2: %q", out)
	}
	if got := active(); got.Version != 2 || !strings.Contains(string(got.Files["queries.yaml"]), "bill_now:") || !strings.Contains(string(got.Files["prompts.txt"]), "line-ok|") {
		t.Fatalf("active version %d does not carry the new query and prompt", got.Version)
	}

	out, _ := ivr(0, "diff", "main")
	for _, w := range []string{
		"--- main@1/main.yaml\n+++ main@2/main.yaml\n",
		"-    say: [welcome]\n+    say: [welcome, line-ok]\n",
		"-    query: current_bill\n+    query: bill_now\n",
		"--- main@1/prompts.txt\n+++ main@2/prompts.txt\n",
		"+line-ok|Thank you for calling.\n",
		"--- main@1/queries.yaml\n+++ main@2/queries.yaml\n",
		"+bill_now:\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("diff main lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "fault.yaml") {
		t.Errorf("diff main shows the unchanged fault.yaml:\n%s", out)
	}

	// A working change of the prompt list alone, before deploying it.
	writeVersionedFlow(t, dir, "prompts.txt", orig["prompts.txt"]+"line-ok|Thank you for calling.\nlater|Later.\n")
	out, _ = ivr(0, "diff", "main", "--file", main)
	if want := "--- main@2/prompts.txt\n+++ " + filepath.ToSlash(filepath.Join(dir, "prompts.txt")) + "\n"; !strings.HasPrefix(out, want) ||
		!strings.Contains(out, "+later|Later.\n") || strings.Count(out, "+++ ") != 1 {
		t.Errorf("diff --file, want only prompts.txt (%q...):\n%s", want, out)
	}

	ivr(0, "rollback", "main")
	if got := active(); got.Version != 1 || string(got.Files["queries.yaml"]) != orig["queries.yaml"] || string(got.Files["prompts.txt"]) != orig["prompts.txt"] {
		t.Errorf("after rollback: version %d; the old prompts and queries back: %v", got.Version,
			string(got.Files["queries.yaml"]) == orig["queries.yaml"] && string(got.Files["prompts.txt"]) == orig["prompts.txt"])
	}
}
