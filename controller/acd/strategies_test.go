package acd

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

func skilled(id string, idle time.Duration, skills map[string]int) *Agent {
	return &Agent{ID: AgentID(id), State: Ready, IdleSince: t0.Add(-idle), Queues: map[QueueID]bool{"q": true}, Skills: skills}
}

func pick(t *testing.T, r Router, req Request, p *Pool) AgentID {
	t.Helper()
	a := r.Pick(req, p)
	if a == nil {
		return ""
	}
	return a.ID
}

func TestFewestCallsAndLeastTalkTimeStrategies(t *testing.T) {
	a1 := agent("a1", Ready, t0)
	a2 := agent("a2", Ready, t0.Add(time.Minute))
	a3 := agent("a3", Ready, t0.Add(-time.Hour))
	a4 := agent("a4", NotReady, t0)
	a1.CallsToday, a2.CallsToday, a3.CallsToday, a4.CallsToday = 3, 1, 5, 0
	a1.TalkToday, a2.TalkToday, a3.TalkToday, a4.TalkToday = time.Hour, 2*time.Hour, 10*time.Minute, 0
	all := []*Agent{&a1, &a2, &a3, &a4}
	if got := FewestCalls("q", all); got.ID != "a2" {
		t.Errorf("FewestCalls = %s, want a2", got.ID)
	}
	if got := LeastTalkTime("q", all); got.ID != "a3" {
		t.Errorf("LeastTalkTime = %s, want a3", got.ID)
	}
	a2.CallsToday = 3 // tie with a1: the longer idle (a1) wins
	if got := FewestCalls("q", all); got.ID != "a1" {
		t.Errorf("FewestCalls tie = %s, want a1", got.ID)
	}
	if FewestCalls("none", all) != nil || LeastTalkTime("none", all) != nil {
		t.Error("an agent was chosen for a queue nobody serves")
	}
	for _, name := range []string{"longest-idle", "fewest-calls", "least-talk-time"} {
		if s, ok := StrategyByName(name); !ok || s == nil {
			t.Errorf("StrategyByName(%q) missing", name)
		}
	}
}

func TestRoutersOnAFixedPool(t *testing.T) {
	// ann: long idle, low skill; bob: expert, just free; cat: mid; dan: no billing.
	ann := skilled("ann", 10*time.Minute, map[string]int{"billing": 2})
	bob := skilled("bob", 10*time.Second, map[string]int{"billing": 9, "english": 7})
	cat := skilled("cat", 2*time.Minute, map[string]int{"billing": 5})
	dan := skilled("dan", time.Hour, map[string]int{"fault": 8})
	ann.CallsToday, bob.CallsToday, cat.CallsToday, dan.CallsToday = 10, 4, 2, 0
	ann.TalkToday, bob.TalkToday, cat.TalkToday = 20*time.Minute, 30*time.Minute, 50*time.Minute
	p := NewPool(ann, bob, cat, dan)
	billing := Request{Queue: "q", Requires: []SkillNeed{{"billing", 1}}, Now: t0}
	for _, c := range []struct {
		r    Router
		req  Request
		want AgentID
	}{
		{LongestIdleRouter{}, billing, "ann"},
		{LongestIdleRouter{}, Request{Queue: "q", Now: t0}, "dan"},
		{FewestCallsRouter{}, billing, "cat"},
		{LeastTalkTimeRouter{}, billing, "ann"},
		{SkillLevelFirstRouter{}, billing, "bob"},
		{SkillLevelFirstRouter{}, Request{Requires: []SkillNeed{{"billing", 6}}}, "bob"},
		{LongestIdleRouter{}, Request{Requires: []SkillNeed{{"billing", 4}}}, "cat"},
		{LongestIdleRouter{}, Request{Requires: []SkillNeed{{"billing", 1}, {"english", 1}}}, "bob"},
		{LongestIdleRouter{}, Request{Requires: []SkillNeed{{"billing", 10}}}, ""},
		{LongestIdleRouter{}, Request{Requires: []SkillNeed{{"cantonese", 1}}}, ""},
		{LongestIdleRouter{}, Request{Queue: "other"}, ""},
		// Skill weighs 1, idle 1 over 5 minutes: ann 0.2+1 = 1.2, bob 0.9+0.033, cat 0.5+0.4.
		{WeightedSkillIdleRouter{SkillWeight: 1, IdleWeight: 1}, billing, "ann"},
		// Skill weighs 3: bob 2.7+0.03 beats ann 0.6+1 and cat 1.5+0.4.
		{WeightedSkillIdleRouter{SkillWeight: 3, IdleWeight: 1}, billing, "bob"},
	} {
		if got := pick(t, c.r, c.req, p); got != c.want {
			t.Errorf("%T%+v for %+v = %q, want %q", c.r, c.r, c.req.Requires, got, c.want)
		}
	}
	// The pool follows state changes.
	ann.State = OnCall
	p.Update(ann)
	if got := pick(t, LongestIdleRouter{}, billing, p); got != "cat" {
		t.Errorf("after ann went on a call: %q, want cat", got)
	}
	ann.State = Ready
	ann.Skills = map[string]int{"fault": 1}
	p.Update(ann)
	if got := pick(t, LongestIdleRouter{}, billing, p); got != "cat" {
		t.Errorf("after ann lost billing: %q, want cat", got)
	}
	p.Remove("cat")
	p.Remove("nobody")
	if got := pick(t, LongestIdleRouter{}, billing, p); got != "bob" {
		t.Errorf("after cat left: %q, want bob", got)
	}
	if p.ReadyCount() != 3 {
		t.Errorf("ReadyCount = %d, want 3", p.ReadyCount())
	}
}

