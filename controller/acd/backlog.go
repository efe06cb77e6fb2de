package acd

import (
	"cmp"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"time"
)

// Contender is a call in line as the expected-wait estimate sees it: who
// may take it and how long its queue's calls keep an agent busy.
type Contender struct {
	// Alts says who may take the call: an agent who, were it READY, would
	// be Eligible for one of them (Request.Now is not used).
	Alts []Request
	// Handle is the mean time an agent is busy with a call of the call's
	// queue (its EWT.Handle); zero or less counts as the waiting caller's.
	Handle time.Duration
	// Weight is how many calls it stands for when it is an expectation,
	// not a call (callers expected to join ahead, EstimateJoining): their
	// handle time times Weight is queued on the agents who may take them,
	// and they take no READY agent outright. Zero is one real call.
	Weight float64
}

// Joiner is a class of callers expected to join the line after the
// caller and still go ahead of it: a higher priority whose head start
// outruns the caller's (Aging). They arrive at Rate per second, and those
// who arrive within Window from now go ahead.
type Joiner struct {
	Alts   []Request
	Handle time.Duration
	Rate   float64
	Window time.Duration
}

// Backlog estimates a waiting caller's expected wait when agents serve
// several queues (pooled access) or skill groups, so that callers of
// other queues compete for some of the same agents.
//
// An agent who frees up takes the first call in line it may take, across
// every queue (the ACD's line is ordered by priority with aging). So the
// calls ahead of the caller, in line order, each take the agent among
// those who may take it who will be free first. Backlog follows that as
// water filling: agents who may take exactly the same of the calls
// concerned form a group, and each call ahead, in line order, pours its
// queue's handle time into the groups that may take it, lowest level
// first (a READY agent takes a call outright). A group's level is then
// how long its agents are busy with calls ahead of the caller.
//
// The caller's turn comes on the groups its own handle time, poured
// last, would reach: n agents, with k calls ahead of it on them (Ahead;
// a call of another queue counts for the share of it those agents take).
// It waits for the first of them to be free: each group frees agents
// from its level on, at the rate of the calls they are on by then (1/h̄,
// h̄ the mean handle time of those k calls, or the caller's own for
// agents with none), so the wait when nobody abandons is
// E[min over the groups of (level + Exp(size/h̄))], and L + h̄/n when all
// are at one level L. Abandonment shortens it by the ratio of the
// Erlang A sum of EWT.Estimate to the same without abandonment, μ = 1/h̄:
//
//	Σ_{j=0..k} 1/(n·μ + j·θ)  against  (k+1)/(n·μ),  linear between whole k
//
// With one queue (every call ahead may go to the same agents) this is
// exactly EWT.Estimate(ahead, onDuty, free). With queues that share only
// some agents, a call of another queue ahead weighs on the caller's
// agents only as far as its own other agents are busy before them, and
// for its own queue's handle time.
//
// Agents on duty (neither LOGGED_OUT nor NOT_READY) count; those of them
// who are not READY are busy, each freeing at the rate the handle times
// give (exponential handle times: how long a call has lasted does not
// matter). Callers who will join the line ahead of the caller later (a
// VIP within its head start) are foreseen by EstimateJoining.
//
// A Backlog is made for a fixed list of agents whose Queues and Skills do
// not change afterwards (their State may): it remembers who may take what.
// Estimate is a pure function of its arguments and the agents; the
// buffers it works in are reused. It is not safe for concurrent use.
type Backlog struct {
	agents []*Agent
	words  int                     // uint64 words of a bitset over agents
	elig   map[string]*eligibility // call requirements → who may take such a call
	epoch  uint64                  // counts estimates: eligibility.sig is this one's if its epoch is

	// Per estimate.
	key       []byte
	byAlts    map[altsKey]int // the same Alts slice again → signature index
	sigs      [][]uint64      // per signature, who may take it
	aheadSig  []int           // per call ahead, its signature
	duty      []uint64        // agents on duty
	readyBits []uint64        // agents READY
	member    []int32         // per agent, its group (0: none)
	sigGroups [][]int32       // per signature, the groups that may take it
	readyLeft int             // READY agents left in the groups
	ready0    []int32         // per group, its READY agents before any call took one
	readyAll  int             // and in all
	k         float64         // calls effectively ahead (Ahead)
	joined    []Contender     // EstimateJoining's scratch: joiners, then the calls ahead
	round     []Contender     // and of one round: the joiners expected, then the calls ahead
	roundSig  []int           // their signatures
	order     []int32         // firstFree's scratch
	// Groups of agents who may take the same of the calls concerned
	// (group 0: the agents who may take none), one slice per field so
	// that each pass reads little memory.
	size, ready []int32   // agents on duty, READY ones
	level       []float64 // seconds of calls ahead queued per agent
	work, calls []float64 // seconds and calls poured into the group
	mark        []int32   // the last signature that counted the group (s+1) or listed it (−1−s)
	in          []int32   // how many of its members may take that signature
	child       []int32   // the group its members of that signature moved to (-1: none yet)
}

