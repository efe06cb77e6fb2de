package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/hotline-cc/hotline/controller/ivr"
)

// ErrStepLimit is wrapped by the RunError of a flow that ran too many
// nodes without a caller key in between (a loop without input).
var ErrStepLimit = errors.New("step limit reached without caller input")

// RunError is a flow failing at run time (an expression error, the step
// limit). The Result that comes with it sends the caller to an agent.
type RunError struct {
	Node string
	Err  error
}

func (e *RunError) Error() string { return "flow: node " + e.Node + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *RunError) Unwrap() error { return e.Err }

// Defaults of Env.
const (
	DefaultMaxSteps = 1000
	maxTotalSteps   = 100000
	maxPending      = 32
	maxFrames       = 16
)

type frame struct {
	f    *Flow
	vars map[string]any
	call *Node // the flow node that called it; nil for the main flow
}

type runner struct {
	prog *Program
	s    Session
	env  Env
	call Call
	lang string

	frames    []frame
	pending   []byte // keys typed ahead during prompts
	idle      time.Duration
	served    bool
	quiet     int
	emergency bool   // the emergency check has run
	skipTerm  string // a terminator to drop if it is the next key
	retNode   *Node  // the flow node a sub-flow last returned to
	res       Result
	vm        vm.VM
}

// Run runs the program on a session until the call leaves the IVR. The
// error is ivr.ErrHungUp when the caller hung up (the Result says whether
// they had been served), the context's error when ctx ended, a *RunError
// when the flow failed (the Result sends the caller to an agent), or a
// session error.
func (p *Program) Run(ctx context.Context, s Session, call Call, env Env) (Result, error) {
	r := &runner{prog: p, s: s, env: env, call: call, lang: call.Lang}
	if r.lang == "" {
		r.lang = p.Main.Lang
	}
	if r.env.Now == nil {
		r.env.Now = time.Now
	}
	if r.env.MaxSteps <= 0 {
		r.env.MaxSteps = DefaultMaxSteps
	}
	r.vm.MemoryBudget = exprMemBudget
	r.push(p.Main, nil)
	cur := p.Main.Start
	for {
		if err := ctx.Err(); err != nil {
			return r.finish(r.leftOutcome(), r.nodeName(cur)), err
		}
		r.res.Steps++
		r.quiet++
		if r.quiet > r.env.MaxSteps || r.res.Steps > maxTotalSteps {
			return r.fail(cur, fmt.Errorf("%w (%d nodes)", ErrStepLimit, r.quiet))
		}
		n := r.top().f.Nodes[cur]
		if n.Served {
			r.served = true
		}
		st, err := r.exec(ctx, n)
		if errors.Is(err, errDone) {
			return r.res, nil
		}
		if err != nil {
			var re *RunError
			if errors.As(err, &re) {
				return r.fail(cur, re.Err)
			}
			return r.finish(r.leftOutcome(), r.nodeName(cur)), err
		}
		// Follow built-in targets: they end the run, or return from a
		// sub-flow to the calling node's next.
		name := r.nodeName(cur)
		for st.t.node < 0 {
			done, next, err := r.builtin(ctx, name, st)
			if done || err != nil {
				return r.res, err
			}
			st, name = next, r.qualify(r.retNode.ID)
		}
		cur = st.t.node
	}
}

// step is where a node leads: a target, and whether it was reached by
// the caller not pressing anything.
type step struct {
	t       Target
	noInput bool
}

func (r *runner) top() *frame { return &r.frames[len(r.frames)-1] }

func (r *runner) push(f *Flow, call *Node) {
	vars := make(map[string]any, len(f.Vars)+4)
	vars[VarCaller] = r.call.Caller
	vars[VarService] = r.call.Service
	vars[VarLang] = r.lang
	vars[VarNow] = time.Time{}
	for _, d := range f.Vars {
		switch {
		case d.Type == TypeLookup:
			m := make(map[string]any, len(d.Fields)+1)
			m["found"] = false
			for _, c := range d.Fields {
				m[c.Name] = c.Type.zero()
			}
			vars[d.Name] = m
		case d.Init != nil:
			vars[d.Name] = d.Init
		default:
			vars[d.Name] = d.Type.zero()
		}
	}
	r.frames = append(r.frames, frame{f: f, vars: vars, call: call})
}

func (r *runner) nodeName(i int) string {
	fr := r.top()
	id := "?"
	if i >= 0 && i < len(fr.f.Nodes) {
		id = fr.f.Nodes[i].ID
	}
	return r.qualify(id)
}

