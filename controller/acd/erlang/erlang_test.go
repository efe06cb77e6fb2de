package erlang

import (
	"errors"
	"math"
	"testing"
	"time"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6f, want %.6f ± %g", what, got, want, tol)
	}
}

// Erlang B tables: the load n circuits carry at 1% blocking.
func TestErlangBTable(t *testing.T) {
	for _, c := range []struct {
		n int
		a float64
	}{{5, 1.36}, {10, 4.46}, {20, 12.03}} {
		near(t, "B", B(c.n, c.a), 0.01, 0.0002)
	}
	near(t, "B(1,1)", B(1, 1), 0.5, 1e-12)
}

// The classic worked example: 100 calls in half an hour, 180 s handle
// time (10 Erlangs), service level 80/20. Published Erlang C values:
// P(wait) 68.21%, 44.94%, 28.53%, 17.41% for 11..14 agents; 14 agents
// are needed.
func TestErlangCWorkedExample(t *testing.T) {
	l := Load{Rate: 100.0 / 1800, AHT: 180 * time.Second}
	for n, pw := range map[int]float64{11: 0.6821, 12: 0.4494, 13: 0.2853, 14: 0.1741} {
		r, err := l.At(n, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "P(wait)", r.PWait, pw, 0.00005)
	}
	r, _ := l.At(14, 20*time.Second)
	near(t, "SL(14)", r.ServiceLevel, 0.8884, 0.0001)
	near(t, "ASA(14)", r.ASA.Seconds(), 7.84, 0.01)
	near(t, "occupancy", r.Occupancy, 10.0/14, 1e-9)
	need, err := AgentsNeeded(l, Target{0.8, 20 * time.Second}, 0)
	if err != nil || need.Agents != 14 {
		t.Fatalf("AgentsNeeded = %d, %v; want 14", need.Agents, err)
	}
	near(t, "C(3,2)", C(3, 2), 4.0/9, 1e-12)
	if _, err := l.At(10, 0); !errors.Is(err, ErrUnstable) {
		t.Fatalf("10 agents for 10 Erlangs: %v, want ErrUnstable", err)
	}
}

// When patience equals handle time (θ = μ), M/M/n+M behaves like M/M/∞:
// the number in the system is Poisson(A), so P(wait) = P(Poisson(A) ≥ n).
func TestErlangAWithThetaEqualMuIsPoisson(t *testing.T) {
	a := 8.0
	l := Load{Rate: a / 200, AHT: 200 * time.Second, Patience: 200 * time.Second}
	n := 7
	r, err := l.At(n, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	below, p := 0.0, math.Exp(-a)
	for m := 0; m < n; m++ {
		below += p
		p *= a / float64(m+1)
	}
	near(t, "P(wait)", r.PWait, 1-below, 1e-9)
	// Every caller is answered or abandons.
	if r.Abandon <= 0 || r.Abandon >= r.PWait {
		t.Fatalf("abandon %.4f outside (0, P(wait) %.4f)", r.Abandon, r.PWait)
	}
	// Carried load = offered × (1 - abandon) = agents × occupancy.
	near(t, "carried", a*(1-r.Abandon), float64(n)*r.Occupancy, 1e-9)
}

// With very long patience Erlang A tends to Erlang C.
func TestErlangATendsToErlangC(t *testing.T) {
	c := Load{Rate: 100.0 / 1800, AHT: 180 * time.Second}
	rc, _ := c.At(13, 20*time.Second)
	a := c
	a.Patience = 1000 * time.Hour
	ra, err := a.At(13, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "P(wait)", ra.PWait, rc.PWait, 0.001)
	near(t, "SL", ra.ServiceLevel, rc.ServiceLevel, 0.001)
	near(t, "ASA", ra.ASA.Seconds(), rc.ASA.Seconds(), 0.1)
	if ra.Abandon > 0.001 {
		t.Errorf("abandon %.4f with 1000 h patience", ra.Abandon)
	}
}

// Abandonment shortens the line: with patience, fewer agents meet the
// same target, and an overloaded group (where Erlang C has no answer)
// still has one.
func TestErlangAOverloadAndStaffing(t *testing.T) {
	l := Load{Rate: 0.3, AHT: 180 * time.Second, Patience: 120 * time.Second} // 54 Erlangs
	r, err := l.At(50, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.PWait < 0.5 || r.Abandon < 0.02 || r.Abandon > 0.2 || r.Occupancy > 1 {
		t.Fatalf("overloaded: %+v", r)
	}
	// SL grows with agents.
	prev := 0.0
	for n := 40; n <= 70; n += 5 {
		r, _ := l.At(n, 20*time.Second)
		if r.ServiceLevel < prev {
			t.Fatalf("SL fell from %.4f to %.4f at %d agents", prev, r.ServiceLevel, n)
		}
		prev = r.ServiceLevel
	}
	needA, err := AgentsNeeded(l, Target{0.8, 20 * time.Second}, 0)
	if err != nil {
		t.Fatal(err)
	}
	lc := l
	lc.Patience = 0
	needC, _ := AgentsNeeded(lc, Target{0.8, 20 * time.Second}, 0)
	if needA.Agents > needC.Agents || needA.ServiceLevel < 0.8 {
		t.Fatalf("Erlang A needs %d (SL %.3f), Erlang C %d", needA.Agents, needA.ServiceLevel, needC.Agents)
	}
	below, _ := l.At(needA.Agents-1, 20*time.Second)
	if below.ServiceLevel >= 0.8 {
		t.Fatalf("%d agents already meet the target", needA.Agents-1)
	}
}

func TestParseTarget(t *testing.T) {
	got, err := ParseTarget("80/20")
	if err != nil || got != (Target{0.8, 20 * time.Second}) || got.String() != "80/20" {
		t.Fatalf("80/20 = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "80", "80/", "x/20", "120/20", "80/20s", "0/20"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
