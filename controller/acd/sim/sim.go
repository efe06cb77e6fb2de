// Package sim is a discrete-event simulator of a contact centre that runs
// the real routing code of package acd (its Pool, Line with priority
// aging, Routers, EWT and Backlog estimators) on simulated time: Poisson
// arrivals, exponential or lognormal handle times, exponential patience,
// agents with skills serving one or several queues. It measures service
// level, ASA, abandonment, occupancy and how well the expected-wait
// estimate predicted each caller's wait. A run is a pure function of its
// Config (including the seed); the package has no state.
package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
)

// CallType is one kind of call in the mix.
type CallType struct {
	Weight   float64 // relative share of arrivals
	Requires []acd.SkillNeed
	Priority int
	// Queue is the call's queue; "" is one queue every agent serves.
	Queue acd.QueueID
	// AHT is the mean handle time of the kind (0: Config.AHT).
	AHT time.Duration
}

// AgentGroup is Count agents with the same skills, serving Queues (and
// calls of no queue).
type AgentGroup struct {
	Count  int
	Skills map[string]int
	Queues []acd.QueueID
}

// Config describes a run.
type Config struct {
	Rate     float64       // arrivals per second (Poisson)
	AHT      time.Duration // mean handle time
	AHTDist  string        // "exponential" (default) or "lognormal"
	AHTCV    float64       // lognormal coefficient of variation (0: 1)
	Patience time.Duration // mean exponential patience; 0: nobody abandons
	WrapUp   time.Duration // after-call work per call

	Agents int          // agents with no skills, when Groups is empty
	Groups []AgentGroup // agents with skills
	Mix    []CallType   // call kinds; empty: one kind needing no skill

	Router acd.Router // nil: longest idle
	Aging  acd.Aging

	Calls  int           // arrivals to simulate
	Warmup int           // first arrivals left out of the statistics (-1: none; 0: Calls/20)
	Within time.Duration // service-level threshold (0: 20 s)
	// AnnounceEvery is how often a waiting caller hears its expected
	// wait (queues' announce_every; 0: 30 s, <0: never).
	AnnounceEvery time.Duration
	Seed          uint64

	// Progress, if set, is called about every 1% of arrivals.
	Progress func(done, total int)
}

// Result is what a run measured over the calls after the warm-up.
type Result struct {
	Offered, Answered, Abandoned int
	ServiceLevel                 float64       // answered within Within / offered
	ASA                          time.Duration // mean wait of answered calls
	AbandonRate                  float64       // abandoned / offered
	Occupancy                    float64       // agent busy time / agent time
	Simulated                    time.Duration // simulated time of the whole run
	EWT                          EWTStats
	ByPriority                   map[int]Class // per call priority
}

// Class is what one priority class of calls saw.
type Class struct {
	Offered, Answered int
	ASA               time.Duration
}

// EWTStats compares, for answered callers who had to wait, the wait
// estimated when they joined the line (ACD.Estimate's: acd.Backlog over
// the calls ahead in every queue) with the wait they had.
type EWTStats struct {
	Samples      int
	MedianRelErr float64 // median |estimate − actual| / actual
	// The same for two estimates that count only the calls ahead in the
	// caller's own queue and the agents who may take it: the Erlang A
	// sum (the ACD's estimate before it counted other queues) and the
	// naive (ahead+1) × AHT / agents.
	QueueOnlyRelErr float64
	NaiveRelErr     float64
	// Long is the samples with 10 or more calls effectively ahead of the
	// caller on its agents (acd.Backlog.Ahead: with one queue, the calls
	// ahead; a call of another queue counts for the share of it the
	// caller's agents take), and their median errors. Those are the
	// callers an announcement is for; the fewer calls ahead, the more a
	// single wait is down to chance.
	Long             int
	LongRelErr       float64
	LongQueueOnlyErr float64
	LongNaiveErr     float64
	// LongInLineErr is LongRelErr for the estimate that counts only the
	// calls in line, foreseeing no callers who join later and go ahead
	// (VIPs within their head start; acd.Backlog.EstimateJoining).
	LongInLineErr float64
	// Announced is the announcements answered callers heard while
	// waiting (every Config.AnnounceEvery, as the live queue does), and
	// the median error of the wait each gave against the rest of the
	// caller's wait; AnnouncedLong and its error, those made with 10 or
	// more calls effectively ahead.
	Announced           int
	AnnouncedRelErr     float64
	AnnouncedLong       int
	AnnouncedLongRelErr float64
	// LongForeseen is the Long samples whose callers were overtaken by as
	// many later joiners (VIPs within their head start) as the estimate
	// foresaw, give or take one, and their median error: what is left
	// when the chance of how many VIPs come is not.
	LongForeseen    int
	LongForeseenErr float64
	MeanEstimate    time.Duration
	MeanActualEWT   time.Duration
}

