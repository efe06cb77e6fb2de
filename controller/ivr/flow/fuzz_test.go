package flow

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// FuzzParse feeds arbitrary flow source to the loader: it must never
// panic, and a flow that loads must run to an end on a simulated call
// (the step limits bound it). Seeds: the shipped flows, the invalid test
// flows and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, pat := range []string{"../../../ivr-scripts/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pat)
		for _, file := range files {
			if src, err := os.ReadFile(file); err == nil {
				f.Add(src)
			}
		}
	}
	sub := []byte("nodes:\n  s: {type: play, say: [welcome], next: return}\n")
	f.Fuzz(func(t *testing.T, src []byte) {
		fsys := fstest.MapFS{"t.yaml": {Data: src}, "fault.yaml": {Data: sub}, "sub.yaml": {Data: sub}}
		p, err := Load(fsys, "t.yaml", Options{})
		if err != nil {
			if _, ok := err.(Problems); !ok {
				t.Fatalf("error is not Problems: %T %v", err, err)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		acts, _ := ParseKeys("1,2,^0,123456#,9,,*,#")
		_, _, err = p.Simulate(ctx, Simulation{Call: Call{Caller: "13800000001"}, Keys: acts})
		if ctx.Err() != nil {
			t.Fatalf("simulation did not end: %v", err)
		}
	})
}

// FuzzExpr compiles arbitrary expressions against a typed environment and
// evaluates those that compile with the memory budget: no panic, no hang.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{
		`caller == "1"`, `bill.found && bill.cents > 0`, `n + 1`, `pin.Equal(pin)`, `len(caller) > 3`,
		`hasPrefix(caller, "0755") ? "0755" : ""`, `map(1..10, # * n)`, `now.Hour() < 18`,
		`len(map(1..100000000, #))`, `let x = 1; x`, `caller[0:4]`, `upper(caller) + lower(lang)`,
		`filter(split(caller, ""), # == "1")`, `1 / 0`, `n % 0`, `"a" matches "("`,
	} {
		f.Add(s, "13800000001", 5)
	}
	env := types.Map{
		VarCaller: types.String, VarLang: types.String, VarNow: types.TypeOf(time.Time{}),
		"n": types.Int, "pin": types.TypeOf(Secret{}),
		"bill": types.Map{"found": types.Bool, "cents": types.Int},
	}
	f.Fuzz(func(t *testing.T, src, caller string, n int) {
		prog, _, err := compileExpr(src, env, 0)
		if err != nil {
			return
		}
		vars := map[string]any{
			VarCaller: caller, VarLang: "en", VarNow: time.Unix(0, 0), "n": n, "pin": Secret{v: "1234"},
			"bill": map[string]any{"found": true, "cents": n},
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			m := vm.VM{MemoryBudget: exprMemBudget}
			_, _ = m.Run(prog, vars)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("expression %q ran for more than 5 s", src)
		}
	})
}
