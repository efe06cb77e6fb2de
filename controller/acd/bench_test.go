package acd

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// routeEnv is a centre for routing benchmarks: agents with 3-6 of the
// skills at levels 1-10, and a line of callers each needing one skill (70%)
// or two (30%) at levels 1-5, with a mix of priorities.
type routeEnv struct {
	rng    *rand.Rand
	agents []*Agent
	busy   []*Agent
	pool   *Pool
	line   *Line
	skills []string
	now    time.Time
}

// refill makes e a new caller who joined at at. It reuses e's Requires,
// so it does not allocate once warm.
func (env *routeEnv) refill(e *Entry, at time.Time) *Entry {
	e.EnqueuedAt = at
	e.Priority = PriorityNormal
	switch r := env.rng.IntN(20); {
	case r == 0:
		e.Priority = PriorityVIP
	case r < 3:
		e.Priority = PriorityElderly
	}
	e.Req.Requires = e.Req.Requires[:0]
	s := env.rng.IntN(len(env.skills))
	e.Req.Requires = append(e.Req.Requires, SkillNeed{env.skills[s], 1 + env.rng.IntN(5)})
	if env.rng.IntN(10) < 3 {
		e.Req.Requires = append(e.Req.Requires, SkillNeed{env.skills[(s+1)%len(env.skills)], 1 + env.rng.IntN(5)})
	}
	return e
}

// newRouteEnv builds a centre of agents (all READY) with callers in line.
func newRouteEnv(agents, callers, skills int, seed uint64) *routeEnv {
	env := &routeEnv{rng: rand.New(rand.NewPCG(seed, 1)), now: t0, line: NewLine(DefaultAging())}
	for i := range skills {
		env.skills = append(env.skills, fmt.Sprintf("skill%03d", i))
	}
	for i := range agents {
		a := &Agent{ID: AgentID(fmt.Sprintf("agent%05d", i)), State: Ready, IdleSince: t0.Add(-time.Duration(env.rng.IntN(3600)) * time.Second),
			Queues: map[QueueID]bool{}, Skills: map[string]int{}}
		first, n := env.rng.IntN(skills), 3+env.rng.IntN(4)
		for k := range n {
			a.Skills[env.skills[(first+k)%skills]] = 1 + env.rng.IntN(10)
		}
		env.agents = append(env.agents, a)
	}
	env.pool = NewPool(env.agents...)
	for i := range callers {
		e := &Entry{Call: CallID(fmt.Sprint("call", i))}
		env.line.Add(env.refill(e, t0.Add(-time.Duration(env.rng.IntN(600))*time.Second)))
	}
	return env
}

// take puts agent a on a call.
func (env *routeEnv) take(a *Agent) {
	a.State = OnCall
	env.pool.Update(a)
	env.busy = append(env.busy, a)
}

// assign carries out a sweep decision: the call leaves the line (and a new
// one joins, so the line keeps its length) and the agent goes on the call.
func (env *routeEnv) assign(e *Entry, a *Agent) {
	env.line.Remove(e)
	env.take(a)
	env.line.Add(env.refill(e, env.now))
}

// settle makes the centre busy: all but free agents go on calls, and the
// line is routed until no waiting call fits a READY agent.
func (env *routeEnv) settle(free int) {
	env.rng.Shuffle(len(env.agents), func(i, j int) { env.agents[i], env.agents[j] = env.agents[j], env.agents[i] })
	for _, a := range env.agents[free:] {
		env.take(a)
	}
	for {
		e, a := Route(env.line, env.pool, LongestIdleRouter{}, env.now, 0)
		if e == nil {
			return
		}
		env.assign(e, a)
	}
}

// freeOne ends the call of a random busy agent and returns the agent.
func (env *routeEnv) freeOne() *Agent {
	i := env.rng.IntN(len(env.busy))
	a := env.busy[i]
	env.busy[i] = env.busy[len(env.busy)-1]
	env.busy = env.busy[:len(env.busy)-1]
	a.State, a.IdleSince = Ready, env.now
	env.pool.Update(a)
	return a
}

