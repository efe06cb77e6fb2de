package acd

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"
)

// This file holds the skill-based routing decision: a Pool indexing the
// READY agents by queue and skill level, kept up to date incrementally,
// Routers that pick one agent for a Request from it, and a Line ordering
// waiting calls by priority with aging. Nothing here allocates on the
// decision path, and no decision scans agents who cannot take the call;
// longest-idle, skill-level-first and random do not even scan all those
// who can (see BenchmarkRoute, BenchmarkPickAllReady and docs/acd.md).
//
// The older Strategy type (a function over every agent of the ACD) stays
// for acd.go; FewestCalls and LeastTalkTime below are Strategies too.

// FewestCalls picks the READY agent of the queue who has answered the
// fewest calls today; ties go to the longest idle, then the lower ID.
func FewestCalls(q QueueID, agents []*Agent) *Agent {
	var best *Agent
	for _, a := range agents {
		if a.State != Ready || !a.Queues[q] {
			continue
		}
		if best == nil || fewestCallsBetter(a, best) {
			best = a
		}
	}
	return best
}

// LeastTalkTime picks the READY agent of the queue with the least talk
// time today; ties go to the longest idle, then the lower ID.
func LeastTalkTime(q QueueID, agents []*Agent) *Agent {
	var best *Agent
	for _, a := range agents {
		if a.State != Ready || !a.Queues[q] {
			continue
		}
		if best == nil || leastTalkBetter(a, best) {
			best = a
		}
	}
	return best
}

// SkillNeed is a skill a call requires, at a minimum level (1-10).
type SkillNeed struct {
	Skill string
	Level int
}

// Request is what a Router decides on: the call's queue and the skills it
// needs. Now is the decision time, for routers that weigh idle time.
type Request struct {
	Queue    QueueID // "" matches agents of any queue
	Requires []SkillNeed
	Now      time.Time
}

// Router picks an agent for a request from the READY agents of a pool,
// or nil when none fits. It must not change the pool or the agents; a
// router with memory (RoundRobin, Random) keeps it in itself.
type Router interface {
	Pick(req Request, p *Pool) *Agent
}

// Eligible says whether an agent may take a request: READY, serving the
// request's queue (if any) and at or above every required skill level.
func Eligible(a *Agent, req *Request) bool {
	if a.State != Ready {
		return false
	}
	if req.Queue != "" && !a.Queues[req.Queue] {
		return false
	}
	for _, n := range req.Requires {
		lvl, ok := a.Skills[n.Skill]
		if !ok || lvl < n.Level {
			return false
		}
	}
	return true
}

// Pool indexes READY agents: one set of every READY agent, one per queue
// and one per skill and level, each in longest-idle order. A decision
// scans only the smallest group of sets every eligible agent must be in,
// not every agent. The owner calls Update after it changes an agent's
// State, IdleSince, Queues or Skills; the Pool keeps pointers to the
// owner's agents and is not safe for concurrent use (in the ACD it belongs
// to the ACD goroutine).
type Pool struct {
	all     readySet
	byQueue map[QueueID]*readySet
	bySkill map[string]*skillSets
	members map[AgentID]*member
}

type member struct {
	a    *Agent
	sets []*readySet // the sets the agent is in
	pos  []int       // its index in each of them
}

// slot is one agent in one set. It carries copies of what scans compare
// most, so that a scan over thousands of READY agents reads one slice and
// does no map lookup for the set's own skill.
type slot struct {
	m     *member
	k     int   // index into m.sets and m.pos
	level int   // the agent's level in the set's skill (skill sets)
	idle  int64 // idleKey of the agent's IdleSince when indexed
}

// idleKey orders IdleSince as one integer: Unix nanoseconds, with the zero
// time (never READY before) and dates outside 1700-2200 clamped.
func idleKey(t time.Time) int64 {
	switch {
	case t.IsZero() || t.Year() < 1700:
		return math.MinInt64
	case t.Year() > 2200:
		return math.MaxInt64
	}
	return t.UnixNano()
}

// readySet is one index set. Its slots are kept in longest-idle order,
// (idle, ID), so that longest-idle stops at the first eligible agent.
// Agents become READY at "now", so a new slot almost always goes at the
// end. A removed slot is only marked dead (k < 0), and dead slots are
// compacted away once they are half the list.
type readySet struct {
	list []slot
	head int // no live slot before head
	live int
	over int // live slots with a level above maxLevel
}