// eligibility is who may take calls of some requirements: agents in any
// state, as a bitset; and their signature index in the estimate of epoch.
type eligibility struct {
	agents []uint64
	epoch  uint64
	sig    int
}

type altsKey struct {
	p *Request
	n int
}

// maxRemembered bounds Backlog's memory of requirements: past it, it
// starts afresh.
const maxRemembered = 4096

// NewBacklog returns a Backlog for agents.
func NewBacklog(agents []*Agent) *Backlog {
	return &Backlog{
		agents: agents,
		words:  (len(agents) + 63) / 64,
		elig:   map[string]*eligibility{},
		byAlts: map[altsKey]int{},
	}
}

// Estimate returns the expected wait of a caller (self) with the calls
// ahead of it in line (first in line first: those that will not take an
// agent, like a call already being offered to one, left out), θ being
// the abandonment rate of its queue (EWT.AbandonRate). It returns 0 when
// an agent who may take the caller will be free for it at once, and
// NoEstimate when no agent who may take it is on duty.
func (b *Backlog) Estimate(self Contender, ahead []Contender, abandonRate float64) time.Duration {
	if self.Handle <= 0 {
		return NoEstimate
	}
	own := b.prepare(self, ahead)
	return b.wait(own, self, ahead, b.aheadSig, abandonRate)
}

// prepare learns the signatures of the caller (returned) and of the
// contenders, in b.aheadSig, and groups the agents on duty by them.
func (b *Backlog) prepare(self Contender, cs []Contender) int {
	b.begin()
	own := b.signature(self.Alts)
	for _, c := range cs {
		b.aheadSig = append(b.aheadSig, b.signature(c.Alts))
	}
	b.group()
	return own
}

// wait is Estimate's wait for the caller of signature own behind the
// contenders ahead (of signatures sigs), on the groups prepare made from
// a list that held them all (it may have held more: agents who differ
// only in those others fill alike).
func (b *Backlog) wait(own int, self Contender, ahead []Contender, sigs []int, abandonRate float64) time.Duration {
	h := self.Handle.Seconds()
	b.k = 0
	b.reset()
	mine := b.sigGroups[own]
	if len(mine) == 0 {
		return NoEstimate
	}
	// A run of calls of one signature pours at once: filling the same
	// groups twice is filling them once with both.
	run, pending, runHandle := -1, 0.0, 0.0
	for i, c := range ahead {
		sig := sigs[i]
		if sig != run && pending > 0 {
			b.pour(b.sigGroups[run], pending, runHandle)
			pending = 0
		}
		run = sig
		gs := b.sigGroups[sig]
		if len(gs) == 0 || (c.Weight == 0 && b.takeReady(gs)) {
			continue // nobody on duty may take it; or a READY agent does
		}
		hc := c.Handle.Seconds()
		if hc <= 0 {
			hc = h
		}
		weight := c.Weight
		if weight == 0 {
			weight = 1
		}
		pending, runHandle = pending+weight*hc, hc
	}
	if pending > 0 {
		b.pour(b.sigGroups[run], pending, runHandle)
	}
	for _, g := range mine {
		if b.ready[g] > 0 {
			return 0
		}
	}
	// The caller's turn comes on the groups its own pour would reach: n
	// agents with k calls ahead of it, whose mean handle time is the rate
	// they free at then (topped up with the caller's own handle time for
	// agents with fewer calls ahead than that: the calls they are on now).
	level, n := b.fill(mine, h)
	work, k := 0.0, 0.0
	for _, g := range mine {
		if b.level[g] <= level {
			work += b.work[g]
			k += b.calls[g]
		}
	}
	if r := math.Round(k); math.Abs(k-r) < 1e-9 {
		k = r // whole calls
	}
	b.k = k
	mean := (work + max(float64(n)-k, 0)*h) / max(float64(n), k)
	wait := b.firstFree(mine, mean) * erlangAWait(k, float64(n)/mean, abandonRate).Seconds() / ((k + 1) * mean / float64(n))
	if wait >= float64(math.MaxInt64)/float64(time.Second) {
		return NoEstimate
	}
	return time.Duration(wait * float64(time.Second))
}