// qualify names a node for the trail: "id" in the main flow, "flow.id"
// in a sub-flow.
func (r *runner) qualify(id string) string {
	if len(r.frames) <= 1 {
		return id
	}
	return r.top().f.Name + "." + id
}

func (r *runner) leftOutcome() ivr.Outcome {
	if r.served {
		return ivr.Contained
	}
	return ivr.Abandoned
}

// finish records the outcome and the variables of every open frame.
func (r *runner) finish(o ivr.Outcome, node string) Result {
	r.res.Outcome = o
	r.res.OutcomeName = o.String()
	r.res.Node = node
	for i := len(r.frames) - 1; i >= 0; i-- {
		r.saveVars(&r.frames[i], i == 0)
	}
	return r.res
}

func (r *runner) saveVars(fr *frame, main bool) {
	prefix := ""
	if !main {
		prefix = fr.f.Name + "."
	}
	for _, d := range fr.f.Vars {
		v := fr.vars[d.Name]
		if r.res.Vars == nil {
			r.res.Vars = map[string]string{}
		}
		if m, ok := v.(map[string]any); ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				r.res.Vars[prefix+d.Name+"."+k] = formatValue(m[k])
			}
			continue
		}
		r.res.Vars[prefix+d.Name] = formatValue(v)
	}
}