func TestRoundRobinTakesTurns(t *testing.T) {
	var agents []*Agent
	for _, id := range []string{"c", "a", "d", "b"} {
		agents = append(agents, skilled(id, time.Minute, nil))
	}
	p := NewPool(agents...)
	rr := NewRoundRobin()
	req := Request{Queue: "q"}
	var got []AgentID
	for range 6 {
		got = append(got, pick(t, rr, req, p))
	}
	if want := []AgentID{"a", "b", "c", "d", "a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("turns %v, want %v", got, want)
	}
	// c goes busy: the turn after b skips it; memory is per queue.
	agents[0].State = OnCall
	p.Update(agents[0])
	if got := pick(t, rr, req, p); got != "d" {
		t.Fatalf("after b with c busy: %s, want d", got)
	}
	if got := pick(t, rr, Request{}, p); got != "a" {
		t.Fatalf("another queue starts at a, got %s", got)
	}
}

func TestRandomIsSeededAndCoversEveryone(t *testing.T) {
	var agents []*Agent
	for i := range 5 {
		agents = append(agents, skilled(fmt.Sprint("a", i), time.Minute, map[string]int{"s": 1}))
	}
	agents[4].Skills = nil
	p := NewPool(agents...)
	req := Request{Requires: []SkillNeed{{"s", 1}}}
	seq := func(seed uint64) []AgentID {
		r := NewRandom(seed)
		var out []AgentID
		for range 400 {
			out = append(out, pick(t, r, req, p))
		}
		return out
	}
	a, b := seq(1), seq(1)
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different choices")
	}
	if slices.Equal(a, seq(2)) {
		t.Fatal("different seeds, same 400 choices")
	}
	count := map[AgentID]int{}
	for _, id := range a {
		count[id]++
	}
	if count["a4"] != 0 {
		t.Fatal("random picked an agent without the skill")
	}
	for i := range 4 {
		if n := count[AgentID(fmt.Sprint("a", i))]; n < 60 || n > 140 {
			t.Errorf("a%d picked %d times of 400, want about 100", i, n)
		}
	}
}

func TestRingAllReturnsEveryEligibleAgentInIDOrder(t *testing.T) {
	p := NewPool(
		skilled("z", time.Minute, map[string]int{"s": 5}),
		skilled("m", time.Minute, map[string]int{"s": 2}),
		skilled("b", time.Minute, map[string]int{"s": 9}),
		skilled("k", time.Minute, map[string]int{"t": 9}),
	)
	got := RingAll(Request{Requires: []SkillNeed{{"s", 3}}}, p, nil)
	var ids []AgentID
	for _, a := range got {
		ids = append(ids, a.ID)
	}
	if want := []AgentID{"b", "z"}; !slices.Equal(ids, want) {
		t.Fatalf("RingAll = %v, want %v", ids, want)
	}
	if got := RingAll(Request{Requires: []SkillNeed{{"none", 1}}}, p, nil); len(got) != 0 {
		t.Fatalf("RingAll for an unknown skill = %d agents", len(got))
	}
}

func TestRouterByName(t *testing.T) {
	for _, name := range RouterNames() {
		if r, ok := RouterByName(name, 1); !ok || r == nil {
			t.Errorf("RouterByName(%q) missing", name)
		}
	}
	if _, ok := RouterByName("ring-all", 1); ok {
		t.Error("ring-all is not a single-agent router")
	}
}