// BenchmarkRoute times the routing decisions of a busy centre: 10,000
// agents with 200 skills, about 1,000 callers in line (those no READY
// agent may take). Each iteration one agent finishes a call and one new
// call arrives, giving the two decisions (see Route): which waiting call
// the freed agent takes (Line.NextFor) and which READY agent the new call
// gets (Router.Pick; with none, it joins the line). Each decision is timed
// alone with a time.Now pair; p50-ns and p99-ns are over both kinds,
// agent-p99-ns and call-p99-ns over each. Carrying the decisions out (not
// timed) is part of the loop, and allocs/op covers all of it.
func BenchmarkRoute(b *testing.B) {
	for _, name := range []string{"longest-idle", "skill-level-first", "weighted-skill-idle", "round-robin", "random"} {
		b.Run(name, func(b *testing.B) {
			env := newRouteEnv(10_000, 1_000, 200, 42)
			env.settle(500)
			r, _ := RouterByName(name, 1)
			agentLat := make([]int64, 0, b.N)
			callLat := make([]int64, 0, b.N)
			spare := make([]*Entry, 0, 1024) // served calls, reused as new ones
			for range cap(spare) {
				spare = append(spare, &Entry{})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				env.now = env.now.Add(time.Millisecond)
				a := env.freeOne()
				start := time.Now()
				e := env.line.NextFor(a)
				agentLat = append(agentLat, int64(time.Since(start)))
				if e != nil {
					env.line.Remove(e)
					env.take(a)
					spare = append(spare, e)
				}

				e = env.refill(spare[len(spare)-1], env.now)
				spare = spare[:len(spare)-1]
				req := e.Req
				req.Now = env.now
				start = time.Now()
				ag := r.Pick(req, env.pool)
				callLat = append(callLat, int64(time.Since(start)))
				if ag != nil {
					env.take(ag)
					spare = append(spare, e)
				} else {
					env.line.Add(e)
				}
				if len(spare) == 0 { // the line grew by 1,024: not a steady state
					b.Fatalf("line grew to %d", env.line.Len())
				}
			}
			b.StopTimer()
			pct := func(l []int64, p int) float64 { return float64(l[min(len(l)-1, len(l)*p/100)]) }
			all := slices.Concat(agentLat, callLat)
			slices.Sort(all)
			slices.Sort(agentLat)
			slices.Sort(callLat)
			b.ReportMetric(pct(all, 50), "p50-ns")
			b.ReportMetric(pct(all, 99), "p99-ns")
			b.ReportMetric(pct(agentLat, 99), "agent-p99-ns")
			b.ReportMetric(pct(callLat, 99), "call-p99-ns")
			b.ReportMetric(float64(env.line.Len()), "waiting")
			b.ReportMetric(float64(env.pool.ReadyCount()), "ready")
		})
	}
}

