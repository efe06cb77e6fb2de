package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run %s -update rewrites it):\n--- got\n%s--- want\n%s", path, t.Name(), got, want)
	}
}

func TestACDSimulateGolden(t *testing.T) {
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"acd-simulate-erlang-a.golden", []string{"--rate", "0.3", "--aht", "180s", "--agents", "50", "--patience", "120s", "--calls", "5000", "--seed", "7"}},
		{"acd-simulate-erlang-c.golden", []string{"--rate", "0.25", "--agents", "50", "--calls", "5000", "--strategy", "round-robin", "--aht-dist", "lognormal", "--aht-cv", "0.7"}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			code, out, stderr := runHotline(t, nil, time.Now(), append([]string{"acd", "simulate"}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden(t, c.golden, out)
			// stderr is not a terminal: a progress line every 10%.
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 10 || lines[0] != "simulate: 10% (500/5000 calls)" || lines[9] != "simulate: 100% (5000/5000 calls)" {
				t.Errorf("progress on stderr:\n%s", stderr)
			}
		})
	}
}

func TestACDSimulateRejectsBadFlags(t *testing.T) {
	code, _, stderr := runHotline(t, nil, time.Now(), "acd", "simulate", "--strategy", "fastest")
	if code != 1 || !strings.Contains(stderr, `--strategy "fastest": use one of longest-idle, fewest-calls`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runHotline(t, nil, time.Now(), "acd", "simulate", "--agents", "0")
	if code != 1 || !strings.Contains(stderr, "no agents") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

const forecast = `start,calls
# Monday, service 10000
08:00,120
08:30,310
09:00,100
09:30,560
10:00,0
`

func TestStaffingGolden(t *testing.T) {
	path := writeFile(t, "monday.csv", forecast)
	code, out, stderr := runHotline(t, nil, time.Now(), "staffing", "--forecast", path, "--aht", "180s", "--target", "80/20")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "staffing-erlang-c.golden", out)
	code, out, stderr = runHotline(t, nil, time.Now(), "staffing", "--forecast", path, "--aht", "240s", "--target", "90/15", "--patience", "90s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "staffing-erlang-a.golden", out)
}

func TestStaffingBadForecastNamesFileLineAndField(t *testing.T) {
	for _, c := range []struct{ csv, want string }{
		{"start,calls\n08:00,120\n08:30,lots\n", `:3: calls: "lots" is not a number of calls (0 or more)`},
		{"start,calls\n08:00,120\n08:30,-5\n", `:3: calls: "-5" is not a number of calls (0 or more)`},
		{"start,calls\n8 am,120\n", `:2: start: "8 am" is not a time (use HH:MM, YYYY-MM-DD HH:MM or RFC 3339)`},
		{"start,calls\n08:00,120\n07:30,100\n", `:3: start: 07:30 is not after the row before (08:00)`},
		{"start,calls\n08:00,120\n08:30\n", `:3: calls: missing (the row has 1 fields)`},
		{"start,volume\n08:00,120\n", `:1: header has no "calls" column (want start,calls)`},
		{"start,calls\n08:00,\"12\"0\n", `:2: extraneous or missing " in quoted-field`},
		{"", `: empty: want a header row start,calls`},
		{"start,calls\n", `: no intervals after the header`},
	} {
		path := writeFile(t, "bad.csv", c.csv)
		code, _, stderr := runHotline(t, nil, time.Now(), "staffing", "--forecast", path)
		if want := "hotline: " + path + c.want; code != 1 || !strings.HasPrefix(stderr, want) {
			t.Errorf("%q: exit %d, stderr %q; want %q", c.csv, code, stderr, want)
		}
	}
	code, _, stderr := runHotline(t, nil, time.Now(), "staffing", "--forecast", writeFile(t, "f.csv", forecast), "--target", "80")
	if code != 1 || !strings.Contains(stderr, "--target: service level target \"80\"") {
		t.Errorf("bad target: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runHotline(t, nil, time.Now(), "staffing")
	if code != 1 || !strings.Contains(stderr, "--forecast FILE.csv is required") {
		t.Errorf("no forecast: exit %d, stderr %q", code, stderr)
	}
}