// Property: after any sequence of state and skill changes, every router
// picks from the pool exactly what a scan of every agent picks.
func TestPoolAgreesWithAFullScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	skills := []string{"s0", "s1", "s2", "s3", "s4", "s5"}
	queues := []QueueID{"q0", "q1", "q2"}
	states := []State{Ready, Ready, Ready, NotReady, OnCall, AfterCallWork, LoggedOut}
	randomize := func(a *Agent) {
		a.State = states[rng.IntN(len(states))]
		a.IdleSince = t0.Add(-time.Duration(rng.IntN(600)) * time.Second)
		if rng.IntN(50) == 0 {
			a.IdleSince = time.Time{} // never READY before: idle the longest
		}
		a.CallsToday = rng.IntN(5)
		a.TalkToday = time.Duration(rng.IntN(4)) * time.Minute
		a.Skills = map[string]int{}
		for _, s := range skills {
			if rng.IntN(3) == 0 {
				a.Skills[s] = rng.IntN(13) // 0-12: outside 1-10 too
			}
		}
		a.Queues = map[QueueID]bool{}
		for _, q := range queues {
			if rng.IntN(2) == 0 {
				a.Queues[q] = true
			}
		}
	}
	agents := make([]*Agent, 200)
	for i := range agents {
		agents[i] = &Agent{ID: AgentID(fmt.Sprintf("a%03d", i))}
		randomize(agents[i])
	}
	p := NewPool(agents...)
	type ref struct {
		name   string
		r      Router
		better func(req *Request, a, b *Agent) bool
	}
	idle := func(a, b *Agent) bool {
		return a.IdleSince.Before(b.IdleSince) || (a.IdleSince.Equal(b.IdleSince) && a.ID < b.ID)
	}
	sum := func(req *Request, a *Agent) (s int) {
		for _, n := range req.Requires {
			s += a.Skills[n.Skill]
		}
		return s
	}
	refs := []ref{
		{"longest-idle", LongestIdleRouter{}, func(_ *Request, a, b *Agent) bool { return idle(a, b) }},
		{"fewest-calls", FewestCallsRouter{}, func(_ *Request, a, b *Agent) bool {
			return a.CallsToday < b.CallsToday || (a.CallsToday == b.CallsToday && idle(a, b))
		}},
		{"least-talk-time", LeastTalkTimeRouter{}, func(_ *Request, a, b *Agent) bool {
			return a.TalkToday < b.TalkToday || (a.TalkToday == b.TalkToday && idle(a, b))
		}},
		{"skill-level-first", SkillLevelFirstRouter{}, func(req *Request, a, b *Agent) bool {
			sa, sb := sum(req, a), sum(req, b)
			return sa > sb || (sa == sb && idle(a, b))
		}},
	}
	for round := range 1000 {
		for range 10 {
			a := agents[rng.IntN(len(agents))]
			randomize(a)
			p.Update(a)
		}
		req := Request{Now: t0}
		if rng.IntN(2) == 0 {
			req.Queue = queues[rng.IntN(len(queues))]
		}
		for range rng.IntN(3) {
			req.Requires = append(req.Requires, SkillNeed{skills[rng.IntN(len(skills))], rng.IntN(13)})
		}
		var eligible []*Agent
		for _, a := range agents {
			ok := a.State == Ready && (req.Queue == "" || a.Queues[req.Queue])
			for _, n := range req.Requires {
				if l, has := a.Skills[n.Skill]; !has || l < n.Level {
					ok = false
				}
			}
			if ok {
				eligible = append(eligible, a)
			}
		}
		for _, rf := range refs {
			var want *Agent
			for _, a := range eligible {
				if want == nil || rf.better(&req, a, want) {
					want = a
				}
			}
			if got := rf.r.Pick(req, p); got != want {
				t.Fatalf("round %d, %s, %+v: pool picked %v, full scan %v", round, rf.name, req, got, want)
			}
		}
		for _, r := range []Router{NewRandom(uint64(round)), NewRoundRobin(), WeightedSkillIdleRouter{SkillWeight: 1, IdleWeight: 1}} {
			got := r.Pick(req, p)
			if (got == nil) != (len(eligible) == 0) || (got != nil && !Eligible(got, &req)) {
				t.Fatalf("round %d, %T picked %v with %d eligible", round, r, got, len(eligible))
			}
		}
		ring := RingAll(req, p, nil)
		slices.SortFunc(eligible, func(a, b *Agent) int { return cmpID(a.ID, b.ID) })
		if !slices.Equal(ring, eligible) {
			t.Fatalf("round %d: ring-all %d agents, full scan %d", round, len(ring), len(eligible))
		}
	}
}