// EstimateJoining is Estimate counting, ahead of the calls in line, the
// callers expected to join ahead of the caller while it waits:
// Rate × min(Window, wait) of each class of joiners. The wait and that
// count depend on each other; starting from the wait without joiners,
// a few rounds settle it (the wait only grows, and by less each round).
// The agents are grouped once for every round. Ahead still reports the
// calls in line only.
func (b *Backlog) EstimateJoining(self Contender, ahead []Contender, abandonRate float64, joiners []Joiner) time.Duration {
	if len(joiners) == 0 || self.Handle <= 0 {
		return b.Estimate(self, ahead, abandonRate)
	}
	// The joiners go first in line, then the calls in line; their
	// weights are set each round.
	js := b.joined[:0]
	for _, j := range joiners {
		js = append(js, Contender{Alts: j.Alts, Handle: j.Handle})
	}
	js = append(js, ahead...)
	b.joined = js
	defer func() {
		clear(b.joined) // keeps no call's requirements alive
		clear(b.round)
		b.joined, b.round = b.joined[:0], b.round[:0]
	}()
	own := b.prepare(self, js)
	nj := len(joiners)
	wait := b.wait(own, self, js[nj:], b.aheadSig[nj:], abandonRate)
	if wait == 0 || wait == NoEstimate {
		return wait
	}
	k := b.k
	defer func() { b.k = k }()
	for range 4 {
		// Joiners expected within the wait take places ahead; a class
		// expected to bring none is left out.
		cs, sigs := b.round[:0], b.roundSig[:0]
		for i, j := range joiners {
			if m := j.Rate * min(j.Window, wait).Seconds(); m > 0 {
				js[i].Weight = m
				cs = append(cs, js[i])
				sigs = append(sigs, b.aheadSig[i])
			}
		}
		if len(cs) == 0 {
			break
		}
		cs = append(cs, js[nj:]...)
		sigs = append(sigs, b.aheadSig[nj:]...)
		b.roundSig, b.round = sigs, cs
		next := b.wait(own, self, cs, sigs, abandonRate)
		if next == NoEstimate {
			return next
		}
		settled := next-wait < 100*time.Millisecond
		wait = next
		if settled {
			break
		}
	}
	return wait
}

// firstFree is the expected time until the first agent of groups gs is
// free for a new call when each group's agents are busy until its level
// with calls ahead and then free at the rate of calls of handle time h:
// E[min over groups of (level + Exp(size/h))].
func (b *Backlog) firstFree(gs []int32, h float64) float64 {
	o := append(b.order[:0], gs...)
	b.order = o
	slices.SortFunc(o, func(x, y int32) int { return cmp.Compare(b.level[x], b.level[y]) })
	t, survive, rate := b.level[o[0]], 1.0, 0.0
	for i, g := range o {
		rate += float64(b.size[g]) / h
		if i+1 == len(o) {
			return t + survive/rate
		}
		gap := b.level[o[i+1]] - b.level[g]
		left := math.Exp(-rate * gap)
		t += survive * (1 - left) / rate
		survive *= left
	}
	return t
}

// Ahead returns, after an Estimate, the calls effectively ahead of the
// caller on the agents its turn comes on (k above: a call of another
// queue counts for the share of it those agents take). It is 0 when the
// caller takes an agent at once.
func (b *Backlog) Ahead() float64 { return b.k }