func slotLess(x, y *slot) bool {
	if x.idle != y.idle {
		return x.idle < y.idle
	}
	return x.m.a.ID < y.m.a.ID
}

func (s *readySet) add(m *member, level int) {
	m.sets = append(m.sets, s)
	sl := slot{m: m, k: len(m.sets) - 1, level: level, idle: idleKey(m.a.IdleSince)}
	s.live++
	if level > maxLevel {
		s.over++
	}
	n := len(s.list)
	if n == 0 || !slotLess(&sl, &s.list[n-1]) {
		m.pos = append(m.pos, n)
		s.list = append(s.list, sl)
		return
	}
	// Out of order (a clock step, or an agent restored idle since long
	// ago): insert in place and renumber the slots after it.
	i := s.head + sort.Search(n-s.head, func(j int) bool { return slotLess(&sl, &s.list[s.head+j]) })
	s.list = append(s.list, slot{})
	copy(s.list[i+1:], s.list[i:])
	s.list[i] = sl
	m.pos = append(m.pos, i)
	for j := i + 1; j < len(s.list); j++ {
		if x := &s.list[j]; x.k >= 0 {
			x.m.pos[x.k] = j
		}
	}
}

func (s *readySet) remove(m *member, k int) {
	i := m.pos[k]
	s.list[i].k = -1
	s.live--
	if s.list[i].level > maxLevel {
		s.over--
	}
	for s.head < len(s.list) && s.list[s.head].k < 0 {
		s.head++
	}
	for n := len(s.list); n > s.head && s.list[n-1].k < 0; n-- {
		s.list[n-1] = slot{}
		s.list = s.list[:n-1]
	}
	if s.head == len(s.list) {
		clear(s.list)
		s.list, s.head = s.list[:0], 0
		return
	}
	if dead := len(s.list) - s.live; dead > 32 && dead > s.live {
		s.compact()
	}
}

func (s *readySet) compact() {
	n := 0
	for i := s.head; i < len(s.list); i++ {
		if x := s.list[i]; x.k >= 0 {
			s.list[n] = x
			x.m.pos[x.k] = n
			n++
		}
	}
	clear(s.list[n:])
	s.list, s.head = s.list[:n], 0
}

// NewPool returns a pool indexing agents (nil entries are not allowed).
func NewPool(agents ...*Agent) *Pool {
	p := &Pool{byQueue: map[QueueID]*readySet{}, bySkill: map[string]*skillSets{}, members: map[AgentID]*member{}}
	sorted := slices.Clone(agents) // longest idle first: every add appends
	slices.SortStableFunc(sorted, func(x, y *Agent) int { return cmp.Compare(idleKey(x.IdleSince), idleKey(y.IdleSince)) })
	for _, a := range sorted {
		p.Update(a)
	}
	return p
}

// Update (re)indexes an agent after a change of its State, IdleSince,
// Queues or Skills. An agent not seen before is added. Once the pool has
// seen every queue and skill, Update does not allocate.
func (p *Pool) Update(a *Agent) {
	m := p.members[a.ID]
	if m == nil {
		m = &member{}
		p.members[a.ID] = m
	}
	m.a = a
	p.unindex(m)
	if a.State != Ready {
		return
	}
	p.all.add(m, 0)
	for q, on := range a.Queues {
		if on {
			p.set(p.byQueue, q).add(m, 0)
		}
	}
	for s, level := range a.Skills {
		p.skill(s).lv[levelIndex(level)].add(m, level)
	}
}

func (p *Pool) set(sets map[QueueID]*readySet, q QueueID) *readySet {
	s := sets[q]
	if s == nil {
		s = &readySet{}
		sets[q] = s
	}
	return s
}

// skillSets are the READY agents of one skill, one set per level, so that
// a call needing level 6 does not look at agents of level 1-5.
type skillSets struct{ lv [maxLevel + 1]readySet }

// maxLevel is the highest skill level; higher levels share its set.
const maxLevel = 10

func levelIndex(level int) int { return min(max(level, 0), maxLevel) }

