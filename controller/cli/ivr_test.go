package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const ivrScripts = "../../ivr-scripts"

func TestIVRValidate(t *testing.T) {
	code, out, stderr := runHotline(t, nil, time.Now(), "ivr", "validate", ivrScripts)
	if code != 0 || !strings.Contains(out, "ok ../../ivr-scripts/main.yaml (2 flows,") {
		t.Fatalf("shipped flows: exit %d\n%s%s", code, out, stderr)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("nodes:\n  menu:\n    type: menu\n    say: [main-options, nope]\n    options: {\"1\": bill}\n"), 0o600)
	code, out, stderr = runHotline(t, nil, time.Now(), "ivr", "validate", "--prompts", ivrScripts+"/prompts.txt", bad)
	want := []string{
		bad + `:3:5: node menu (menu) has no on_timeout branch`,
		bad + `:4:25: prompt "nope" is not defined in ../../ivr-scripts/prompts.txt`,
		bad + `:5:20: node "bill" is not defined`,
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if code != 1 || strings.TrimSpace(stderr) != "hotline: 3 problems" {
		t.Errorf("exit %d, stderr %q; want 1 and 3 problems", code, stderr)
	}
}

func TestIVRSimulate(t *testing.T) {
	fx := writeFile(t, "fx.yaml", "lookups:\n  current_bill: {found: true, values: {cents: 12345}}\n")
	code, out, stderr := runHotline(t, nil, time.Now(), "ivr", "simulate", ivrScripts+"/main.yaml",
		"--caller", "13800000001", "--keys", "1", "--fixtures", fx)
	for _, w := range []string{
		"read_bill prompt: sound:hotline/bill-is number:123 sound:hotline/yuan number:45 sound:hotline/cents",
		"5.0s  bill_more timeout: no key for 5s",
		"outcome: contained (at goodbye,",
		`var bill.cents = "12345"`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, _, stderr = runHotline(t, nil, time.Now(), "ivr", "simulate", ivrScripts+"/main.yaml", "--keys", "1,x")
	if code != 1 || !strings.Contains(stderr, `--keys: keys entry 2 "x"`) {
		t.Errorf("bad keys: exit %d, %q", code, stderr)
	}
}

func TestIVRTest(t *testing.T) {
	code, out, stderr := runHotline(t, nil, time.Now(), "ivr", "test", ivrScripts)
	if code != 0 || !strings.Contains(out, "--- PASS: main/key 1 reads the current bill first") || !strings.Contains(out, "\nPASS\t") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}

	// A failing case: exit 1, the case named with file:line:col and why.
	dir := t.TempDir()
	for _, f := range []string{"survey.yaml", "prompts.txt"} {
		src, err := os.ReadFile(filepath.Join(ivrScripts, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), src, 0o600)
	}
	os.WriteFile(filepath.Join(dir, "survey_test.yaml"), []byte("cases:\n  - name: wrong\n    keys: \"4\"\n    expect: {survey: 5}\n"), 0o600)
	code, out, stderr = runHotline(t, nil, time.Now(), "ivr", "test", dir)
	if code != 1 || !strings.Contains(out, "--- FAIL: survey/wrong") || !strings.Contains(out, "survey_test.yaml:2:5: case wrong") ||
		!strings.Contains(out, "survey score 4, want 5") || !strings.Contains(stderr, "1 of 1 test cases failed") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

func TestIVRGraph(t *testing.T) {
	code, out, stderr := runHotline(t, nil, time.Now(), "ivr", "graph", ivrScripts+"/survey.yaml")
	if code != 0 || !strings.HasPrefix(out, `digraph "survey" {`) || !strings.Contains(out, `"survey.ask" -> "survey.thanks";`) {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}

	// SVG goes through dot: without it, a clear error.
	t.Setenv("PATH", t.TempDir())
	code, _, stderr = runHotline(t, nil, time.Now(), "ivr", "graph", "--format", "svg", ivrScripts+"/survey.yaml")
	if code != 1 || !strings.Contains(stderr, "graphviz's dot is not installed") {
		t.Fatalf("no dot: exit %d, %q", code, stderr)
	}
	// With a dot on PATH the DOT text is piped through dot -Tsvg.
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "dot"), []byte("#!/bin/sh\n[ \"$1\" = -Tsvg ] || exit 2\necho '<svg>'\ngrep -c digraph\necho '</svg>'\n"), 0o755)
	t.Setenv("PATH", bin+":/usr/bin:/bin")
	code, out, stderr = runHotline(t, nil, time.Now(), "ivr", "graph", "--format", "svg", ivrScripts+"/survey.yaml")
	if code != 0 || out != "<svg>\n1\n</svg>\n" {
		t.Fatalf("svg: exit %d, out %q, err %q", code, out, stderr)
	}
	code, _, stderr = runHotline(t, nil, time.Now(), "ivr", "graph", "--format", "png", ivrScripts+"/survey.yaml")
	if code != 1 || !strings.Contains(stderr, `--format "png": use dot or svg`) {
		t.Fatalf("png: exit %d, %q", code, stderr)
	}
}