func cmpID(a, b AgentID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestAgingOrdersWithoutStarvation(t *testing.T) {
	g := DefaultAging()
	w := func(pri int, at time.Duration) *Waiting { return &Waiting{Priority: pri, EnqueuedAt: t0.Add(at)} }
	// A VIP who joined 100 s after a normal caller is ahead of them (120 s
	// head start); one who joined 130 s after is not.
	if g.Compare(w(PriorityVIP, 100*time.Second), w(PriorityNormal, 0)) >= 0 {
		t.Error("VIP 100 s later is not ahead of a normal caller")
	}
	if g.Compare(w(PriorityVIP, 130*time.Second), w(PriorityNormal, 0)) <= 0 {
		t.Error("a normal caller who waited 130 s more is behind a VIP")
	}
	// Equal virtual time: the higher priority first; same class: FIFO.
	if g.Compare(w(PriorityElderly, 60*time.Second), w(PriorityNormal, 0)) >= 0 {
		t.Error("tie not broken by priority")
	}
	if g.Compare(w(PriorityVIP, 0), w(PriorityVIP, time.Second)) >= 0 || g.Compare(w(PriorityVIP, 0), w(PriorityVIP, 0)) != 0 {
		t.Error("same class is not first come, first served")
	}
	// No head start configured: strict FIFO.
	if (Aging{}).Compare(w(PriorityVIP, time.Second), w(PriorityNormal, 0)) <= 0 {
		t.Error("without aging config a later VIP jumped the line")
	}
}

// Property: in a Line, a call is never behind one of the same class that
// joined later, and never behind any call that joined more than the
// largest head start later (so no one starves); Position and Remove agree
// with the order.
func TestLineProperties(t *testing.T) {
	g := DefaultAging()
	maxHead := 120 * time.Second
	rng := rand.New(rand.NewPCG(3, 4))
	l := NewLine(g)
	var in []*Entry
	for step := range 3000 {
		if len(in) > 0 && rng.IntN(3) == 0 {
			i := rng.IntN(len(in))
			if !l.Remove(in[i]) {
				t.Fatalf("step %d: Remove of a call in line failed", step)
			}
			if l.Remove(in[i]) {
				t.Fatalf("step %d: removed twice", step)
			}
			in = slices.Delete(in, i, i+1)
		} else {
			e := &Entry{Priority: rng.IntN(3), EnqueuedAt: t0.Add(time.Duration(rng.IntN(600)) * time.Second)}
			l.Add(e)
			in = append(in, e)
		}
		if l.Len() != len(in) {
			t.Fatalf("step %d: Len %d, want %d", step, l.Len(), len(in))
		}
	}
	for i := range l.Len() {
		if l.Position(l.At(i)) != i {
			t.Fatalf("Position(At(%d)) = %d", i, l.Position(l.At(i)))
		}
		for j := i + 1; j < l.Len(); j++ {
			a, b := l.At(i), l.At(j) // a is ahead of b
			if a.Priority == b.Priority && a.EnqueuedAt.After(b.EnqueuedAt) {
				t.Fatalf("same class out of order: %+v ahead of %+v", a, b)
			}
			if a.EnqueuedAt.Sub(b.EnqueuedAt) > maxHead {
				t.Fatalf("%+v is ahead of %+v who waited %s longer", a, b, a.EnqueuedAt.Sub(b.EnqueuedAt))
			}
		}
	}
	if l.Position(&Entry{}) != -1 {
		t.Fatal("Position of a call not in line")
	}
}

func TestRouteTakesTheFirstCallAnAgentCanServe(t *testing.T) {
	p := NewPool(skilled("a", time.Minute, map[string]int{"billing": 5}))
	l := NewLine(DefaultAging())
	fault := &Entry{Call: "fault", EnqueuedAt: t0, Req: Request{Requires: []SkillNeed{{"fault", 1}}}}
	bill := &Entry{Call: "bill", EnqueuedAt: t0.Add(time.Second), Req: Request{Requires: []SkillNeed{{"billing", 1}}}}
	l.Add(bill)
	l.Add(fault)
	e, a := Route(l, p, LongestIdleRouter{}, t0, 0)
	if e != bill || a == nil || a.ID != "a" {
		t.Fatalf("Route = %v, %v; want bill to a", e, a)
	}
	if e, a := Route(l, p, LongestIdleRouter{}, t0, 1); e != nil || a != nil {
		t.Fatalf("Route scanning 1 call = %v, %v; want nothing", e, a)
	}
	p.Remove("a")
	if e, a := Route(l, p, LongestIdleRouter{}, t0, 0); e != nil || a != nil {
		t.Fatal("Route with no agent ready found one")
	}
}

// The decision path allocates nothing.
func TestRouteDoesNotAllocate(t *testing.T) {
	env := newRouteEnv(2000, 1000, 200, 5)
	for _, name := range RouterNames() {
		r, _ := RouterByName(name, 1)
		allocs := testing.AllocsPerRun(200, func() {
			e, a := Route(env.line, env.pool, r, env.now, 0)
			if e == nil || a == nil {
				panic("no decision")
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per decision", name, allocs)
		}
	}
}

// Property: NextFor is the first call in line order the agent may take,
// and, while no waiting call has a READY agent, the full sweep Route
// decides the same when an agent frees up.
func TestNextForAgreesWithTheLineOrderAndRoute(t *testing.T) {
	env := newRouteEnv(600, 300, 30, 9)
	env.settle(50)
	for round := range 500 {
		env.now = env.now.Add(time.Second)
		env.freeOne()
		freed := env.pool.all.list[0].m.a
		for _, sl := range env.pool.all.list {
			if sl.m.a.IdleSince.Equal(env.now) {
				freed = sl.m.a
			}
		}
		var want *Entry
		for i := range env.line.Len() {
			if e := env.line.At(i); Eligible(freed, &e.Req) {
				want = e
				break
			}
		}
		got := env.line.NextFor(freed)
		if got != want {
			t.Fatalf("round %d: NextFor = %v, first eligible in line = %v", round, got, want)
		}
		e, a := Route(env.line, env.pool, LongestIdleRouter{}, env.now, 0)
		if e != got || (e != nil && a != freed) {
			t.Fatalf("round %d: Route = %v to %v, NextFor = %v to %s", round, e, a, got, freed.ID)
		}
		if got != nil {
			env.assign(got, freed)
		}
	}
}

func TestNextForDoesNotAllocate(t *testing.T) {
	env := newRouteEnv(2000, 1000, 200, 5)
	a := env.agents[0]
	if allocs := testing.AllocsPerRun(200, func() { env.line.NextFor(a) }); allocs != 0 {
		t.Errorf("%.1f allocations per NextFor", allocs)
	}
}

// The index's bookkeeping survives heavy churn: out-of-order inserts,
// dead slots, compaction.
func TestPoolIndexInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	agents := make([]*Agent, 300)
	for i := range agents {
		agents[i] = &Agent{ID: AgentID(fmt.Sprintf("a%03d", i)), State: Ready, Skills: map[string]int{"s": 1 + i%10, "t": 5}, Queues: map[QueueID]bool{"q": true}}
	}
	p := NewPool(agents...)
	check := func(step int) {
		sets := []*readySet{&p.all, p.byQueue["q"]}
		for _, sk := range p.bySkill {
			for l := range sk.lv {
				sets = append(sets, &sk.lv[l])
			}
		}
		for _, s := range sets {
			live, over := 0, 0
			for i, sl := range s.list {
				if sl.k < 0 {
					continue
				}
				live++
				if sl.level > maxLevel {
					over++
				}
				if i < s.head || sl.m.sets[sl.k] != s || sl.m.pos[sl.k] != i {
					t.Fatalf("step %d: slot %d of a set is misfiled", step, i)
				}
				if i > s.head && s.list[i-1].k >= 0 && slotLess(&sl, &s.list[i-1]) {
					t.Fatalf("step %d: set out of longest-idle order at %d", step, i)
				}
			}
			if live != s.live || over != s.over {
				t.Fatalf("step %d: live %d/%d, over %d/%d", step, live, s.live, over, s.over)
			}
		}
		ready := 0
		for _, a := range agents {
			if a.State == Ready {
				ready++
			}
		}
		if p.ReadyCount() != ready {
			t.Fatalf("step %d: ReadyCount %d, want %d", step, p.ReadyCount(), ready)
		}
	}
	for step := range 20000 {
		a := agents[rng.IntN(len(agents))]
		if a.State == Ready {
			a.State = OnCall
		} else {
			a.State = Ready
			a.IdleSince = t0.Add(time.Duration(step) * time.Second)
			if rng.IntN(10) == 0 {
				a.IdleSince = t0.Add(-time.Duration(rng.IntN(1000)) * time.Second) // out of order
			}
			if rng.IntN(20) == 0 {
				a.Skills["s"] = 11 + rng.IntN(3)
			}
		}
		p.Update(a)
		if step%97 == 0 {
			check(step)
		}
	}
	check(-1)
}
