// Package erlang computes queueing formulas for staffing: Erlang B (loss),
// Erlang C (M/M/n, callers wait forever) and Erlang A (M/M/n+M, callers
// abandon after an exponential patience), and the agents needed for a
// service-level target. Erlang A is computed exactly from its birth-death
// chain, not by an approximation. The package has no state.
package erlang

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrUnstable is returned by Erlang C when the offered load is at or above
// the number of agents: the line grows without bound.
var ErrUnstable = errors.New("erlang: offered load is not below the number of agents")

// B is the Erlang B blocking probability for n servers and a offered
// Erlangs (computed by the stable recursion).
func B(n int, a float64) float64 {
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// C is the Erlang C probability that a caller waits, for n agents and a
// offered Erlangs (a < n).
func C(n int, a float64) float64 {
	if a >= float64(n) {
		return 1
	}
	b := B(n, a)
	return float64(n) * b / (float64(n) - a*(1-b))
}

// Load is the traffic offered to a group of agents.
type Load struct {
	Rate     float64       // arrivals per second
	AHT      time.Duration // mean handle time
	Patience time.Duration // mean patience; 0: callers never abandon (Erlang C)
}

// Erlangs is the offered load, Rate × AHT.
func (l Load) Erlangs() float64 { return l.Rate * l.AHT.Seconds() }

// Result is how a group of agents performs under a load.
type Result struct {
	Agents       int
	PWait        float64       // probability a caller waits at all
	ServiceLevel float64       // fraction of offered calls answered within the target time
	ASA          time.Duration // mean wait of answered calls
	Abandon      float64       // fraction of offered calls abandoned
	Occupancy    float64       // fraction of agent time spent on calls
}

// At computes the performance of agents agents under the load, with the
// service level measured at t (answered within t, over all offered calls).
// It uses Erlang C when the load has no patience, Erlang A otherwise.
func (l Load) At(agents int, t time.Duration) (Result, error) {
	if l.Rate < 0 || l.AHT <= 0 || agents < 1 || l.Patience < 0 {
		return Result{}, fmt.Errorf("erlang: need rate ≥ 0, aht > 0, agents ≥ 1, patience ≥ 0 (got %g/s, %s, %d, %s)", l.Rate, l.AHT, agents, l.Patience)
	}
	if l.Patience == 0 {
		return erlangC(l, agents, t)
	}
	return erlangA(l, agents, t)
}

func erlangC(l Load, n int, t time.Duration) (Result, error) {
	a := l.Erlangs()
	if a >= float64(n) {
		return Result{Agents: n, PWait: 1, Occupancy: 1}, fmt.Errorf("%w (%.2f Erlangs, %d agents)", ErrUnstable, a, n)
	}
	mu := 1 / l.AHT.Seconds()
	c := C(n, a)
	gap := float64(n)*mu - l.Rate
	return Result{
		Agents:       n,
		PWait:        c,
		ServiceLevel: 1 - c*math.Exp(-gap*t.Seconds()),
		ASA:          seconds(c / gap),
		Occupancy:    a / float64(n),
	}, nil
}

// erlangA solves the M/M/n+M birth-death chain. Its stationary law π_m
// (m callers in the system) is what an arrival sees. An arrival finding
// k callers in line ahead of it moves up at rate n·μ + j·θ while j are
// ahead, and gives up itself at rate θ; that chain gives its chance of
// being answered, its mean wait and (by uniformization) its chance of
// being answered within t.
func erlangA(l Load, n int, t time.Duration) (Result, error) {
	lambda, mu, theta := l.Rate, 1/l.AHT.Seconds(), 1/l.Patience.Seconds()
	nmu := float64(n) * mu
	if lambda == 0 {
		return Result{Agents: n, ServiceLevel: 1}, nil
	}
	// log π_m up to where the tail is negligible.
	logq := []float64{0}
	top := 0.0
	for m := 1; ; m++ {
		death := float64(min(m, n)) * mu
		if m > n {
			death = nmu + float64(m-n)*theta
		}
		v := logq[m-1] + math.Log(lambda/death)
		logq = append(logq, v)
		top = max(top, v)
		if m > n && v < top-40 { // e^-40: far below float64 precision of the sum
			break
		}
		if m > n+1_000_000 {
			return Result{}, fmt.Errorf("erlang: line too long to solve (patience %s)", l.Patience)
		}
	}
	pi := make([]float64, len(logq))
	sum := 0.0
	for m, v := range logq {
		pi[m] = math.Exp(v - top)
		sum += pi[m]
	}
	for m := range pi {
		pi[m] /= sum
	}
	var r Result
	r.Agents = n
	noWait, lq, busy := 0.0, 0.0, 0.0
	for m, p := range pi {
		if m < n {
			noWait += p
			busy += float64(m) * p
		} else {
			lq += float64(m-n) * p
			busy += float64(n) * p
		}
	}
	r.PWait = 1 - noWait
	r.Abandon = theta * lq / lambda
	r.Occupancy = busy / float64(n)

	// Tagged caller with k ahead: a_k = P(answered), m_k = E[wait; answered].
	k := len(pi) - n // ahead counts 0..k-1
	served, waitServed := noWait, 0.0
	aPrev, mPrev := 1.0, 0.0
	for j := 0; j < k; j++ {
		rj := nmu + float64(j)*theta
		out := rj + theta
		a := rj / out * aPrev
		m := rj / out * (aPrev/out + mPrev)
		served += pi[n+j] * a
		waitServed += pi[n+j] * m
		aPrev, mPrev = a, m
	}
	if served > 0 {
		r.ASA = seconds(waitServed / served)
	}
	r.ServiceLevel = noWait + answeredWithin(pi[n:], nmu, theta, t.Seconds())
	return r, nil
}

// answeredWithin is P(answered within t) summed over the arrivals who
// find j = 0..len(p0)-1 callers ahead with probabilities p0, by
// uniformization of the tagged caller's chain.
func answeredWithin(p0 []float64, nmu, theta, t float64) float64 {
	if t <= 0 {
		return 0
	}
	k := len(p0)
	rate := nmu + float64(k)*theta // ≥ every state's total outflow
	v := append([]float64(nil), p0...)
	next := make([]float64, k)
	lt := rate * t
	served, total, weightSum := 0.0, 0.0, 0.0
	for step := 0; ; step++ {
		w := math.Exp(-lt + float64(step)*math.Log(lt) - lgamma(step+1))
		// served is the mass answered after `step` jumps.
		total += w * served
		weightSum += w
		if float64(step) > lt && 1-weightSum < 1e-12 {
			break
		}
		if step > 10_000_000 {
			break
		}
		for j := range v {
			rj := nmu + float64(j)*theta
			stay := 1 - (rj+theta)/rate
			next[j] = v[j] * stay
			if j+1 < k {
				next[j] += v[j+1] * (nmu + float64(j+1)*theta) / rate
			}
		}
		served += v[0] * nmu / rate
		v, next = next, v
	}
	return total
}

func lgamma(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

func seconds(s float64) time.Duration {
	if math.IsInf(s, 0) || s*float64(time.Second) > math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(s * float64(time.Second))
}

// Target is a service-level goal: Fraction of calls answered within Within
// (80/20 is {0.8, 20 s}).
type Target struct {
	Fraction float64
	Within   time.Duration
}

// ParseTarget reads "80/20": percent answered within seconds.
func ParseTarget(s string) (Target, error) {
	var pct, sec float64
	var rest string
	if n, _ := fmt.Sscanf(s, "%g/%g%s", &pct, &sec, &rest); n != 2 || pct <= 0 || pct >= 100 || sec < 0 {
		return Target{}, fmt.Errorf("service level target %q: want PERCENT/SECONDS, e.g. 80/20", s)
	}
	return Target{Fraction: pct / 100, Within: time.Duration(sec * float64(time.Second))}, nil
}

func (t Target) String() string {
	return fmt.Sprintf("%g/%g", t.Fraction*100, t.Within.Seconds())
}

// AgentsNeeded is the fewest agents that meet the target under the load,
// with their performance. It gives up above maxAgents (0: no limit but
// 10 × the load + 100).
func AgentsNeeded(l Load, target Target, maxAgents int) (Result, error) {
	a := l.Erlangs()
	if maxAgents <= 0 {
		maxAgents = int(10*a) + 100
	}
	if l.Rate == 0 {
		return Result{ServiceLevel: 1}, nil
	}
	n := 1
	if l.Patience == 0 {
		n = int(math.Floor(a)) + 1
	}
	for ; n <= maxAgents; n++ {
		r, err := l.At(n, target.Within)
		if errors.Is(err, ErrUnstable) {
			continue
		}
		if err != nil {
			return r, err
		}
		if r.ServiceLevel >= target.Fraction {
			return r, nil
		}
	}
	return Result{}, fmt.Errorf("erlang: %s not met with %d agents (%.1f Erlangs)", target, maxAgents, a)
}
