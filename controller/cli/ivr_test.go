package cli

import (
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

// The deploy hooks: validation with the flow package, and the bundle of a
// flow with the sub-flows it references.
func TestIVRDeployHooks(t *testing.T) {
	files, err := flowBundle(ivrScripts + "/main.yaml")
	if err != nil || len(files) != 2 || len(files["main.yaml"]) == 0 || len(files["fault.yaml"]) == 0 {
		t.Fatalf("bundle %v, %v; want main.yaml and fault.yaml", len(files), err)
	}
	if err := validateFlowFile(ivrScripts + "/main.yaml"); err != nil {
		t.Fatal(err)
	}
	bad := writeFile(t, "bad.yaml", "nodes:\n  a: {type: play, next: end}\n")
	if err := validateFlowFile(bad); err == nil || !strings.Contains(err.Error(), bad+":2:6: node a (play) has nothing to say") {
		t.Fatalf("got %v", err)
	}
}