// What a deploy stores: the flow, the sub-flows it references, and the
// prompt list and queries it was validated against, each as read from its
// file; a flow that is not valid gives its problems at file:line:col.
func TestIVRBundle(t *testing.T) {
	files, from, err := readFlowBundle(&ivrFiles{}, ivrScripts+"/main.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"main.yaml":    ivrScripts + "/main.yaml",
		"fault.yaml":   ivrScripts + "/fault.yaml",
		"prompts.txt":  ivrScripts + "/prompts.txt",
		"queries.yaml": ivrScripts + "/queries.yaml",
	}
	if len(files) != len(want) {
		t.Errorf("bundle has %d files, want %d", len(files), len(want))
	}
	for k, path := range want {
		disk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(files[k]) != string(disk) || from[k] != filepath.FromSlash(path) {
			t.Errorf("bundle[%s]: %d bytes from %q; want %d bytes of %s", k, len(files[k]), from[k], len(disk), path)
		}
	}
	// --prompts: the bundle's prompts.txt is the file the flow was
	// checked against.
	alt := writeFile(t, "alt-prompts.txt", mustRead(t, ivrScripts+"/prompts.txt")+"extra|An extra prompt.\n")
	files, from, err = readFlowBundle(&ivrFiles{prompts: alt}, ivrScripts+"/main.yaml")
	if err != nil || !strings.HasSuffix(string(files["prompts.txt"]), "extra|An extra prompt.\n") || from["prompts.txt"] != alt {
		t.Errorf("--prompts: bundle prompts.txt from %q, %v", from["prompts.txt"], err)
	}

	bad := writeFile(t, "bad.yaml", "nodes:\n  a: {type: play, next: end}\n")
	if _, _, err := readFlowBundle(&ivrFiles{}, bad); err == nil || !strings.Contains(err.Error(), bad+":2:6: node a (play) has nothing to say") {
		t.Fatalf("got %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// validate checks the HTTP endpoints flows name against the
// installation's ivr.http_endpoints when it knows the configuration:
// --config, or hotline.yaml in the current directory.
func TestIVRValidateEndpoints(t *testing.T) {
	mainYAML := ivrScripts + "/main.yaml"
	line := 0
	for i, l := range strings.Split(mustRead(t, mainYAML), "\n") {
		if strings.TrimSpace(l) == "endpoint: broadband_status" {
			line = i + 1
		}
	}
	if line == 0 {
		t.Fatal("main.yaml has no `endpoint: broadband_status`")
	}
	at := func(file string) string { return fmt.Sprintf("%s:%d:17: node bb http.endpoint: ", file, line) }

	good := writeFile(t, "hotline.yaml", "ivr:\n  http_endpoints:\n    broadband_status: https://lines.example.com/api\n")
	code, out, stderr := runHotline(t, nil, time.Now(), "ivr", "validate", "--config", good, mainYAML)
	if code != 0 || !strings.Contains(out, "ok "+mainYAML) {
		t.Errorf("configured endpoint: exit %d\n%s%s", code, out, stderr)
	}

	// The shipped example configurations configure what the shipped
	// flows use.
	for _, cfg := range []string{"../../hotline.example.yaml", "../../freeswitch-conf/hotline-freeswitch.yaml"} {
		code, out, stderr := runHotline(t, nil, time.Now(), "ivr", "validate", "--config", cfg, ivrScripts)
		if code != 0 || !strings.Contains(out, "ok "+mainYAML) {
			t.Errorf("--config %s: exit %d\n%s%s", cfg, code, out, stderr)
		}
	}

	none := writeFile(t, "hotline.yaml", "ivr:\n  scripts_dir: ivr-scripts\n")
	code, out, stderr = runHotline(t, nil, time.Now(), "ivr", "validate", "--config", none, ivrScripts)
	want := at(mainYAML) + `"broadband_status" is not configured in ivr.http_endpoints of ` + none + " (configured: none)"
	if code != 1 || !strings.Contains(out, want) || strings.TrimSpace(stderr) != "hotline: 1 problem" {
		t.Errorf("no endpoints: exit %d, want 1 and %q\n%s%s", code, want, out, stderr)
	}
	// simulate and test check the same way.
	code, out, _ = runHotline(t, nil, time.Now(), "ivr", "simulate", "--config", none, mainYAML)
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("simulate, no endpoints: exit %d\n%s", code, out)
	}

	// The configuration's own mistakes name its file and line.
	bad := writeFile(t, "hotline.yaml", "ivr:\n  http_endpoints:\n    broadband_status: broadband-status.internal:8080\n")
	code, _, stderr = runHotline(t, nil, time.Now(), "ivr", "validate", "--config", bad, mainYAML)
	if want := bad + `:3: ivr.http_endpoints.broadband_status: "broadband-status.internal:8080" is not an http:// or https:// URL`; code != 1 || strings.TrimSpace(stderr) != want {
		t.Errorf("bad endpoint URL: exit %d, stderr %q; want %q", code, stderr, want)
	}
	code, _, stderr = runHotline(t, nil, time.Now(), "ivr", "validate", "--config", filepath.Join(t.TempDir(), "none.yaml"), mainYAML)
	if code != 1 || !strings.Contains(stderr, "none.yaml not found") {
		t.Errorf("missing --config: exit %d, stderr %q", code, stderr)
	}

	// Without --config, hotline.yaml in the current directory when there
	// is one; without it, endpoint names are not checked.
	abs, err := filepath.Abs(mainYAML)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	code, out, stderr = runHotline(t, nil, time.Now(), "ivr", "validate", abs)
	if code != 0 || !strings.Contains(out, "ok "+abs) {
		t.Errorf("no configuration file: exit %d\n%s%s", code, out, stderr)
	}
	os.WriteFile(filepath.Join(dir, "hotline.yaml"), []byte("ivr:\n  http_endpoints: {billing: https://billing.example.com}\n"), 0o600)
	code, out, _ = runHotline(t, nil, time.Now(), "ivr", "validate", abs)
	if want := at(abs) + `"broadband_status" is not configured in ivr.http_endpoints of hotline.yaml (configured: billing)`; code != 1 || !strings.Contains(out, want) {
		t.Errorf("./hotline.yaml: exit %d, want %q\n%s", code, want, out)
	}
}
