package flow

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

const bundleMain = `nodes:
  hello:
    type: play
    say: [welcome]
    next: fault
  fault:
    type: flow
    flow: sub
    next: end
`

const bundleSub = `nodes:
  bill:
    type: lookup
    query: current_bill
    args: {number: caller}
    next: end
`

// A program's bundle is what it was compiled from: its flow files as read
// and the prompt list and named queries it was checked against.
func TestProgramBundle(t *testing.T) {
	prompts := "welcome|Welcome.\ngoodbye|Goodbye.\ninvalid|Invalid.\n"
	queries := "current_bill:\n  sql: SELECT 1 AS cents WHERE $1 <> ''\n  params: [number]\n  columns: {cents: int}\n"
	p, err := ParsePrompts("ivr/prompts.txt", []byte(prompts))
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseQueries("ivr/queries.yaml", []byte(queries))
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"main.yaml": {Data: []byte(bundleMain)}, "sub.yaml": {Data: []byte(bundleSub)}, "other.yaml": {Data: []byte("x")}}
	prog, err := Load(fsys, "main.yaml", Options{Prompts: p, Queries: q})
	if err != nil {
		t.Fatal(err)
	}
	b := prog.Bundle()
	want := map[string]string{"main.yaml": bundleMain, "sub.yaml": bundleSub, PromptsFile: prompts, QueriesFile: queries}
	if len(b) != len(want) {
		t.Errorf("bundle has %d files, want %d: %v", len(b), len(want), keys(b))
	}
	for k, v := range want {
		if string(b[k]) != v {
			t.Errorf("bundle[%s] = %q, want %q", k, b[k], v)
		}
	}
	// Without a prompt list or queries, the bundle has only the flows.
	prog, err = Load(fstest.MapFS{"main.yaml": {Data: []byte("nodes:\n  a: {type: hangup}\n")}}, "main.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b := prog.Bundle(); len(b) != 1 || b["main.yaml"] == nil {
		t.Errorf("bundle without options: %v", keys(b))
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A deployed bundle compiles with its own prompts and queries, not the
// fallback's; a bundle without them uses the fallback's; a bundle whose
// prompt list is broken names the file and line.
func TestLoadBundle(t *testing.T) {
	fallback := testOptions(t) // no prompt "hold-on", no query "line_state"
	v2 := `nodes:
  hello:
    type: play
    say: [welcome, hold-on]
    next: state
  state:
    type: lookup
    query: line_state
    args: {number: caller}
    next: tell
  tell:
    type: play
    served: true
    say: [welcome]
    next: end
`
	bundle := map[string][]byte{
		"main.yaml":  []byte(v2),
		PromptsFile:  []byte("welcome|Welcome.\nhold-on|Please hold on.\ngoodbye|Goodbye.\ninvalid|Invalid.\n"),
		QueriesFile:  []byte("line_state:\n  sql: SELECT 'up' AS state WHERE $1 <> ''\n  params: [number]\n  columns: {state: string}\n"),
		"notes.yaml": []byte("not a flow"),
	}
	prog, err := LoadBundle(bundle, "main.yaml", fallback)
	if err != nil {
		t.Fatalf("bundle with its own prompts and queries: %v", err)
	}
	fx := &Fixtures{Lookups: map[string]FixtureRow{"line_state": {Found: true, Values: map[string]any{"state": "up"}}}}
	res, trail, err := prog.Simulate(context.Background(), Simulation{Call: Call{Caller: "13800000001"}, Fixtures: fx})
	if err != nil || res.OutcomeName != "contained" {
		t.Fatalf("run: %s, %v\n%v", res.OutcomeName, err, trail)
	}
	if !hasStep(stepLines(trail), "hello prompt: sound:hotline/welcome sound:hotline/hold-on") || !hasStep(stepLines(trail), "state lookup: line_state: found") {
		t.Errorf("trail %v", trail)
	}

	// An older bundle (flow files only) compiles against the fallback:
	// its queries do not have line_state.
	_, err = LoadBundle(map[string][]byte{"main.yaml": []byte(v2)}, "main.yaml", fallback)
	var ps Problems
	if !errors.As(err, &ps) || !strings.Contains(err.Error(), `main.yaml:8:12: node state: query "line_state" is not defined (defined: current_bill)`) ||
		!strings.Contains(err.Error(), `main.yaml:4:20: prompt "hold-on" is not defined in testdata/prompts.txt`) {
		t.Errorf("bundle without options: %v", err)
	}
	// Only the queries in the bundle: the prompts come from the fallback.
	_, err = LoadBundle(map[string][]byte{"main.yaml": []byte(v2), QueriesFile: bundle[QueriesFile]}, "main.yaml", fallback)
	if err == nil || strings.Contains(err.Error(), "line_state") || !strings.Contains(err.Error(), `prompt "hold-on" is not defined in testdata/prompts.txt`) {
		t.Errorf("bundle with queries only: %v", err)
	}

	bad := map[string][]byte{"main.yaml": []byte(v2), PromptsFile: []byte("welcome|Welcome.\nbad name|x\n")}
	if _, err := LoadBundle(bad, "main.yaml", fallback); err == nil || !strings.Contains(err.Error(), `prompts.txt:2:1: bad prompt name "bad name"`) {
		t.Errorf("bundle with a broken prompt list: %v", err)
	}
}
