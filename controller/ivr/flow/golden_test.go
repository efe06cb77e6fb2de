package flow

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files")

func testOptions(t *testing.T) Options {
	t.Helper()
	o, err := LoadOptions("testdata/prompts.txt", "testdata/queries.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

// Every invalid flow reports all its problems, each at file:line:col.
func TestValidateGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid flows: %v", err)
	}
	opts := testOptions(t)
	// The installation's HTTP endpoints, as `hotline ivr validate` knows
	// them from its configuration file.
	opts.Endpoints = &Endpoints{Names: []string{"broadband_status", "billing"}, Source: "hotline.yaml"}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadFile(f, opts)
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("LoadFile(%s) = %v, want problems", f, err)
			}
			for _, p := range ps {
				if p.Pos.File != f || p.Pos.Line == 0 {
					t.Errorf("problem without file:line: %v", p)
				}
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", []byte(ps.Error()+"\n"))
		})
	}
}

// The DOT output of the shipped main flow is deterministic and matches
// the golden file.
func TestGraphGolden(t *testing.T) {
	p := loadShipped(t, "main.yaml")
	var a, b bytes.Buffer
	if err := p.DOT(&a); err != nil {
		t.Fatal(err)
	}
	p2 := loadShipped(t, "main.yaml")
	if err := p2.DOT(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two loads of the same flow draw differently")
	}
	golden(t, "testdata/main.dot.golden", a.Bytes())
}

func loadShipped(t testing.TB, name string) *Program {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "ivr-scripts")
	o, err := LoadOptions(filepath.Join(dir, "prompts.txt"), filepath.Join(dir, "queries.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadFile(filepath.Join(dir, name), o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The shipped flows' own test cases (ivr-scripts/*_test.yaml) run as part
// of go test.
func TestShippedFlows(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "ivr-scripts")
	files, err := FindTests([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"main_test.yaml", "fault_test.yaml", "survey_test.yaml"} {
		found := false
		for _, f := range files {
			found = found || filepath.Base(f) == want
		}
		if !found {
			t.Errorf("no %s in %s", want, dir)
		}
	}
	var out bytes.Buffer
	opts := func(string) (Options, error) {
		return LoadOptions(filepath.Join(dir, "prompts.txt"), filepath.Join(dir, "queries.yaml"))
	}
	sum := RunTests(context.Background(), &out, files, opts)
	if sum.Failed > 0 || sum.Passed < 40 {
		t.Fatalf("%d passed, %d failed:\n%s", sum.Passed, sum.Failed, out.String())
	}
}