func (p *Pool) skill(name string) *skillSets {
	s := p.bySkill[name]
	if s == nil {
		s = &skillSets{}
		p.bySkill[name] = s
	}
	return s
}

func (p *Pool) unindex(m *member) {
	for k := len(m.sets) - 1; k >= 0; k-- {
		m.sets[k].remove(m, k)
	}
	clear(m.sets)
	m.sets, m.pos = m.sets[:0], m.pos[:0]
}

// Remove drops an agent from the pool.
func (p *Pool) Remove(id AgentID) {
	if m := p.members[id]; m != nil {
		p.unindex(m)
		delete(p.members, id)
	}
}

// ReadyCount is the number of READY agents in the pool.
func (p *Pool) ReadyCount() int { return p.all.live }

// ReadyIn is the number of READY agents serving queue q.
func (p *Pool) ReadyIn(q QueueID) int {
	if s := p.byQueue[q]; s != nil {
		return s.live
	}
	return 0
}

// scan is the smallest group of sets every agent eligible for a request
// is in (one set, or a skill's sets at the levels the request needs), and
// what membership of it already proves. Each list is in longest-idle order
// and may hold dead slots.
type scan struct {
	lists [maxLevel + 1][]slot
	n     int
	need  int  // the index in req.Requires of the sets' skill, or -1
	queue bool // the set is req.Queue's
	mixed bool // the last list holds levels above maxLevel

	li, i int // cursor of next
}

// candidates returns the scan for req; it has no list when no agent can be
// eligible.
func (p *Pool) candidates(req *Request) scan {
	one, size, need := &p.all, p.all.live, -1
	var skill *skillSets
	queue := false
	if req.Queue != "" {
		one = p.byQueue[req.Queue]
		if one == nil {
			return scan{}
		}
		size, queue = one.live, true
	}
	for i, n := range req.Requires {
		s := p.bySkill[n.Skill]
		if s == nil {
			return scan{}
		}
		live := 0
		for l := levelIndex(n.Level); l <= maxLevel; l++ {
			live += s.lv[l].live
		}
		if live <= size { // on a tie a skill proves more
			skill, size, need, queue = s, live, i, false
		}
	}
	sc := scan{need: need, queue: queue}
	if skill == nil {
		sc.lists[0], sc.n = one.list[one.head:], 1
		return sc
	}
	for l := levelIndex(req.Requires[need].Level); l <= maxLevel; l++ {
		if set := &skill.lv[l]; set.live > 0 {
			sc.lists[sc.n] = set.list[set.head:]
			sc.n++
			sc.mixed = set.over > 0
		}
	}
	return sc
}

// next returns the scan's next slot, dead or alive, or nil at the end.
func (sc *scan) next() *slot {
	for sc.li < sc.n {
		if l := sc.lists[sc.li]; sc.i < len(l) {
			sc.i++
			return &l[sc.i-1]
		}
		sc.li, sc.i = sc.li+1, 0
	}
	return nil
}

// ok is Eligible for a slot of the scan, skipping what the sets prove:
// READY, and in the sets' queue or skill.
func (sc *scan) ok(sl *slot, req *Request) bool {
	if sl.k < 0 {
		return false
	}
	a := sl.m.a
	if req.Queue != "" && !sc.queue && !a.Queues[req.Queue] {
		return false
	}
	for i, n := range req.Requires {
		if i == sc.need {
			if sl.level < n.Level {
				return false
			}
			continue
		}
		lvl, ok := a.Skills[n.Skill]
		if !ok || lvl < n.Level {
			return false
		}
	}
	return true
}

// Each calls f for every agent eligible for req, in the pool's internal
// order, until f returns false.
func (p *Pool) Each(req Request, f func(*Agent) bool) {
	sc := p.candidates(&req)
	for sl := sc.next(); sl != nil; sl = sc.next() {
		if sc.ok(sl, &req) && !f(sl.m.a) {
			return
		}
	}
}

// order is how best ranks agents.
type order int

const (
	byIdle order = iota
	byCalls
	byTalk
	bySkill
)

// skillSum is an agent's sum of levels in the skills req requires, taking
// the set's own skill from the slot.
func (sc *scan) skillSum(sl *slot, req *Request) int {
	sum := 0
	for i, n := range req.Requires {
		if i == sc.need {
			sum += sl.level
		} else {
			sum += sl.m.a.Skills[n.Skill]
		}
	}
	return sum
}

