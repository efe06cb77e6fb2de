package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/internal/testenv"
	hotlinesql "github.com/hotline-cc/hotline/sql"
)

// runHotline runs the command tree with args and env, returning the exit
// code, stdout and stderr.
func runHotline(t *testing.T, env map[string]string, now time.Time, args ...string) (int, string, string) {
	t.Helper()
	g := &globals{getenv: func(k string) string { return env[k] }, now: func() time.Time { return now }}
	root := newRoot(g)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, root, args, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadConfigNamesFileAndLine(t *testing.T) {
	bad := writeFile(t, "hotline.yaml", "mode: development\nasterisk:\n  url: http://127.0.0.1:8088\n  foo: bar\n")
	for _, cmd := range [][]string{{"serve"}, {"migrate"}, {"agent", "list"}} {
		code, _, stderr := runHotline(t, nil, time.Now(), append(cmd, "--config", bad)...)
		want := bad + `:4: field "foo" is not a known setting of asterisk`
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", cmd, code, stderr, want)
		}
	}
}

func TestServeValidatesAndChecksSecrets(t *testing.T) {
	invalid := writeFile(t, "hotline.yaml", "database: {url: postgres://h/db}\nservices:\n  - number: \"10000\"\n    queue: nope\n")
	code, _, stderr := runHotline(t, nil, time.Now(), "serve", "--config", invalid)
	if want := invalid + `:4: services[0].queue: queue "nope" is not defined in queues`; code != 1 || strings.TrimSpace(stderr) != want {
		t.Errorf("exit %d, stderr %q; want %q", code, stderr, want)
	}

	valid := writeFile(t, "hotline.yaml", "database: {url: postgres://h/db}\n")
	code, _, stderr = runHotline(t, nil, time.Now(), "serve", "--config", valid)
	if want := "asterisk password is empty: set HOTLINE_ARI_PASSWORD"; code != 1 || strings.TrimSpace(stderr) != want {
		t.Errorf("exit %d, stderr %q; want %q", code, stderr, want)
	}

	code, _, stderr = runHotline(t, nil, time.Now(), "serve", "--config", valid, "--log-level", "loud")
	if want := valid + `: log.level: "loud" is not one of debug, info, warn, error`; code != 1 || strings.TrimSpace(stderr) != want {
		t.Errorf("--log-level loud: exit %d, stderr %q; want %q", code, stderr, want)
	}

	code, _, stderr = runHotline(t, nil, time.Now(), "serve", "--config", filepath.Join(t.TempDir(), "none.yaml"))
	if code != 1 || !strings.Contains(stderr, "none.yaml not found (use --config FILE") {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runHotline(t, nil, time.Now(), "version")
	if code != 0 || !strings.HasPrefix(out, "hotline ") || len(strings.Fields(out)) < 3 {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, stderr := runHotline(t, nil, time.Now(), "frobnicate")
	if code != 1 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// fakeAgents stands in for the ACD behind a real api handler.
type fakeAgents struct{ calls []string }

func (f *fakeAgents) ListAgents(context.Context) ([]api.AgentStatus, error) {
	t0 := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	return []api.AgentStatus{
		{ID: "1001", Name: "Agent One", Endpoint: "PJSIP/agent1", State: "READY", Since: t0, CallsToday: 12},
		{ID: "1002", Name: "Agent Two", Endpoint: "PJSIP/agent2", State: "NOT_READY", Reason: "meal", Since: t0.Add(55 * time.Minute), CallsToday: 3},
		{ID: "1003", Endpoint: "PJSIP/agent3", State: "LOGGED_OUT"},
	}, nil
}
func (f *fakeAgents) do(s string) error {
	f.calls = append(f.calls, s)
	if strings.HasSuffix(s, " 9") {
		return fmt.Errorf("no agent 9: %w", api.ErrNotFound)
	}
	return nil
}
func (f *fakeAgents) Login(_ context.Context, id string) error  { return f.do("login " + id) }
func (f *fakeAgents) Ready(_ context.Context, id string) error  { return f.do("ready " + id) }
func (f *fakeAgents) Logout(_ context.Context, id string) error { return f.do("logout " + id) }
func (f *fakeAgents) NotReady(_ context.Context, id, r string) error {
	return f.do("notready(" + r + ") " + id)
}

func TestAgentCommands(t *testing.T) {
	f := &fakeAgents{}
	srv := httptest.NewServer(api.New(f, nil, "tok", slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	env := map[string]string{"HOTLINE_API_TOKEN": "tok"}
	now := time.Date(2025, 3, 4, 10, 2, 7, 0, time.UTC)

	code, out, stderr := runHotline(t, env, now, "agent", "list", "--api", srv.URL)
	want := `ID    NAME       STATE       REASON  SINCE  CALLS
1001  Agent One  READY       -       1h02m  12
1002  Agent Two  NOT_READY   meal    7m07s  3
1003  -          LOGGED_OUT  -       -      0
`
	if code != 0 || out != want {
		t.Errorf("agent list: exit %d, stderr %q\n got:\n%s\nwant:\n%s", code, stderr, out, want)
	}

	// The API address from the configuration file.
	listen := strings.TrimPrefix(srv.URL, "http://")
	cfg := writeFile(t, "hotline.yaml", "api:\n  listen: "+listen+"\n")
	for _, tt := range []struct {
		args []string
		out  string
	}{
		{[]string{"login", "1001"}, "agent 1001 logged in\n"},
		{[]string{"ready", "1001"}, "agent 1001 is ready\n"},
		{[]string{"notready", "1001", "--reason", "meal"}, "agent 1001 is not ready\n"},
		{[]string{"logout", "1001"}, "agent 1001 logged out\n"},
	} {
		code, out, stderr := runHotline(t, env, now, append([]string{"agent", "--config", cfg}, tt.args...)...)
		if code != 0 || out != tt.out {
			t.Errorf("%v: exit %d, out %q, stderr %q", tt.args, code, out, stderr)
		}
	}
	if got := strings.Join(f.calls, ","); got != "login 1001,ready 1001,notready(meal) 1001,logout 1001" {
		t.Errorf("calls %s", got)
	}

	code, _, stderr = runHotline(t, env, now, "agent", "login", "9", "--api", srv.URL)
	if code != 1 || strings.TrimSpace(stderr) != "hotline: agent 9 login: no agent 9: not found" {
		t.Errorf("unknown agent: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runHotline(t, nil, now, "agent", "list", "--api", srv.URL)
	if code != 1 || !strings.Contains(stderr, "401") || !strings.Contains(stderr, "set HOTLINE_API_TOKEN") {
		t.Errorf("no token: exit %d, stderr %q", code, stderr)
	}
}

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8089": "127.0.0.1:8089",
		":8089":          "127.0.0.1:8089",
		"0.0.0.0:8089":   "127.0.0.1:8089",
		"[::]:8089":      "[::1]:8089",
		"host:1":         "host:1",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMigrate(t *testing.T) {
	files, err := fs.Glob(hotlinesql.Migrations, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v %v", files, err)
	}
	var last int // the newest migration's version, from its file name
	if _, err := fmt.Sscanf(path.Base(files[len(files)-1]), "%05d_", &last); err != nil {
		t.Fatal(err)
	}
	dbURL := testenv.NewDatabase(t)
	code, out, stderr := runHotline(t, nil, time.Now(), "migrate", "--database-url", dbURL)
	if code != 0 || !strings.Contains(out, "applied 00001_init.sql (version 1) in ") ||
		!strings.HasSuffix(out, fmt.Sprintf("schema now at version %d\n", last)) || strings.Count(out, "applied ") != len(files) {
		t.Fatalf("first migrate: exit %d\nstdout %q\nstderr %q", code, out, stderr)
	}
	// Second run, database from HOTLINE_DATABASE_URL with no config file.
	t.Chdir(t.TempDir())
	code, out, stderr = runHotline(t, map[string]string{"HOTLINE_DATABASE_URL": dbURL}, time.Now(), "migrate")
	if code != 0 || out != fmt.Sprintf("schema already at version %d: nothing to apply\n", last) {
		t.Fatalf("second migrate: exit %d\nstdout %q\nstderr %q", code, out, stderr)
	}
}