// formatValue prints a variable's value for the trail and the result;
// secrets print redacted.
func formatValue(v any) string {
	switch x := v.(type) {
	case Secret:
		return Redacted
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

func (r *runner) fail(cur int, err error) (Result, error) {
	name := r.nodeName(cur)
	r.s.Trail(name, "error", err.Error())
	r.logWarn("ivr flow failed; caller goes to an agent", "node", name, "err", err)
	res := r.finish(ivr.ToAgent, name)
	if res.Queue == nil {
		q := r.top().f.Agent
		res.Queue = &q
		r.res.Queue = res.Queue
	}
	return res, &RunError{Node: name, Err: err}
}

func (r *runner) logWarn(msg string, args ...any) {
	if r.env.Log != nil {
		r.env.Log.Warn(msg, args...)
		return
	}
	slog.Default().Warn(msg, args...)
}

// builtin follows a built-in target from node cur. done means the run
// ended; otherwise next is where to continue (a return into the calling
// flow).
func (r *runner) builtin(ctx context.Context, name string, st step) (done bool, next step, err error) {
	rules := r.top().f.Rules
	switch st.t.Name {
	case TargetAgent:
		r.s.Trail(name, "agent", "to an agent")
		q := r.top().f.Agent
		r.res.Queue = &q
		r.finish(ivr.ToAgent, name)
		return true, step{}, nil
	case TargetRelease:
		o := ivr.Released
		switch {
		case r.served:
			// Served, then let go (no more keys): self-service did its job.
			o = ivr.Contained
		case st.noInput:
			o = ivr.ReleasedNoInput
		}
		_, perr := r.s.Play(ctx, "goodbye", prompt(rules.Goodbye))
		r.finish(o, name)
		if perr != nil && !errors.Is(perr, ivr.ErrHungUp) {
			return true, step{}, perr
		}
		return true, step{}, nil
	case TargetEnd:
		r.s.Trail(name, "end", "served")
		r.finish(ivr.Contained, name)
		return true, step{}, nil
	case TargetReturn:
		if len(r.frames) == 1 {
			r.s.Trail(name, "end", "served")
			r.finish(ivr.Contained, name)
			return true, step{}, nil
		}
		fr := r.top()
		r.s.Trail(name, "flow", "return from "+fr.f.Name)
		r.saveVars(fr, false)
		call := fr.call
		r.frames = r.frames[:len(r.frames)-1]
		r.retNode = call
		return false, step{t: call.Next}, nil
	}
	return true, step{}, &RunError{Node: name, Err: fmt.Errorf("unexpected target %q", st.t.Name)}
}

// exec runs one node.
func (r *runner) exec(ctx context.Context, n *Node) (step, error) {
	name := r.qualify(n.ID)
	switch n.Kind {
	case KindPlay:
		return r.execPlay(ctx, n, name)
	case KindMenu:
		return r.execMenu(ctx, n, name)
	case KindCollect:
		return r.execCollect(ctx, n, name)
	case KindSurvey:
		return r.execSurvey(ctx, n, name)
	case KindLookup:
		return r.execLookup(ctx, n, name)
	case KindCondition:
		for i, b := range n.When {
			v, err := r.eval(b.If, name)
			if err != nil {
				return step{}, err
			}
			if ok, _ := v.(bool); ok {
				r.s.Trail(name, "condition", fmt.Sprintf("when[%d] → %s", i, b.To.Name))
				return step{t: b.To}, nil
			}
		}
		r.s.Trail(name, "condition", "else → "+n.Else.Name)
		return step{t: n.Else}, nil
	case KindSet:
		parts := make([]string, 0, len(n.Set))
		for _, a := range n.Set {
			v, err := r.eval(a.Value, name)
			if err != nil {
				return step{}, err
			}
			if a.Var == VarLang {
				s, _ := v.(string)
				r.lang = s
			}
			r.top().vars[a.Var] = v
			parts = append(parts, a.Var+"="+formatValue(v))
		}
		r.s.Trail(name, "set", strings.Join(parts, ", "))
		return step{t: n.Next}, nil
	case KindGoto:
		return step{t: n.Next}, nil
	case KindQueue:
		q := QueueTarget{Service: n.Service, Skills: n.Skills}
		if n.Priority != nil {
			v, err := r.eval(n.Priority, name)
			if err != nil {
				return step{}, err
			}
			q.Priority, _ = v.(int)
		}
		r.res.Queue = &q
		r.s.Trail(name, "queue", describeQueue(q))
		r.finish(ivr.ToAgent, name)
		return step{}, errDone
	case KindTransfer:
		return r.execTransfer(ctx, n, name)
	case KindRecord:
		if len(n.Say) > 0 {
			if _, err := r.s.Play(ctx, name, r.render(n.Say, name)...); err != nil {
				return step{}, err
			}
		}
		ref, err := r.s.Record(ctx, name, n.MaxRecord)
		if err != nil {
			return step{}, err
		}
		r.res.Voicemail = ref
		if n.Into != "" {
			r.top().vars[n.Into] = ref
		}
		r.served = true
		r.s.Trail(name, "record", "message "+ref)
		return step{t: n.Next}, nil
	case KindHangup:
		if len(n.Say) > 0 {
			if _, err := r.s.Play(ctx, name, r.render(n.Say, name)...); err != nil && !errors.Is(err, ivr.ErrHungUp) {
				return step{}, err
			}
		}
		o := ivr.Contained
		if n.Outcome == "released" {
			o = ivr.Released
		} else {
			r.served = true
		}
		r.s.Trail(name, "end", o.String())
		r.finish(o, name)
		return step{}, errDone
	case KindFlow:
		if len(r.frames) >= maxFrames || n.sub == nil {
			return step{}, &RunError{Node: name, Err: fmt.Errorf("sub-flow %s cannot run (depth %d)", n.Flow, len(r.frames))}
		}
		r.s.Trail(name, "flow", "→ "+n.Flow)
		r.push(n.sub, n)
		return step{t: Target{Name: n.sub.Nodes[n.sub.Start].ID, node: n.sub.Start}}, nil
	case KindNotice:
		return r.execNotice(ctx, n, name)
	}
	return step{}, &RunError{Node: name, Err: fmt.Errorf("unknown node kind %q", n.Kind)}
}

// errDone ends a run whose result is already recorded.
var errDone = errors.New("done")

func describeQueue(q QueueTarget) string {
	var b strings.Builder
	if q.Service == "" {
		b.WriteString("service queue")
	} else {
		b.WriteString(q.Service)
	}
	for i, s := range q.Skills {
		if i == 0 {
			b.WriteString(" skills ")
		} else {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%s:%d", s.Name, s.Level)
	}
	fmt.Fprintf(&b, " priority %d", q.Priority)
	return b.String()
}

// eval evaluates an expression in the current frame.
func (r *runner) eval(e *Expr, node string) (any, error) {
	if e == nil || e.prog == nil {
		return nil, &RunError{Node: node, Err: errors.New("expression was not compiled")}
	}
	vars := r.top().vars
	vars[VarNow] = r.env.Now()
	vars[VarLang] = r.lang
	v, err := r.vm.Run(e.prog, vars)
	if err != nil {
		msg := err.Error()
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		return nil, &RunError{Node: node, Err: fmt.Errorf("expression %q at %s: %s", e.Src, e.Pos, msg)}
	}
	return v, nil
}

// render turns say items into media. Items whose value cannot be
// evaluated are skipped (and logged): a prompt plays even when one number
// in it failed.
func (r *runner) render(items []SayItem, node string) []string {
	m := make([]string, 0, len(items)+4)
	for _, it := range items {
		if it.Kind == SayPrompt {
			m = append(m, prompt(it.Prompt))
			continue
		}
		v, err := r.eval(it.Expr, node)
		if err != nil {
			r.logWarn("ivr say item skipped", "node", node, "err", err)
			continue
		}
		switch it.Kind {
		case SayNumber:
			n, _ := v.(int)
			m = sayNumber(m, int64(n), r.lang)
		case SayMoney:
			n, _ := v.(int)
			m = sayMoney(m, int64(n), r.lang)
		case SayDigits:
			m = sayDigits(m, formatValue(v), r.lang)
		case SayDate:
			var t time.Time
			switch x := v.(type) {
			case time.Time:
				t = x
			case string:
				var err error
				if t, err = time.Parse("2006-01-02", x); err != nil {
					r.logWarn("ivr say date skipped: want YYYY-MM-DD", "node", node, "value", x)
					continue
				}
			}
			m = sayDate(m, t, r.lang)
		}
	}
	return m
}

// keyed notes a caller key: the no-input and step counters restart.
func (r *runner) keyed() {
	r.idle = 0
	r.quiet = 0
}

func (r *runner) takeKey() string {
	for len(r.pending) > 0 {
		k := string(r.pending[0])
		r.pending = r.pending[1:]
		if k = r.filter(k); k != "" {
			return k
		}
	}
	return ""
}

// filter drops the terminator a caller presses after an entry that was
// already complete (max digits): it is the first key after that entry.
func (r *runner) filter(k string) string {
	if r.skipTerm == "" || k == "" {
		return k
	}
	t := r.skipTerm
	r.skipTerm = ""
	if k == t {
		return ""
	}
	return k
}

// play plays media; a key stops it (see filter).
func (r *runner) play(ctx context.Context, name string, media ...string) (string, error) {
	k, err := r.s.Play(ctx, name, media...)
	return r.filter(k), err
}

// waitKey waits up to d for a key (see filter; a dropped key does not end
// the wait).
func (r *runner) waitKey(ctx context.Context, name string, d time.Duration) (string, error) {
	for {
		k, err := r.s.WaitKey(ctx, name, d)
		if err != nil || k == "" {
			return k, err
		}
		if k = r.filter(k); k != "" {
			return k, nil
		}
	}
}

func (r *runner) zeroOut(n *Node, key string) bool {
	z := r.top().f.Rules.ZeroOut
	return n.ZeroOut && z != "" && key == z
}

func (r *runner) toAgent(name, why string) step {
	r.s.Trail(name, "choice", "agent ("+why+")")
	return step{t: Target{Name: TargetAgent, node: -1}}
}

// wait waits for a key for at most d, within the no-input rule. noInput
// reports that the rule's time is used up.
func (r *runner) wait(ctx context.Context, name string, d time.Duration) (key string, noInput bool, err error) {
	rules := r.top().f.Rules
	if left := rules.NoInput - r.idle; left < d {
		d = left
	}
	if d <= 0 {
		return "", true, nil
	}
	key, err = r.waitKey(ctx, name, d)
	if err != nil || key != "" {
		return key, false, err
	}
	r.idle += d
	return "", r.idle >= rules.NoInput, nil
}

// noInput ends a node by the built-in no-input rule.
func (r *runner) noInput(name string) step {
	r.s.Trail(name, "timeout", "no key for "+r.top().f.Rules.NoInput.String())
	return step{t: Target{Name: TargetRelease, node: -1}, noInput: true}
}

func (r *runner) execPlay(ctx context.Context, n *Node, name string) (step, error) {
	media := r.render(n.Say, name)
	if !n.Interrupt {
		return step{t: n.Next}, r.s.PlayAll(ctx, name, media...)
	}
	if len(r.pending) > 0 {
		r.s.Trail(name, "skip", "keys typed ahead")
		return step{t: n.Next}, nil
	}
	key, err := r.play(ctx, name, media...)
	if err != nil {
		return step{}, err
	}
	if key != "" {
		r.keyed()
		if r.zeroOut(n, key) {
			return r.toAgent(name, "zero-out"), nil
		}
		r.pending = append(r.pending, key[0])
	}
	return step{t: n.Next}, nil
}

// emergencyFirst plays active emergency notices before the call's first
// menu, when the flow's rules ask for it.
func (r *runner) emergencyFirst(ctx context.Context, name string) error {
	if r.emergency {
		return nil
	}
	r.emergency = true
	if !r.top().f.Rules.Emergency || r.env.Notices == nil {
		return nil
	}
	ns, err := r.env.Notices.Active(ctx, NoticeQuery{Kinds: []string{NoticeEmergency}, Caller: r.call.Caller, At: r.env.Now()})
	if err != nil {
		r.logWarn("ivr notices unavailable", "err", err)
		r.s.Trail(name, "notice", "notices unavailable")
		return nil
	}
	for _, nt := range ns {
		if nt.Kind != NoticeEmergency || !strings.HasPrefix(nt.Prompt, "sound:") {
			continue
		}
		r.s.Trail(name, "notice", fmt.Sprintf("emergency #%d", nt.ID))
		if err := r.s.PlayAll(ctx, name, nt.Prompt); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) execMenu(ctx context.Context, n *Node, name string) (step, error) {
	if err := r.emergencyFirst(ctx, name); err != nil {
		return step{}, err
	}
	return r.keyLoop(ctx, n, name, func(key string) (step, bool) {
		for _, o := range n.Options {
			if o.Key == key {
				r.s.Trail(name, "choice", key+" → "+o.To.Name)
				return step{t: o.To}, true
			}
		}
		return step{}, false
	})
}

func (r *runner) execSurvey(ctx context.Context, n *Node, name string) (step, error) {
	return r.keyLoop(ctx, n, name, func(key string) (step, bool) {
		if len(key) != 1 || key[0] < '0' || key[0] > '9' {
			return step{}, false
		}
		score := int(key[0] - '0')
		if score < n.Min || score > n.Max {
			return step{}, false
		}
		r.res.SurveyScore = score
		if n.Into != "" {
			r.top().vars[n.Into] = score
		}
		r.served = true
		r.s.Trail(name, "survey", "score "+key)
		return step{t: n.Next}, true
	})
}

// keyLoop is what a menu and a survey share: play say (unless a key was
// typed ahead), wait for one key (on_timeout, or say again on repeat),
// zero-out to an agent, and hand the key to accept. A key accept does
// not take is invalid: invalid_say, and after max_invalid of them
// on_max_invalid.
func (r *runner) keyLoop(ctx context.Context, n *Node, name string, accept func(key string) (step, bool)) (step, error) {
	invalid := 0
	key := r.takeKey()
	ask := key == ""
	var err error
	for {
		if key == "" && ask {
			if key, err = r.play(ctx, name, r.render(n.Say, name)...); err != nil {
				return step{}, err
			}
			ask = false
		}
		if key == "" {
			var out bool
			if key, out, err = r.wait(ctx, name, n.Timeout); err != nil {
				return step{}, err
			}
			if out {
				return r.noInput(name), nil
			}
			if key == "" {
				r.s.Trail(name, "timeout", "no key for "+n.Timeout.String())
				if n.OnTimeout.Name == TargetRepeat {
					ask = true
					continue
				}
				return step{t: n.OnTimeout, noInput: true}, nil
			}
		}
		r.keyed()
		if r.zeroOut(n, key) {
			return r.toAgent(name, "zero-out"), nil
		}
		if st, ok := accept(key); ok {
			return st, nil
		}
		invalid++
		r.s.Trail(name, "invalid", fmt.Sprintf("key %s (%d of %d)", key, invalid, n.MaxInvalid))
		if invalid >= n.MaxInvalid {
			r.s.Trail(name, "choice", n.OnMaxInvalid.Name+" after invalid keys")
			return step{t: n.OnMaxInvalid}, nil
		}
		r.pending = r.pending[:0]
		if key, err = r.play(ctx, name, r.render(n.InvalidSay, name)...); err != nil {
			return step{}, err
		}
		ask = true
	}
}

func (r *runner) execCollect(ctx context.Context, n *Node, name string) (st step, err error) {
	if n.Secret {
		// Keys typed ahead were keyed before secret mode: they are not
		// used for a secret.
		r.pending = r.pending[:0]
		if err := r.s.Secret(ctx, true); err != nil {
			return step{}, err
		}
		defer func() {
			if oerr := r.s.Secret(context.WithoutCancel(ctx), false); oerr != nil && err == nil {
				err = oerr
			}
		}()
	}
	var buf [32]byte
	invalid := 0
	ask := len(r.pending) == 0
	for {
		digits := buf[:0]
		key := r.takeKey()
		if key == "" && ask {
			if key, err = r.play(ctx, name, r.render(n.Say, name)...); err != nil {
				return step{}, err
			}
		}
		if key == "" {
			var out bool
			if key, out, err = r.wait(ctx, name, n.Timeout); err != nil {
				return step{}, err
			}
			if out {
				return r.noInput(name), nil
			}
			if key == "" {
				r.s.Trail(name, "timeout", "no key for "+n.Timeout.String())
				if n.OnTimeout.Name == TargetRepeat {
					ask = true
					continue
				}
				return step{t: n.OnTimeout, noInput: true}, nil
			}
		}
		r.keyed()
		for key != "" {
			if key == n.Terminator {
				break
			}
			if len(digits) < cap(digits) {
				digits = append(digits, key[0])
			}
			if len(digits) >= n.Max {
				r.skipTerm = n.Terminator
				break
			}
			if key = r.takeKey(); key == "" {
				if key, err = r.waitKey(ctx, name, n.InterDigit); err != nil {
					return step{}, err
				}
			}
		}
		if z := r.top().f.Rules.ZeroOut; n.ZeroOut && z != "" && n.Min > 1 && string(digits) == z {
			return r.toAgent(name, "zero-out"), nil
		}
		ok, why, err := r.checkEntry(n, name, digits)
		if err != nil {
			return step{}, err
		}
		if ok {
			val := string(digits)
			if n.Secret {
				r.top().vars[n.Into] = Secret{v: val}
				r.s.Trail(name, "collected", fmt.Sprintf("%d digits", len(digits)))
			} else {
				r.top().vars[n.Into] = val
				r.s.Trail(name, "collected", fmt.Sprintf("%s (%d digits)", val, len(digits)))
			}
			return step{t: n.Next}, nil
		}
		invalid++
		r.s.Trail(name, "invalid", fmt.Sprintf("%s (%d of %d)", why, invalid, n.MaxInvalid))
		if invalid >= n.MaxInvalid {
			r.s.Trail(name, "choice", n.OnMaxInvalid.Name+" after invalid entries")
			return step{t: n.OnMaxInvalid}, nil
		}
		r.pending = r.pending[:0]
		k, err := r.play(ctx, name, r.render(n.InvalidSay, name)...)
		if err != nil {
			return step{}, err
		}
		if k != "" {
			r.pending = append(r.pending, k[0])
		}
		ask = true
	}
}

// checkEntry checks collected digits: count, digits only, then the node's
// validate expression. why never contains the digits.
func (r *runner) checkEntry(n *Node, name string, digits []byte) (ok bool, why string, err error) {
	if len(digits) < n.Min || len(digits) > n.Max {
		return false, fmt.Sprintf("%d digits, want %d to %d", len(digits), n.Min, n.Max), nil
	}
	for _, d := range digits {
		if d < '0' || d > '9' {
			return false, "not only digits", nil
		}
	}
	if n.Validate == nil {
		return true, "", nil
	}
	vars := r.top().vars
	if n.Secret {
		vars[varValue] = Secret{v: string(digits)}
	} else {
		vars[varValue] = string(digits)
	}
	v, err := r.eval(n.Validate, name)
	delete(vars, varValue)
	if err != nil {
		return false, "", err
	}
	if b, _ := v.(bool); !b {
		return false, "rejected by validate", nil
	}
	return true, "", nil
}

func (r *runner) execLookup(ctx context.Context, n *Node, name string) (step, error) {
	req := LookupRequest{Query: n.Query, Fields: n.Fields}
	if n.Query != nil {
		req.Name = n.Query.Name
		req.Args = make([]any, len(n.Args))
		for i, a := range n.Args {
			v, err := r.eval(a.Value, name)
			if err != nil {
				return step{}, err
			}
			req.Args[i] = v
		}
	} else {
		req.Name = n.HTTP.Name()
		q := url.Values{}
		for _, a := range n.HTTP.Params {
			v, err := r.eval(a.Value, name)
			if err != nil {
				return step{}, err
			}
			q.Set(a.Name, formatValue(v))
		}
		req.URL, req.Endpoint = n.HTTP.URL, n.HTTP.Endpoint
		if req.Endpoint != "" {
			req.URL = n.HTTP.Path
		}
		if len(q) > 0 {
			req.URL += "?" + q.Encode()
		}
	}
	if r.env.Lookups == nil {
		r.s.Trail(name, "lookup", req.Name+": failed: no lookups configured")
		return step{t: n.OnError}, nil
	}
	lctx, cancel := context.WithTimeout(ctx, n.LookupTimeout)
	row, err := r.env.Lookups.Lookup(lctx, req)
	cancel()
	if err == nil {
		err = conform(&row, n.Fields)
	}
	if err != nil {
		if ctx.Err() != nil {
			return step{}, ctx.Err()
		}
		r.logWarn("ivr lookup failed", "node", name, "lookup", req.Name, "err", err)
		r.s.Trail(name, "lookup", req.Name+": failed")
		return step{t: n.OnError}, nil
	}
	m := make(map[string]any, len(n.Fields)+1)
	m["found"] = row.Found
	for _, f := range n.Fields {
		m[f.Name] = row.Values[f.Name]
	}
	r.top().vars[n.Into] = m
	if row.Found {
		r.s.Trail(name, "lookup", req.Name+": found")
	} else {
		r.s.Trail(name, "lookup", req.Name+": not found")
	}
	return step{t: n.Next}, nil
}

// conform checks a row's values against the declared fields, converting
// what converts (a fixture's 12 for a float), zero-filling what a
// not-found row lacks.
func conform(row *Row, fields []Column) error {
	if row.Values == nil {
		row.Values = map[string]any{}
	}
	for _, f := range fields {
		v, ok := row.Values[f.Name]
		if !ok {
			if row.Found {
				return fmt.Errorf("result has no field %s", f.Name)
			}
			row.Values[f.Name] = f.Type.zero()
			continue
		}
		cv, err := convert(v, f.Type)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		row.Values[f.Name] = cv
	}
	return nil
}

func (r *runner) execTransfer(ctx context.Context, n *Node, name string) (step, error) {
	t := TransferTarget{Service: n.Service}
	if n.Number != nil {
		v, err := r.eval(n.Number, name)
		if err != nil {
			return step{}, err
		}
		s, _ := v.(string)
		if !transferNumberRE.MatchString(s) {
			r.s.Trail(name, "transfer", "refused: not a phone number")
			return step{t: n.OnError}, nil
		}
		t.Number = s
	}
	if len(n.Say) > 0 {
		if _, err := r.s.Play(ctx, name, r.render(n.Say, name)...); err != nil {
			return step{}, err
		}
	}
	r.res.Transfer = &t
	r.s.Trail(name, "transfer", t.Number+t.Service)
	r.finish(ivr.Transferred, name)
	return step{}, errDone
}

func (r *runner) execNotice(ctx context.Context, n *Node, name string) (step, error) {
	if r.env.Notices == nil {
		r.s.Trail(name, "notice", "none")
		return step{t: n.Next}, nil
	}
	q := NoticeQuery{Kinds: n.NoticeKinds, Caller: r.call.Caller, At: r.env.Now()}
	if n.Area != nil {
		v, err := r.eval(n.Area, name)
		if err != nil {
			return step{}, err
		}
		q.Area, _ = v.(string)
	}
	ns, err := r.env.Notices.Active(ctx, q)
	if err != nil {
		if ctx.Err() != nil {
			return step{}, ctx.Err()
		}
		r.logWarn("ivr notices unavailable", "node", name, "err", err)
		r.s.Trail(name, "notice", "notices unavailable")
		return step{t: n.Next}, nil
	}
	played := 0
	for _, nt := range ns {
		if !strings.HasPrefix(nt.Prompt, "sound:") {
			continue
		}
		played++
		r.s.Trail(name, "notice", fmt.Sprintf("%s #%d", nt.Kind, nt.ID))
		if !n.Interrupt {
			if err := r.s.PlayAll(ctx, name, nt.Prompt); err != nil {
				return step{}, err
			}
			continue
		}
		key, err := r.play(ctx, name, nt.Prompt)
		if err != nil {
			return step{}, err
		}
		if key != "" {
			r.keyed()
			if r.zeroOut(n, key) {
				return r.toAgent(name, "zero-out"), nil
			}
			r.pending = append(r.pending, key[0])
			break
		}
	}
	if played == 0 {
		r.s.Trail(name, "notice", "none")
	}
	return step{t: n.Next}, nil
}