// better reports whether the agent of slot x should be preferred to that
// of y: by the order's own measure, then longest idle, then lower ID.
func (sc *scan) better(o order, req *Request, x, y *slot) bool {
	switch o {
	case byCalls:
		if cx, cy := x.m.a.CallsToday, y.m.a.CallsToday; cx != cy {
			return cx < cy
		}
	case byTalk:
		if tx, ty := x.m.a.TalkToday, y.m.a.TalkToday; tx != ty {
			return tx < ty
		}
	case bySkill:
		if sx, sy := sc.skillSum(x, req), sc.skillSum(y, req); sx != sy {
			return sx > sy
		}
	}
	if x.idle != y.idle {
		return x.idle < y.idle
	}
	return x.m.a.ID < y.m.a.ID
}

// best returns the eligible agent no other beats.
func (p *Pool) best(req *Request, o order) *Agent {
	sc := p.candidates(req)
	var best *slot
	if o == byIdle { // each list is in this order: its first eligible wins
		for li := range sc.n {
			for i := range sc.lists[li] {
				if sl := &sc.lists[li][i]; sc.ok(sl, req) {
					if best == nil || slotLess(sl, best) {
						best = sl
					}
					break
				}
			}
		}
	} else if o == bySkill && len(req.Requires) == 1 && sc.need == 0 {
		// One skill: the best is in the highest level that has an eligible
		// agent, and there it is the first (longest idle). The top set
		// holds every level from maxLevel up: if it has any above, it is
		// compared in full.
		for li := sc.n - 1; li >= 0 && best == nil; li-- {
			for i := range sc.lists[li] {
				sl := &sc.lists[li][i]
				if !sc.ok(sl, req) {
					continue
				}
				if best == nil || sc.better(o, req, sl, best) {
					best = sl
				}
				if li < sc.n-1 || !sc.mixed {
					break
				}
			}
		}
	} else {
		for sl := sc.next(); sl != nil; sl = sc.next() {
			if sc.ok(sl, req) && (best == nil || sc.better(o, req, sl, best)) {
				best = sl
			}
		}
	}
	if best == nil {
		return nil
	}
	return best.m.a
}

func idleBetter(a, b *Agent) bool {
	if !a.IdleSince.Equal(b.IdleSince) {
		return a.IdleSince.Before(b.IdleSince)
	}
	return a.ID < b.ID
}

func fewestCallsBetter(a, b *Agent) bool {
	if a.CallsToday != b.CallsToday {
		return a.CallsToday < b.CallsToday
	}
	return idleBetter(a, b)
}

func leastTalkBetter(a, b *Agent) bool {
	if a.TalkToday != b.TalkToday {
		return a.TalkToday < b.TalkToday
	}
	return idleBetter(a, b)
}

// LongestIdleRouter picks the eligible agent idle the longest; ties go to
// the lower ID.
type LongestIdleRouter struct{}

// Pick implements Router.
func (LongestIdleRouter) Pick(req Request, p *Pool) *Agent { return p.best(&req, byIdle) }

// FewestCallsRouter picks the eligible agent with the fewest calls today,
// then the longest idle, then the lower ID.
type FewestCallsRouter struct{}

// Pick implements Router.
func (FewestCallsRouter) Pick(req Request, p *Pool) *Agent { return p.best(&req, byCalls) }

// LeastTalkTimeRouter picks the eligible agent with the least talk time
// today, then the longest idle, then the lower ID.
type LeastTalkTimeRouter struct{}

// Pick implements Router.
func (LeastTalkTimeRouter) Pick(req Request, p *Pool) *Agent { return p.best(&req, byTalk) }

// SkillLevelFirstRouter picks the eligible agent with the highest sum of
// levels in the skills the call requires (the best-qualified agent), then
// the longest idle, then the lower ID.
type SkillLevelFirstRouter struct{}

// Pick implements Router.
func (SkillLevelFirstRouter) Pick(req Request, p *Pool) *Agent { return p.best(&req, bySkill) }