func (b *Backlog) begin() {
	b.epoch++
	clear(b.byAlts)
	clear(b.sigs)
	b.sigs = b.sigs[:0]
	b.aheadSig = b.aheadSig[:0]
}

// signature returns the index of the signature (who may take it) of a
// call with these alternatives, computing who may take it on first sight.
func (b *Backlog) signature(alts []Request) int {
	ak := altsKey{n: len(alts)}
	if len(alts) > 0 {
		ak.p = &alts[0]
		if s, ok := b.byAlts[ak]; ok {
			return s
		}
	}
	k := b.key[:0]
	for _, r := range alts {
		k = binary.AppendUvarint(k, uint64(len(r.Queue)))
		k = append(k, r.Queue...)
		k = binary.AppendUvarint(k, uint64(len(r.Requires)))
		for _, n := range r.Requires {
			k = binary.AppendUvarint(k, uint64(len(n.Skill)))
			k = append(k, n.Skill...)
			k = binary.AppendVarint(k, int64(n.Level))
		}
	}
	b.key = k
	e := b.elig[string(k)]
	if e == nil {
		e = &eligibility{agents: make([]uint64, b.words)}
		for i, ag := range b.agents {
			if mayTake(ag, alts) {
				e.agents[i/64] |= 1 << (i % 64)
			}
		}
		if len(b.elig) >= maxRemembered {
			clear(b.elig)
		}
		b.elig[string(k)] = e
	}
	if e.epoch != b.epoch {
		e.epoch, e.sig = b.epoch, len(b.sigs)
		b.sigs = append(b.sigs, e.agents)
	}
	s := e.sig
	if ak.p != nil {
		b.byAlts[ak] = s
	}
	return s
}

// group sorts the agents on duty who may take any of the calls concerned
// into groups by which of them they may take: partition refinement, each
// signature splitting every group into its members who may take it and
// the others.
func (b *Backlog) group() {
	words := b.words
	b.duty = slices.Grow(b.duty[:0], words)[:words]
	b.readyBits = slices.Grow(b.readyBits[:0], words)[:words]
	clear(b.duty)
	clear(b.readyBits)
	for i, ag := range b.agents {
		switch ag.State {
		case LoggedOut, NotReady:
			continue
		case Ready:
			b.readyBits[i/64] |= 1 << (i % 64)
		}
		b.duty[i/64] |= 1 << (i % 64)
	}
	b.member = slices.Grow(b.member[:0], len(b.agents))[:len(b.agents)]
	clear(b.member)
	b.size, b.ready, b.level = append(b.size[:0], math.MaxInt32), append(b.ready[:0], 0), append(b.level[:0], 0)
	b.work, b.calls = append(b.work[:0], 0), append(b.calls[:0], 0)
	b.mark, b.in, b.child = append(b.mark[:0], 0), append(b.in[:0], 0), append(b.child[:0], -1)
	for s, elig := range b.sigs {
		id := int32(s + 1)
		// Count each group's members who may take s; a group wholly in s
		// stays as it is, the others split.
		for w, word := range elig {
			for word &= b.duty[w]; word != 0; word &= word - 1 {
				g := b.member[w*64+bits.TrailingZeros64(word)]
				if b.mark[g] != id {
					b.mark[g], b.in[g], b.child[g] = id, 0, -1
				}
				b.in[g]++
			}
		}
		for w, word := range elig {
			for word &= b.duty[w]; word != 0; word &= word - 1 {
				i := w*64 + bits.TrailingZeros64(word)
				g := b.member[i]
				if b.in[g] == b.size[g] {
					continue
				}
				c := b.child[g]
				if c < 0 {
					c = int32(len(b.size))
					b.child[g] = c
					b.size, b.ready, b.level = append(b.size, 0), append(b.ready, 0), append(b.level, 0)
					b.work, b.calls = append(b.work, 0), append(b.calls, 0)
					b.mark, b.in, b.child = append(b.mark, 0), append(b.in, 0), append(b.child, -1)
				}
				b.member[i] = c
				b.size[g]--
				b.in[g]--
				b.size[c]++
			}
		}
	}
	b.readyLeft = 0
	for w, word := range b.readyBits {
		for ; word != 0; word &= word - 1 {
			if g := b.member[w*64+bits.TrailingZeros64(word)]; g != 0 {
				b.ready[g]++
				b.readyLeft++
			}
		}
	}
	b.ready0, b.readyAll = append(b.ready0[:0], b.ready...), b.readyLeft
	for len(b.sigGroups) < len(b.sigs) {
		b.sigGroups = append(b.sigGroups, nil)
	}
	for s, elig := range b.sigs {
		id := int32(-1 - s)
		gs := b.sigGroups[s][:0]
		for w, word := range elig {
			for word &= b.duty[w]; word != 0; word &= word - 1 {
				if g := b.member[w*64+bits.TrailingZeros64(word)]; b.mark[g] != id {
					b.mark[g] = id
					gs = append(gs, g)
				}
			}
		}
		b.sigGroups[s] = gs
	}
}