type classAcc struct {
	offered, answered int
	wait              float64
}

type kind int

const (
	arrival kind = iota
	finish
	abandon
	announce
)

type event struct {
	at   float64 // seconds since the start
	kind kind
	i    int // call index (abandon) or agent index (finish)
}

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	if e[i].at != e[j].at {
		return e[i].at < e[j].at
	}
	return e[i].kind < e[j].kind
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

type call struct {
	entry     acd.Entry
	kind      int // index in the mix
	arrived   float64
	waiting   bool
	estimate  float64 // EWT at arrival, seconds; <0: none (answered at once)
	queueOnly float64
	inLine    float64 // the estimate without callers joining ahead later
	naive     float64
	ahead     float64 // calls effectively ahead on its agents (acd.Backlog.Ahead)
	heard     []heard // the announcements it heard while waiting
	foreseen  float64 // callers its estimate foresaw joining ahead of it
	overtaken int     // callers who joined after it and were answered before it
}

// heard is an announcement: when, the wait it gave, and the calls
// effectively ahead then.
type heard struct {
	at, estimate, ahead float64
}

// Run simulates cfg.
func Run(cfg Config) (Result, error) {
	if cfg.Rate <= 0 || cfg.AHT <= 0 || cfg.Calls <= 0 || cfg.Patience < 0 || cfg.WrapUp < 0 {
		return Result{}, errors.New("sim: need rate > 0, aht > 0, calls > 0, patience ≥ 0 and wrap-up ≥ 0")
	}
	if cfg.AHTDist != "" && cfg.AHTDist != "exponential" && cfg.AHTDist != "lognormal" {
		return Result{}, fmt.Errorf("sim: AHT distribution %q: use exponential or lognormal", cfg.AHTDist)
	}
	groups := cfg.Groups
	if len(groups) == 0 {
		if cfg.Agents <= 0 {
			return Result{}, errors.New("sim: no agents")
		}
		groups = []AgentGroup{{Count: cfg.Agents}}
	}
	mix := cfg.Mix
	if len(mix) == 0 {
		mix = []CallType{{Weight: 1}}
	}
	totalWeight := 0.0
	for _, m := range mix {
		totalWeight += m.Weight
	}
	if totalWeight <= 0 {
		return Result{}, errors.New("sim: call mix has no weight")
	}
	for _, m := range mix {
		if m.AHT < 0 {
			return Result{}, errors.New("sim: a call kind's AHT is negative")
		}
	}
	router := cfg.Router
	if router == nil {
		router = acd.LongestIdleRouter{}
	}
	within := cfg.Within
	if within <= 0 {
		within = 20 * time.Second
	}
	every := cfg.AnnounceEvery.Seconds()
	switch {
	case cfg.AnnounceEvery == 0:
		every = 30
	case cfg.AnnounceEvery < 0:
		every = 0
	}
	warmup := cfg.Warmup
	switch {
	case warmup < 0:
		warmup = 0
	case warmup == 0:
		warmup = cfg.Calls / 20
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5bd1e995))
	ahtOf := func(m CallType) time.Duration {
		if m.AHT > 0 {
			return m.AHT
		}
		return cfg.AHT
	}
	cv := cfg.AHTCV
	if cv <= 0 {
		cv = 1
	}
	sigma2 := math.Log(1 + cv*cv)
	handle := func(aht float64) float64 {
		if cfg.AHTDist == "lognormal" {
			return math.Exp(math.Log(aht) - sigma2/2 + math.Sqrt(sigma2)*rng.NormFloat64())
		}
		return rng.ExpFloat64() * aht
	}
	// Who may take each kind of call, and one EWT per queue fed as the
	// live ACD feeds its own, starting from the queue's first kind's AHT.
	alts := make([][]acd.Request, len(mix))
	ewts := map[acd.QueueID]*acd.EWT{}
	for k, m := range mix {
		alts[k] = []acd.Request{{Queue: m.Queue, Requires: m.Requires}}
		if ewts[m.Queue] == nil {
			ewts[m.Queue] = acd.NewEWT(ahtOf(m), 0)
		}
	}

	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return base.Add(time.Duration(s * float64(time.Second))) }

	var agents []*acd.Agent
	for _, g := range groups {
		queues := map[acd.QueueID]bool{}
		for _, q := range g.Queues {
			queues[q] = true
		}
		for range g.Count {
			agents = append(agents, &acd.Agent{
				ID:     acd.AgentID(fmt.Sprintf("a%05d", len(agents))),
				State:  acd.Ready,
				Skills: g.Skills,
				Queues: queues,
			})
		}
	}
	index := make(map[acd.AgentID]int, len(agents))
	for i, a := range agents {
		index[a.ID] = i
	}
	pool := acd.NewPool(agents...)
	line := acd.NewLine(cfg.Aging)
	backlog := acd.NewBacklog(agents)
	var contenders []acd.Contender
	// Arrivals of the kinds whose priority has a head start: callers who
	// may join after a caller and still go ahead of it (the live ACD's
	// estimate foresees them the same way).
	arrivals := make([]*acd.ArrivalRate, len(mix))
	for k, m := range mix {
		if cfg.Aging.HeadStart[m.Priority] > 0 {
			arrivals[k] = &acd.ArrivalRate{}
		}
	}
	var joiners []acd.Joiner
	// onDuty[k]: agents who may take a call of kind k (all are on duty).
	onDuty := make([]int, len(mix))
	for k := range mix {
		for _, a := range agents {
			if acd.Eligible(&acd.Agent{State: acd.Ready, Queues: a.Queues, Skills: a.Skills}, &alts[k][0]) {
				onDuty[k]++
			}
		}
	}
	calls := make([]call, 0, cfg.Calls)
	busyFor := make([]float64, len(agents)) // busy time of the call in hand
	servedAt := make([]int, len(agents))    // its call index

	var (
		q             events
		now           float64
		busy          int
		busyArea      float64 // busy agent-seconds in the window
		windowStart   = -1.0
		windowEnd     = math.Inf(1)
		res           Result
		waitSum       float64
		ests          []float64
		queueOnly     []float64
		naive         []float64
		long, longN   []float64
		longQ         []float64
		longL         []float64
		announced     []float64
		announcedLong []float64
		longForeseen  []float64
		sumEst        float64
		sumAct        float64
		misrouted     error
		byPri         = map[int]*classAcc{}
	)
	class := func(p int) *classAcc {
		c := byPri[p]
		if c == nil {
			c = &classAcc{}
			byPri[p] = c
		}
		return c
	}
	advance := func(t float64) {
		if windowStart >= 0 {
			from, to := max(now, windowStart), min(t, windowEnd)
			if to > from {
				busyArea += float64(busy) * (to - from)
			}
		}
		now = t
	}
	counted := func(i int) bool { return i >= warmup }

	// serve puts agent ag on call e (which the caller has taken out of
	// line, or which never joined it).
	serve := func(e *acd.Entry, ag *acd.Agent) {
		if req := e.Req; !acd.Eligible(ag, &req) && misrouted == nil {
			misrouted = fmt.Errorf("sim: call %s went to agent %s, who may not take it", e.Call, ag.ID)
		}
		ci := e.Tag
		c := &calls[ci]
		c.waiting = false
		for i := range line.Len() {
			if y := &calls[line.At(i).Tag]; y.arrived < c.arrived {
				y.overtaken++
			}
		}
		wait := now - c.arrived
		ewts[e.Req.Queue].Left(time.Duration(wait*float64(time.Second)), false)
		ai := index[ag.ID]
		d := handle(ahtOf(mix[c.kind]).Seconds())
		ag.State, ag.Call = acd.OnCall, e.Call
		ag.CallsToday++
		ag.TalkToday += time.Duration(d * float64(time.Second))
		pool.Update(ag)
		busy++
		busyFor[ai], servedAt[ai] = d+cfg.WrapUp.Seconds(), ci
		heap.Push(&q, event{at: now + busyFor[ai], kind: finish, i: ai})
		if counted(ci) {
			res.Answered++
			waitSum += wait
			cl := class(e.Priority)
			cl.answered++
			cl.wait += wait
			if wait <= within.Seconds()+1e-9 {
				res.ServiceLevel++
			}
			if c.estimate >= 0 && wait > 0 {
				ests = append(ests, math.Abs(c.estimate-wait)/wait)
				queueOnly = append(queueOnly, math.Abs(c.queueOnly-wait)/wait)
				naive = append(naive, math.Abs(c.naive-wait)/wait)
				sumEst += c.estimate
				sumAct += wait
				for _, h := range c.heard {
					if rest := now - h.at; rest > 0 {
						announced = append(announced, math.Abs(h.estimate-rest)/rest)
						if h.ahead >= 10 {
							announcedLong = append(announcedLong, math.Abs(h.estimate-rest)/rest)
						}
					}
				}
				if c.ahead >= 10 && math.Abs(float64(c.overtaken)-c.foreseen) <= 1 {
					longForeseen = append(longForeseen, math.Abs(c.estimate-wait)/wait)
				}
				if c.ahead >= 10 {
					long = append(long, math.Abs(c.estimate-wait)/wait)
					longQ = append(longQ, math.Abs(c.queueOnly-wait)/wait)
					longN = append(longN, math.Abs(c.naive-wait)/wait)
					longL = append(longL, math.Abs(c.inLine-wait)/wait)
				}
			}
		}
	}

	// estimate is the expected wait the live ACD gives a waiting call
	// now (Estimate): every call ahead, on the agents who may take it,
	// and the callers foreseen to join ahead of it; inLine is the same
	// without those; ahead the calls effectively ahead
	// (acd.Backlog.Ahead); own the calls ahead in its own queue, for the
	// estimates that count only those.
	estimate := func(c *call) (est, inLine, ahead, foreseen float64, own int) {
		m := mix[c.kind]
		pos := line.Position(&c.entry)
		contenders = contenders[:0]
		for i := range pos {
			x := &calls[line.At(i).Tag]
			contenders = append(contenders, acd.Contender{Alts: alts[x.kind], Handle: ewts[mix[x.kind].Queue].Handle()})
			if mix[x.kind].Queue == m.Queue {
				own++
			}
		}
		joiners = joiners[:0]
		for k, r := range arrivals {
			if r == nil {
				continue
			}
			if j, ok := r.Joiner(cfg.Aging, mix[k].Priority, at(now), m.Priority, c.entry.EnqueuedAt, ewts[mix[k].Queue].Handle()); ok {
				joiners = append(joiners, j)
			}
		}
		e := ewts[m.Queue]
		self := acd.Contender{Alts: alts[c.kind], Handle: e.Handle()}
		inLine = backlog.Estimate(self, contenders, e.AbandonRate()).Seconds()
		est = inLine
		if len(joiners) > 0 {
			est = backlog.EstimateJoining(self, contenders, e.AbandonRate(), joiners).Seconds()
			for _, j := range joiners {
				foreseen += j.Rate * min(j.Window.Seconds(), est)
			}
		}
		return est, inLine, backlog.Ahead(), foreseen, own
	}

	heap.Push(&q, event{at: rng.ExpFloat64() / cfg.Rate, kind: arrival})
	step := max(cfg.Calls/100, 1)
	for q.Len() > 0 {
		ev := heap.Pop(&q).(event)
		advance(ev.at)
		switch ev.kind {
		case arrival:
			ci := len(calls)
			if ci == warmup {
				windowStart = now
			}
			pick, kind := rng.Float64()*totalWeight, 0
			for k, t := range mix {
				if pick < t.Weight {
					kind = k
					break
				}
				pick -= t.Weight
			}
			m := mix[kind]
			calls = append(calls, call{kind: kind, arrived: now, waiting: true, estimate: -1})
			c := &calls[ci]
			c.entry = acd.Entry{Call: acd.CallID(fmt.Sprint("c", ci)), Priority: m.Priority, EnqueuedAt: at(now), Req: alts[kind][0], Tag: ci}
			if counted(ci) {
				res.Offered++
				class(m.Priority).offered++
			}
			if arrivals[kind] != nil {
				arrivals[kind].Add(at(now), alts[kind])
			}
			// The two routing decisions (see acd.Route): a call arriving
			// gets the agent the router picks, or joins the line.
			req := c.entry.Req
			req.Now = at(now)
			if ag := router.Pick(req, pool); ag != nil {
				serve(&c.entry, ag)
			} else {
				line.Add(&c.entry)
				var own int
				c.estimate, c.inLine, c.ahead, c.foreseen, own = estimate(c)
				e := ewts[m.Queue]
				c.queueOnly = e.Estimate(own, onDuty[kind], 0).Seconds()
				c.naive = e.NaiveEstimate(own, onDuty[kind], 0).Seconds()
				if every > 0 {
					heap.Push(&q, event{at: now + every, kind: announce, i: ci})
				}
				if cfg.Patience > 0 {
					heap.Push(&q, event{at: now + rng.ExpFloat64()*cfg.Patience.Seconds(), kind: abandon, i: ci})
				}
			}
			if n := len(calls); n < cfg.Calls {
				heap.Push(&q, event{at: now + rng.ExpFloat64()/cfg.Rate, kind: arrival})
			} else {
				windowEnd = now
			}
			if cfg.Progress != nil && (len(calls)%step == 0 || len(calls) == cfg.Calls) {
				cfg.Progress(len(calls), cfg.Calls)
			}
		case announce:
			c := &calls[ev.i]
			if !c.waiting {
				continue
			}
			est, _, ahead, _, _ := estimate(c)
			c.heard = append(c.heard, heard{at: now, estimate: est, ahead: ahead})
			heap.Push(&q, event{at: now + every, kind: announce, i: ev.i})
		case abandon:
			c := &calls[ev.i]
			if !c.waiting {
				continue
			}
			c.waiting = false
			line.Remove(&c.entry)
			ewts[c.entry.Req.Queue].Left(time.Duration((now-c.arrived)*float64(time.Second)), true)
			if counted(ev.i) {
				res.Abandoned++
			}
		case finish:
			ag := agents[ev.i]
			ewts[calls[servedAt[ev.i]].entry.Req.Queue].Handled(time.Duration(busyFor[ev.i] * float64(time.Second)))
			ag.State, ag.Call, ag.IdleSince = acd.Ready, "", at(now)
			pool.Update(ag)
			busy--
			// An agent becoming READY takes the first call in line it may.
			if e := line.NextFor(ag); e != nil {
				line.Remove(e)
				serve(e, ag)
			}
		}
	}

	if misrouted != nil {
		return Result{}, misrouted
	}
	res.Simulated = time.Duration(now * float64(time.Second))
	res.ByPriority = map[int]Class{}
	for p, c := range byPri {
		cl := Class{Offered: c.offered, Answered: c.answered}
		if c.answered > 0 {
			cl.ASA = time.Duration(c.wait / float64(c.answered) * float64(time.Second))
		}
		res.ByPriority[p] = cl
	}
	if res.Offered > 0 {
		res.ServiceLevel /= float64(res.Offered)
		res.AbandonRate = float64(res.Abandoned) / float64(res.Offered)
	}
	if res.Answered > 0 {
		res.ASA = time.Duration(waitSum / float64(res.Answered) * float64(time.Second))
	}
	if span := windowEnd - windowStart; windowStart >= 0 && span > 0 {
		res.Occupancy = busyArea / (span * float64(len(agents)))
	}
	res.EWT = EWTStats{
		Samples: len(ests), MedianRelErr: median(ests), QueueOnlyRelErr: median(queueOnly), NaiveRelErr: median(naive),
		Long: len(long), LongRelErr: median(long), LongQueueOnlyErr: median(longQ), LongNaiveErr: median(longN), LongInLineErr: median(longL),
		Announced: len(announced), AnnouncedRelErr: median(announced),
		AnnouncedLong: len(announcedLong), AnnouncedLongRelErr: median(announcedLong),
		LongForeseen: len(longForeseen), LongForeseenErr: median(longForeseen),
	}
	if len(ests) > 0 {
		res.EWT.MeanEstimate = time.Duration(sumEst / float64(len(ests)) * float64(time.Second))
		res.EWT.MeanActualEWT = time.Duration(sumAct / float64(len(ests)) * float64(time.Second))
	}
	return res, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 1 {
		return xs[n/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}