// WeightedSkillIdleRouter scores each eligible agent as
//
//	SkillWeight × (mean level in the required skills)/10
//	  + IdleWeight × min(idle time / IdleScale, 1)
//
// and picks the highest score (ties: longest idle, then lower ID). With
// IdleWeight 0 it is skill-level-first; with SkillWeight 0 and a long
// IdleScale it is longest-idle.
type WeightedSkillIdleRouter struct {
	SkillWeight, IdleWeight float64
	IdleScale               time.Duration // idle time worth the full IdleWeight; 0 means 5 minutes
}

// Pick implements Router.
func (w WeightedSkillIdleRouter) Pick(req Request, p *Pool) *Agent {
	sc := p.candidates(&req)
	scale := w.IdleScale
	if scale <= 0 {
		scale = 5 * time.Minute
	}
	var best *Agent
	var bestScore float64
	for sl := sc.next(); sl != nil; sl = sc.next() {
		if !sc.ok(sl, &req) {
			continue
		}
		a := sl.m.a
		score := 0.0
		if n := len(req.Requires); n > 0 {
			score = w.SkillWeight * float64(sc.skillSum(sl, &req)) / float64(10*n)
		}
		idle := float64(req.Now.Sub(a.IdleSince)) / float64(scale)
		score += w.IdleWeight * min(max(idle, 0), 1)
		if best == nil || score > bestScore || (score == bestScore && idleBetter(a, best)) {
			best, bestScore = a, score
		}
	}
	return best
}

// RoundRobin hands calls to the eligible agents in turn, by agent ID: the
// next pick is the lowest ID above the last one picked for the same queue,
// wrapping around. Its memory is per queue; it is not safe for concurrent
// use.
type RoundRobin struct {
	last map[QueueID]AgentID
}

// NewRoundRobin returns a round-robin router with no memory yet.
func NewRoundRobin() *RoundRobin { return &RoundRobin{last: map[QueueID]AgentID{}} }

// Pick implements Router.
func (r *RoundRobin) Pick(req Request, p *Pool) *Agent {
	sc := p.candidates(&req)
	last, seen := r.last[req.Queue]
	var next, first *Agent // lowest ID above last; lowest ID overall
	for sl := sc.next(); sl != nil; sl = sc.next() {
		if !sc.ok(sl, &req) {
			continue
		}
		a := sl.m.a
		if first == nil || a.ID < first.ID {
			first = a
		}
		if seen && a.ID > last && (next == nil || a.ID < next.ID) {
			next = a
		}
	}
	if next == nil {
		next = first
	}
	if next != nil {
		r.last[req.Queue] = next.ID
	}
	return next
}

// Random picks an eligible agent uniformly at random from its own seeded
// generator, so a run is reproducible. It is not safe for concurrent use.
type Random struct{ rng *rand.Rand }