// reset empties the groups of the calls a wait poured: no work queued,
// every READY agent free.
func (b *Backlog) reset() {
	clear(b.level)
	clear(b.work)
	clear(b.calls)
	copy(b.ready, b.ready0)
	b.readyLeft = b.readyAll
}

// takeReady gives a call a READY agent of one of groups gs, if there is
// one.
func (b *Backlog) takeReady(gs []int32) bool {
	if b.readyLeft == 0 {
		return false
	}
	for _, g := range gs {
		if b.ready[g] > 0 {
			b.ready[g]--
			b.readyLeft--
			return true
		}
	}
	return false
}

// pour spreads amount seconds of calls of handle time h over the agents
// of groups gs, lowest level first.
func (b *Backlog) pour(gs []int32, amount, h float64) {
	level, _ := b.fill(gs, amount)
	for _, g := range gs {
		if l := b.level[g]; l < level {
			w := float64(b.size[g]) * (level - l)
			b.work[g] += w
			b.calls[g] += w / h
			b.level[g] = level
		}
	}
}

// fill returns the level amount seconds of work poured over the agents of
// groups gs, lowest level first, would reach, and how many agents would
// be at it. The level L solves Σ size·max(0, L − level) = amount: the
// mean over the groups below the last guess, dropping those above it
// until none is (each guess is lower than the one before).
func (b *Backlog) fill(gs []int32, amount float64) (float64, int) {
	level := math.Inf(1)
	for {
		sum, size, above := amount, 0.0, false
		for _, g := range gs {
			if l := b.level[g]; l < level {
				sum += float64(b.size[g]) * l
				size += float64(b.size[g])
			}
		}
		next := sum / size
		for _, g := range gs {
			if l := b.level[g]; l < level && l > next {
				above = true
				break
			}
		}
		level = next
		if !above {
			break
		}
	}
	n := 0
	for _, g := range gs {
		if b.level[g] <= level {
			n += int(b.size[g])
		}
	}
	return level, n
}

// erlangAWait is Σ_{j=0..k} 1/(nμ + jθ) (EWT.Estimate) for k calls
// ahead, linear between whole k so that a share of a call counts as
// such. Far terms are summed as an integral, which they match closely.
func erlangAWait(k, nmu, theta float64) time.Duration {
	if r := math.Round(k); math.Abs(k-r) < 1e-9 {
		k = r
	}
	if k < 0 {
		return time.Duration((k + 1) / nmu * float64(time.Second))
	}
	whole := math.Floor(k)
	const direct = 4096
	s := 0.0
	for j := 0.0; j <= min(whole, direct); j++ {
		s += 1 / (nmu + j*theta)
	}
	if whole > direct {
		if theta > 0 {
			s += math.Log((nmu+(whole+0.5)*theta)/(nmu+(direct+0.5)*theta)) / theta
		} else {
			s += (whole - direct) / nmu
		}
	}
	s += (k - whole) / (nmu + (whole+1)*theta)
	if s >= float64(math.MaxInt64)/float64(time.Second) {
		return NoEstimate
	}
	return time.Duration(s * float64(time.Second))
}