// BenchmarkACDLoop measures requests through the ACD's channel: each
// cycle is Enqueue (the call is offered to a READY agent), Answered and
// Ended (the agent goes to after-call work and, wrap-up being 0, READY
// again), with 1,500 agents. events/s counts the three requests.
func BenchmarkACDLoop(b *testing.B) {
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			var agents []Agent
			for i := range 1500 {
				agents = append(agents, Agent{ID: AgentID(fmt.Sprintf("agent%04d", i)), State: Ready, IdleSince: t0, Queues: map[QueueID]bool{"q": true}})
			}
			a := New([]QueueConfig{{ID: "q", RingTimeout: 15 * time.Second}}, agents, nil, slog.New(slog.DiscardHandler))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = a.Run(ctx) }()
			defer func() { cancel(); <-done }()

			var next atomic.Int64
			cycle := func(offers chan Offer) error {
				call := CallID(fmt.Sprint("c", next.Add(1)))
				if err := a.Enqueue(ctx, Waiting{Call: call, Queue: "q", EnqueuedAt: time.Now(), Offer: func(o Offer) { offers <- o }}); err != nil {
					return err
				}
				o := <-offers
				if err := a.Answered(ctx, o.Call, o.Agent); err != nil {
					return err
				}
				return a.Ended(ctx, o.Call, o.Agent, 0)
			}
			start := time.Now()
			b.ResetTimer()
			perClient := (b.N + clients - 1) / clients
			errs := make(chan error, clients)
			for range clients {
				go func() {
					offers := make(chan Offer, 1)
					for range perClient {
						if err := cycle(offers); err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for range clients {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(3*perClient*clients)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkPickAllReady is the worst case of a pick: a quiet hour, all
// 10,000 agents READY and all holding the one skill the call requires, so
// the smallest set to scan is every agent. Each iteration times one pick;
// the chosen agent takes the call and the previous one becomes READY
// again (not timed).
func BenchmarkPickAllReady(b *testing.B) {
	for _, name := range RouterNames() {
		b.Run(name, func(b *testing.B) {
			var agents []*Agent
			for i := range 10_000 {
				agents = append(agents, &Agent{ID: AgentID(fmt.Sprintf("agent%05d", i)), State: Ready,
					IdleSince: t0.Add(-time.Duration(i) * time.Second), Skills: map[string]int{"general": 1 + i%10, fmt.Sprint("s", i%200): 5}})
			}
			p := NewPool(agents...)
			r, _ := RouterByName(name, 1)
			req := Request{Requires: []SkillNeed{{"general", 3}}, Now: t0}
			lat := make([]int64, 0, b.N)
			var prev *Agent
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				a := r.Pick(req, p)
				lat = append(lat, int64(time.Since(start)))
				a.State = OnCall
				p.Update(a)
				if prev != nil {
					prev.State, prev.IdleSince = Ready, t0.Add(time.Duration(i)*time.Millisecond)
					p.Update(prev)
				}
				prev = a
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
			b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ns")
		})
	}
}

// BenchmarkEstimate times one expected-wait estimate on the ACD goroutine
// (Estimate without the channel) for the last caller in line, the most
// work, once the ACD has seen the calls' requirements: pooled is 1,500
// agents each serving 3 of 10 queues with 300 calls waiting ("VIPs
// joining": the same, with VIPs of two queues foreseen to join ahead,
// which takes a few rounds of the estimate); skills is the routing
// benchmark's centre (10,000 agents, 200 skills, 1,000 calls each needing
// its own skills and levels).
func BenchmarkEstimate(b *testing.B) {
	build := func(agents []Agent, queues []QueueConfig, calls []Waiting) (*ACD, *Waiting) {
		a := New(queues, agents, nil, slog.New(slog.DiscardHandler))
		var last *Waiting
		for i := range calls {
			w := calls[i]
			w.Offer = func(Offer) {}
			a.insert(&w)
			last = &w
		}
		return a, last
	}
	pooled := func(b *testing.B, vips bool) {
		rng := rand.New(rand.NewPCG(3, 4))
		var queues []QueueConfig
		for q := range 10 {
			queues = append(queues, QueueConfig{ID: QueueID(fmt.Sprint("q", q)), AHT: time.Duration(60+q*30) * time.Second})
		}
		var agents []Agent
		for i := range 1500 {
			ag := Agent{ID: AgentID(fmt.Sprintf("agent%04d", i)), State: OnCall, Queues: map[QueueID]bool{}}
			for _, q := range rng.Perm(10)[:3] {
				ag.Queues[QueueID(fmt.Sprint("q", q))] = true
			}
			agents = append(agents, ag)
		}
		var calls []Waiting
		for i := range 300 {
			calls = append(calls, Waiting{Call: CallID(fmt.Sprint("c", i)), Queue: QueueID(fmt.Sprint("q", rng.IntN(10))),
				EnqueuedAt: t0.Add(time.Duration(i) * time.Second)})
		}
		a, w := build(agents, queues, calls)
		if vips {
			// VIPs of two queues have been joining, one every 20 s each
			// for ten minutes; the last caller is within their head start.
			now := w.EnqueuedAt.Add(time.Second)
			a.now = func() time.Time { return now }
			a.arrivals = map[arrivalClass]*ArrivalRate{}
			for _, q := range []QueueID{"q0", "q1"} {
				r := &ArrivalRate{}
				for t := now.Add(-10 * time.Minute); t.Before(now); t = t.Add(20 * time.Second) {
					r.Add(t, []Request{{Queue: q}})
				}
				a.arrivals[arrivalClass{q, PriorityVIP}] = r
			}
			if len(a.joinersAhead(w)) != 2 {
				b.Fatal("the VIPs are not foreseen")
			}
		}
		a.estimate(w) // learns who may take what: once per ACD
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if a.estimate(w) <= 0 {
				b.Fatal("no wait estimated")
			}
		}
	}
	b.Run("pooled", func(b *testing.B) { pooled(b, false) })
	b.Run("pooled, VIPs joining", func(b *testing.B) { pooled(b, true) })
	b.Run("skills", func(b *testing.B) {
		env := newRouteEnv(10_000, 1_000, 200, 42)
		var agents []Agent
		for _, ag := range env.agents {
			c := *ag
			c.State, c.Queues = OnCall, map[QueueID]bool{"q": true}
			agents = append(agents, c)
		}
		var calls []Waiting
		for i := range env.line.Len() {
			e := env.line.At(i)
			skills := map[string]int{}
			for _, n := range e.Req.Requires {
				skills[n.Skill] = n.Level
			}
			calls = append(calls, Waiting{Call: e.Call, Queue: "q", Priority: e.Priority, EnqueuedAt: e.EnqueuedAt, Skills: skills})
		}
		a, w := build(agents, []QueueConfig{{ID: "q"}}, calls)
		w = a.line[len(a.line)-1]
		a.estimate(w) // learns who may take what: once per ACD
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			a.estimate(w)
		}
	})
}