// NewRandom returns a random router seeded with seed.
func NewRandom(seed uint64) *Random {
	return &Random{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Pick implements Router.
func (r *Random) Pick(req Request, p *Pool) *Agent {
	sc := p.candidates(&req)
	// Rejection sampling: a uniform slot, kept if eligible, is a uniform
	// eligible agent (each is in the scan once). If most are not eligible,
	// count them instead.
	total := 0
	for li := range sc.n {
		total += len(sc.lists[li])
	}
	for try := 0; try < 32 && total > 0; try++ {
		k := r.rng.IntN(total)
		li := 0
		for k >= len(sc.lists[li]) {
			k -= len(sc.lists[li])
			li++
		}
		if sl := &sc.lists[li][k]; sc.ok(sl, &req) {
			return sl.m.a
		}
	}
	n := 0
	for sl := sc.next(); sl != nil; sl = sc.next() {
		if sc.ok(sl, &req) {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	k := r.rng.IntN(n)
	sc.li, sc.i = 0, 0
	for sl := sc.next(); sl != nil; sl = sc.next() {
		if sc.ok(sl, &req) {
			if k == 0 {
				return sl.m.a
			}
			k--
		}
	}
	return nil
}

// RingAll appends to dst every agent eligible for req (ring-all: all of
// them ring and the first to answer takes the call), in ID order, and
// returns the extended slice.
func RingAll(req Request, p *Pool, dst []*Agent) []*Agent {
	start := len(dst)
	p.Each(req, func(a *Agent) bool { dst = append(dst, a); return true })
	ring := dst[start:]
	sort.Slice(ring, func(i, j int) bool { return ring[i].ID < ring[j].ID })
	return dst
}

// RingAllName is the strategy of a queue that rings every eligible
// agent at once (QueueConfig.RingAll); it is not a Router: it picks a
// set, see RingAll.
const RingAllName = "ring-all"

// RouterNames lists the routers RouterByName knows (ring-all is not one:
// it returns a set, see RingAll).
func RouterNames() []string {
	return []string{"longest-idle", "fewest-calls", "least-talk-time", "skill-level-first", "weighted-skill-idle", "round-robin", "random"}
}

// RouterByName returns a fresh router for a strategy name; seed seeds the
// random router.
func RouterByName(name string, seed uint64) (Router, bool) {
	switch name {
	case "longest-idle", "":
		return LongestIdleRouter{}, true
	case "fewest-calls":
		return FewestCallsRouter{}, true
	case "least-talk-time":
		return LeastTalkTimeRouter{}, true
	case "skill-level-first":
		return SkillLevelFirstRouter{}, true
	case "weighted-skill-idle":
		return WeightedSkillIdleRouter{SkillWeight: 1, IdleWeight: 1}, true
	case "round-robin":
		return NewRoundRobin(), true
	case "random":
		return NewRandom(seed), true
	}
	return nil, false
}

// Call priorities (Waiting.Priority, Entry.Priority): higher is served
// sooner.
const (
	PriorityNormal  = 0
	PriorityElderly = 1 // elderly, disabled and other special groups
	PriorityVIP     = 2
)

// Aging orders waiting calls by priority without starving anyone: a call
// of priority p is placed as if it had joined HeadStart[p] earlier than it
// did. Every call's standing so grows with its wait at the same rate, and
// a normal call that has waited longer than a VIP's head start is ahead of
// any VIP who joins after it. A priority not in the map has no head start.
// The order of two calls never changes while they wait, so a line sorted
// once stays sorted.
type Aging struct {
	HeadStart map[int]time.Duration
}

// DefaultAging gives VIPs 120 s and the elderly/disabled 60 s of head
// start over normal callers.
func DefaultAging() Aging {
	return Aging{HeadStart: map[int]time.Duration{PriorityVIP: 120 * time.Second, PriorityElderly: 60 * time.Second}}
}

// Key is the virtual join time the call is ordered by.
func (g Aging) Key(priority int, enqueuedAt time.Time) time.Time {
	return enqueuedAt.Add(-g.HeadStart[priority])
}

// Compare orders two waiting calls, first in line first: by virtual join
// time, then higher priority, then earlier real join time. It suits
// slices.SortStableFunc.
func (g Aging) Compare(x, y *Waiting) int {
	return g.compare(x.Priority, x.EnqueuedAt, y.Priority, y.EnqueuedAt)
}

func (g Aging) compare(px int, tx time.Time, py int, ty time.Time) int {
	if c := g.Key(px, tx).Compare(g.Key(py, ty)); c != 0 {
		return c
	}
	if px != py {
		if px > py {
			return -1
		}
		return 1
	}
	return tx.Compare(ty)
}

// Entry is one call in a Line.
type Entry struct {
	Call       CallID
	Priority   int
	EnqueuedAt time.Time
	Req        Request // Req.Now is set by Route
	Tag        int     // the owner's (the simulator keeps its call index here)

	seq uint64 // order of Add, the last tie-break
}

// Line is the calls waiting for agents, kept in Aging order, and indexed
// by the first skill each call requires (or by its queue, for a call that
// requires none) so that an agent becoming READY finds its next call
// without looking at every waiting call. It is not safe for concurrent
// use.
type Line struct {
	aging   Aging
	seq     uint64
	entries []*Entry
	sub     map[lineKey]*subLine
}

type lineKey struct {
	skill string
	queue QueueID
}

type subLine struct{ list []*Entry }

func keyOf(e *Entry) lineKey {
	if len(e.Req.Requires) > 0 {
		return lineKey{skill: e.Req.Requires[0].Skill}
	}
	return lineKey{queue: e.Req.Queue}
}

// NewLine returns an empty line ordered by g.
func NewLine(g Aging) *Line { return &Line{aging: g, sub: map[lineKey]*subLine{}} }

func (l *Line) cmp(x, y *Entry) int {
	if c := l.aging.compare(x.Priority, x.EnqueuedAt, y.Priority, y.EnqueuedAt); c != 0 {
		return c
	}
	switch {
	case x.seq < y.seq:
		return -1
	case x.seq > y.seq:
		return 1
	}
	return 0
}

func (l *Line) insert(list []*Entry, e *Entry) []*Entry {
	i := sort.Search(len(list), func(i int) bool { return l.cmp(list[i], e) > 0 })
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = e
	return list
}

func (l *Line) find(list []*Entry, e *Entry) int {
	i := sort.Search(len(list), func(i int) bool { return l.cmp(list[i], e) >= 0 })
	for ; i < len(list); i++ {
		if list[i] == e {
			return i
		}
		if l.cmp(list[i], e) != 0 {
			break
		}
	}
	return -1
}

func del(list []*Entry, i int) []*Entry {
	copy(list[i:], list[i+1:])
	list[len(list)-1] = nil
	return list[:len(list)-1]
}

// Add puts e in its place in line (after calls it ties with). The call's
// Req.Requires must not change while it is in line.
func (l *Line) Add(e *Entry) {
	l.seq++
	e.seq = l.seq
	l.entries = l.insert(l.entries, e)
	k := keyOf(e)
	s := l.sub[k]
	if s == nil {
		s = &subLine{}
		l.sub[k] = s
	}
	s.list = l.insert(s.list, e)
}

// Position is the number of calls ahead of e, or -1 if it is not in line.
func (l *Line) Position(e *Entry) int { return l.find(l.entries, e) }

// Remove takes e out of line; it reports whether e was in it.
func (l *Line) Remove(e *Entry) bool {
	i := l.find(l.entries, e)
	if i < 0 {
		return false
	}
	l.entries = del(l.entries, i)
	if s := l.sub[keyOf(e)]; s != nil {
		if j := l.find(s.list, e); j >= 0 {
			s.list = del(s.list, j)
		}
	}
	return true
}

// Len is the number of calls in line.
func (l *Line) Len() int { return len(l.entries) }

// At returns the call at position i (0 is first in line).
func (l *Line) At(i int) *Entry { return l.entries[i] }

// NextFor is the decision when agent a becomes READY: the first call in
// line that a may take, or nil. It looks only at the calls indexed under
// a's skills and queues, and in each of those only until the first call a
// may take or one behind the best found so far.
func (l *Line) NextFor(a *Agent) *Entry {
	var best *Entry
	for s := range a.Skills {
		best = l.firstFor(a, l.sub[lineKey{skill: s}], best)
	}
	for q, on := range a.Queues {
		if on {
			best = l.firstFor(a, l.sub[lineKey{queue: q}], best)
		}
	}
	return l.firstFor(a, l.sub[lineKey{}], best)
}

func (l *Line) firstFor(a *Agent, s *subLine, best *Entry) *Entry {
	if s == nil {
		return best
	}
	for _, e := range s.list {
		if best != nil && l.cmp(e, best) >= 0 {
			return best
		}
		if Eligible(a, &e.Req) {
			return e
		}
	}
	return best
}

// Route is the full routing sweep: the first call in line for which r
// picks an agent, with that agent, or nil, nil. It looks at no more than
// maxScan calls (0: all of them). It changes nothing: the caller takes the
// call out of line and updates the agent in the pool.
//
// Route costs up to one Pick per waiting call, so it is for re-evaluating
// after a change of many agents at once (a restart, a skill change). In
// normal operation the owner keeps the invariant "no waiting call has a
// READY agent that may take it", and then only two decisions exist, each
// cheap and equal to what Route would decide:
//
//   - a call arrives: r.Pick(its request, pool); no agent → it joins the line;
//   - an agent becomes READY: line.NextFor(agent); no call → it stays READY.
func Route(l *Line, p *Pool, r Router, now time.Time, maxScan int) (*Entry, *Agent) {
	if p.ReadyCount() == 0 {
		return nil, nil
	}
	n := len(l.entries)
	if maxScan > 0 && maxScan < n {
		n = maxScan
	}
	for _, e := range l.entries[:n] {
		req := e.Req
		req.Now = now
		if a := r.Pick(req, p); a != nil {
			return e, a
		}
	}
	return nil, nil
}
