package flow

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/types"
	"gopkg.in/yaml.v3"
)

// Call variables every flow has, besides its own.
const (
	VarCaller  = "caller"  // the calling number
	VarService = "service" // the dialled service number
	VarLang    = "lang"    // "en" or "zh": the language say-* items use
	VarNow     = "now"     // the time (the call's clock)
	varValue   = "value"   // the entered value, in a collect node's validate
)

var reservedVars = []string{VarCaller, VarService, VarLang, VarNow, varValue}

var (
	nodeIDRE   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	serviceRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	flowNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$`)
	keyRE      = regexp.MustCompile(`^[0-9*#]$`)
)

// pendingExpr is an expression to compile once every variable of its
// flow is known.
type pendingExpr struct {
	dst   **Expr
	n     *yaml.Node
	src   string
	want  VarType
	allow []VarType // when want is 0: the accepted types
	extra map[string]VarType
	what  string
	set   string // a set node's variable: the wanted type is its type
}

// pendingTarget is a target to resolve once every node is known.
type pendingTarget struct {
	t           *Target
	repeatOK    bool
	fromTimeout bool
}

// flowParser parses one flow file.
type flowParser struct {
	r       reader
	opts    Options
	f       *Flow
	exprs   []pendingExpr
	targets []pendingTarget
	vars    map[string]*VarDecl
	subRefs []*Node
	sayAt   *yaml.Node // the first say-* item
}

func (p *flowParser) errf(n *yaml.Node, format string, args ...any) { p.r.errf(n, format, args...) }

func (p *flowParser) expr(dst **Expr, n *yaml.Node, want VarType, what string, allow ...VarType) {
	s, ok := p.r.scalar(n, what)
	if !ok {
		return
	}
	*dst = &Expr{Src: s, Pos: p.r.pos(n)}
	p.exprs = append(p.exprs, pendingExpr{dst: dst, n: n, src: s, want: want, allow: allow, what: what})
}

func (p *flowParser) target(t *Target, n *yaml.Node, what string, repeatOK, fromTimeout bool) {
	s, ok := p.r.str(n, what)
	if !ok {
		return
	}
	if s == "" {
		p.errf(n, "%s is empty", what)
		return
	}
	*t = Target{Name: s, Pos: p.r.pos(n), node: -1}
	p.targets = append(p.targets, pendingTarget{t: t, repeatOK: repeatOK, fromTimeout: fromTimeout})
}

// declare adds a variable, reporting a clash with a built-in or with a
// declaration of another type.
func (p *flowParser) declare(n *yaml.Node, d VarDecl) {
	if !identRE.MatchString(d.Name) {
		p.errf(n, "variable name %q: use a-z, 0-9 and '_', starting with a letter", d.Name)
		return
	}
	if contains(reservedVars, d.Name) {
		p.errf(n, "variable %q is built in and cannot be declared", d.Name)
		return
	}
	if old, ok := p.vars[d.Name]; ok {
		if old.Type != d.Type || !slices.Equal(old.Fields, d.Fields) {
			p.errf(n, "variable %s is %s here but %s at %s", d.Name, describeVar(d), describeVar(*old), old.Pos)
		}
		return
	}
	d.Pos = p.r.pos(n)
	p.vars[d.Name] = &d
	p.f.Vars = append(p.f.Vars, d)
}

func describeVar(d VarDecl) string {
	if d.Type != TypeLookup {
		return d.Type.String()
	}
	fs := make([]string, len(d.Fields))
	for i, c := range d.Fields {
		fs[i] = c.Name + " " + c.Type.String()
	}
	return "a lookup result {" + strings.Join(fs, ", ") + "}"
}

var topFields = []string{"flow", "description", "lang", "start", "rules", "agent", "vars", "nodes"}

// parseFlow parses and checks one flow file (sub-flow references are
// left for the loader).
func parseFlow(file, name string, src []byte, opts Options, probs *Problems) (*Flow, *flowParser) {
	p := &flowParser{r: reader{file: file, probs: probs}, opts: opts, vars: map[string]*VarDecl{}}
	p.f = &Flow{Name: name, File: file, Lang: "en", Rules: DefaultRules(), byID: map[string]int{}}
	root := p.r.parseDoc(src)
	if root == nil {
		return nil, p
	}
	if root.Kind != yaml.MappingNode {
		p.errf(root, "a flow file must be a mapping with nodes:, not %s", kindName(root))
		return nil, p
	}
	var startN, nodesN *yaml.Node
	for _, f := range p.r.mapping(root, "flow file", topFields...) {
		switch f.Key {
		case "flow":
			if s, ok := p.r.str(f.Value, "flow"); ok && s != name {
				p.errf(f.Value, "flow: %q does not match the file name (%s)", s, name)
			}
		case "description":
			p.r.str(f.Value, "description")
		case "lang":
			if s, ok := p.r.str(f.Value, "lang"); ok {
				if s != "en" && s != "zh" {
					p.errf(f.Value, "lang: %q is not en or zh", s)
				} else {
					p.f.Lang = s
				}
			}
		case "start":
			startN = f.Value
		case "rules":
			p.parseRules(f.Value)
		case "agent":
			p.parseQueue(f.Value, &p.f.Agent, nil, "agent")
		case "vars":
			p.parseVars(f.Value)
		case "nodes":
			nodesN = f.Value
		}
	}
	if nodesN == nil {
		p.errf(root, "flow has no nodes:")
		return nil, p
	}
	type raw struct {
		n   *Node
		val *yaml.Node
	}
	var raws []raw
	for _, f := range p.r.mapping(nodesN, "nodes") {
		switch {
		case contains(builtinTargets, f.Key):
			p.errf(f.KeyN, "node id %q is a built-in target (%s); choose another", f.Key, strings.Join(builtinTargets, ", "))
			continue
		case !nodeIDRE.MatchString(f.Key):
			p.errf(f.KeyN, "node id %q: use a-z, 0-9 and '_', starting with a letter (at most 64)", f.Key)
			continue
		}
		n := &Node{ID: f.Key, Pos: p.r.pos(f.KeyN), Interrupt: true, ZeroOut: true}
		p.f.byID[n.ID] = len(p.f.Nodes)
		p.f.Nodes = append(p.f.Nodes, n)
		raws = append(raws, raw{n, f.Value})
	}
	if len(p.f.Nodes) == 0 {
		p.errf(nodesN, "flow has no nodes")
		return nil, p
	}
	for _, rw := range raws {
		p.parseNode(rw.n, rw.val)
	}
	if startN != nil {
		if s, ok := p.r.str(startN, "start"); ok {
			if i, ok := p.f.byID[s]; ok {
				p.f.Start = i
			} else {
				p.errf(startN, "start: node %q is not defined", s)
			}
		}
	}
	if p.opts.Prompts != nil {
		for _, pr := range []string{p.f.Rules.Goodbye, p.f.Rules.Invalid} {
			if !p.opts.Prompts.Has(pr) {
				p.errf(root, "built-in prompt %q is not defined in %s", pr, p.opts.Prompts.File())
			}
		}
		if p.sayAt != nil {
			var missing []string
			for _, pr := range sayPrompts() {
				if !p.opts.Prompts.Has(pr) {
					missing = append(missing, pr)
				}
			}
			if len(missing) > 0 {
				p.errf(p.sayAt, "say items need prompts that are not defined in %s: %s", p.opts.Prompts.File(), strings.Join(missing, ", "))
			}
		}
	}
	p.buildEnv()
	p.compileExprs()
	p.resolveTargets()
	p.checkReachable()
	p.checkQuietLoops()
	return p.f, p
}

var ruleFields = []string{"no_input", "max_invalid", "on_max_invalid", "zero_out", "emergency", "goodbye", "invalid"}

func (p *flowParser) parseRules(n *yaml.Node) {
	r := &p.f.Rules
	for _, f := range p.r.mapping(n, "rules", ruleFields...) {
		switch f.Key {
		case "no_input":
			if d, ok := p.r.duration(f.Value, "rules.no_input", time.Second, time.Hour); ok {
				r.NoInput = d
			}
		case "max_invalid":
			if v, ok := p.r.integer(f.Value, "rules.max_invalid", 1, 20); ok {
				r.MaxInvalid = v
			}
		case "on_max_invalid":
			if s, ok := p.r.str(f.Value, "rules.on_max_invalid"); ok {
				if s != TargetAgent && s != TargetRelease {
					p.errf(f.Value, "rules.on_max_invalid: %q is not agent or release", s)
				} else {
					r.OnMaxInvalid = s
				}
			}
		case "zero_out":
			if s, ok := p.r.scalar(f.Value, "rules.zero_out"); ok {
				if s != "" && !keyRE.MatchString(s) {
					p.errf(f.Value, "rules.zero_out: %q is not one key (0-9, * or #), or \"\" for none", s)
				} else {
					r.ZeroOut = s
				}
			} else if f.Value.Tag == "!!null" {
				r.ZeroOut = ""
			}
		case "emergency":
			r.Emergency, _ = p.r.boolean(f.Value, "rules.emergency")
		case "goodbye":
			if s, ok := p.r.str(f.Value, "rules.goodbye"); ok {
				r.Goodbye = s
			}
		case "invalid":
			if s, ok := p.r.str(f.Value, "rules.invalid"); ok {
				r.Invalid = s
			}
		}
	}
}

func (p *flowParser) parseVars(n *yaml.Node) {
	for _, f := range p.r.mapping(n, "vars") {
		v := f.Value
		if v.Kind != yaml.ScalarNode {
			p.errf(v, "vars.%s: the initial value must be a string, number or true/false, not %s", f.Key, kindName(v))
			continue
		}
		d := VarDecl{Name: f.Key}
		switch v.Tag {
		case "!!str":
			d.Type, d.Init = TypeString, v.Value
		case "!!int":
			var i int
			if err := v.Decode(&i); err != nil {
				p.errf(v, "vars.%s: %v", f.Key, err)
				continue
			}
			d.Type, d.Init = TypeInt, i
		case "!!float":
			var x float64
			if err := v.Decode(&x); err != nil {
				p.errf(v, "vars.%s: %v", f.Key, err)
				continue
			}
			d.Type, d.Init = TypeFloat, x
		case "!!bool":
			var b bool
			_ = v.Decode(&b)
			d.Type, d.Init = TypeBool, b
		default:
			p.errf(v, "vars.%s: give an initial value (\"\", 0, 0.0 or false) so its type is known", f.Key)
			continue
		}
		p.declare(f.KeyN, d)
	}
}

// fields allowed per kind, besides type, served and description.
var kindFields = map[Kind][]string{
	KindPlay:      {"say", "interrupt", "zero_out", "next"},
	KindMenu:      {"say", "options", "timeout", "on_timeout", "invalid_prompt", "max_invalid", "on_max_invalid", "zero_out"},
	KindCollect:   {"say", "min", "max", "terminator", "timeout", "inter_digit", "validate", "into", "secret", "on_timeout", "invalid_prompt", "max_invalid", "on_max_invalid", "zero_out", "next"},
	KindLookup:    {"query", "args", "http", "fields", "timeout", "into", "next", "on_error"},
	KindCondition: {"when", "else"},
	KindSet:       {"set", "next"},
	KindQueue:     {"service", "skills", "priority"},
	KindTransfer:  {"say", "number", "service", "on_error"},
	KindRecord:    {"say", "max", "into", "next"},
	KindSurvey:    {"say", "min", "max", "timeout", "on_timeout", "invalid_prompt", "max_invalid", "on_max_invalid", "zero_out", "into", "next"},
	KindHangup:    {"say", "outcome"},
	KindGoto:      {"next"},
	KindFlow:      {"flow", "next"},
	KindNotice:    {"kinds", "area", "interrupt", "next"},
}

// kinds whose next is required.
var needsNext = []Kind{KindPlay, KindCollect, KindLookup, KindSet, KindRecord, KindSurvey, KindGoto, KindFlow, KindNotice}

func kindNames() string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func (p *flowParser) parseNode(n *Node, v *yaml.Node) {
	what := "node " + n.ID
	if v.Kind != yaml.MappingNode {
		p.errf(v, "%s must be a mapping with a type:, not %s", what, kindName(v))
		return
	}
	var typeN *yaml.Node
	for i := 0; i+1 < len(v.Content); i += 2 {
		if v.Content[i].Value == "type" {
			typeN = v.Content[i+1]
		}
	}
	if typeN == nil {
		p.errf(v, "%s has no type: (one of %s)", what, kindNames())
		return
	}
	s, ok := p.r.str(typeN, what+" type")
	if !ok {
		return
	}
	if s == "voicemail" {
		s = string(KindRecord)
	}
	n.Kind = Kind(s)
	allowed, ok := kindFields[n.Kind]
	if !ok {
		p.errf(typeN, "%s: unknown type %q (one of %s)", what, s, kindNames())
		return
	}
	allowed = append([]string{"type", "served", "description"}, allowed...)
	fields := p.r.mapping(v, what+" ("+s+")", allowed...)
	get := func(k string) *yaml.Node {
		for _, f := range fields {
			if f.Key == k {
				return f.Value
			}
		}
		return nil
	}
	for _, f := range fields {
		switch f.Key {
		case "served":
			n.Served, _ = p.r.boolean(f.Value, what+" served")
		case "description":
			p.r.str(f.Value, what+" description")
		case "say":
			n.Say = p.parseSay(f.Value, what+" say")
		case "invalid_prompt":
			n.InvalidSay = p.parseSay(f.Value, what+" invalid_prompt")
		case "interrupt":
			n.Interrupt, _ = p.r.boolean(f.Value, what+" interrupt")
		case "zero_out":
			n.ZeroOut, _ = p.r.boolean(f.Value, what+" zero_out")
		case "next":
			p.target(&n.Next, f.Value, what+" next", false, false)
		case "timeout":
			lim := 10 * time.Minute
			if n.Kind == KindLookup {
				lim = time.Minute
			}
			d, _ := p.r.duration(f.Value, what+" timeout", 100*time.Millisecond, lim)
			if n.Kind == KindLookup {
				n.LookupTimeout = d
			} else {
				n.Timeout = d
			}
		case "on_timeout":
			p.target(&n.OnTimeout, f.Value, what+" on_timeout", true, true)
		case "max_invalid":
			n.MaxInvalid, _ = p.r.integer(f.Value, what+" max_invalid", 1, 20)
		case "on_max_invalid":
			p.target(&n.OnMaxInvalid, f.Value, what+" on_max_invalid", false, false)
		case "on_error":
			p.target(&n.OnError, f.Value, what+" on_error", false, false)
		}
	}
	if slices.Contains(needsNext, n.Kind) && !n.Next.Set() && get("next") == nil {
		p.errf(v, "%s (%s) has no next:", what, n.Kind)
	}
	switch n.Kind {
	case KindPlay:
		if len(n.Say) == 0 {
			p.errf(v, "%s (play) has nothing to say: give say:", what)
		}
	case KindMenu:
		p.parseMenu(n, v, get("options"), what)
	case KindCollect:
		p.parseCollect(n, v, get, what)
	case KindLookup:
		p.parseLookup(n, v, get, what)
	case KindCondition:
		p.parseCondition(n, v, get("when"), get("else"), what)
	case KindSet:
		p.parseSet(n, v, get("set"), what)
	case KindQueue:
		var q QueueTarget
		p.parseQueueFields(n, v, fields, &q, what)
		n.Service, n.Skills = q.Service, q.Skills
	case KindTransfer:
		p.parseTransfer(n, v, get, what)
	case KindRecord:
		n.MaxRecord = 2 * time.Minute
		if m := get("max"); m != nil {
			n.MaxRecord, _ = p.r.duration(m, what+" max", time.Second, 10*time.Minute)
		}
		if in := get("into"); in != nil {
			if s, ok := p.r.str(in, what+" into"); ok {
				n.Into = s
				p.declare(in, VarDecl{Name: s, Type: TypeString})
			}
		}
	case KindSurvey:
		n.Min, n.Max = 1, 5
		okMin, okMax := true, true
		if m := get("min"); m != nil {
			n.Min, okMin = p.r.integer(m, what+" min", 0, 9)
		}
		if m := get("max"); m != nil {
			n.Max, okMax = p.r.integer(m, what+" max", 1, 9)
		}
		if okMin && okMax && n.Min > n.Max {
			p.errf(v, "%s: min %d is more than max %d", what, n.Min, n.Max)
		}
		if len(n.Say) == 0 {
			p.errf(v, "%s (survey) asks nothing: give say:", what)
		}
		if in := get("into"); in != nil {
			if s, ok := p.r.str(in, what+" into"); ok {
				n.Into = s
				p.declare(in, VarDecl{Name: s, Type: TypeInt})
			}
		}
	case KindHangup:
		n.Outcome = "contained"
		if o := get("outcome"); o != nil {
			if s, ok := p.r.str(o, what+" outcome"); ok {
				if s != "contained" && s != "released" {
					p.errf(o, "%s outcome: %q is not contained or released", what, s)
				} else {
					n.Outcome = s
				}
			}
		}
	case KindFlow:
		if fl := get("flow"); fl == nil {
			p.errf(v, "%s (flow) names no flow: give flow:", what)
		} else if s, ok := p.r.str(fl, what+" flow"); ok {
			if !flowNameRE.MatchString(s) {
				p.errf(fl, "%s flow: %q is not a flow name (letters, digits, '-' and '_')", what, s)
			} else {
				n.Flow = s
				p.subRefs = append(p.subRefs, n)
			}
		}
	case KindNotice:
		if k := get("kinds"); k != nil {
			n.NoticeKinds = p.r.strings(k, what+" kinds")
			for _, kind := range n.NoticeKinds {
				if !contains(noticeKinds, kind) {
					p.errf(k, "%s kinds: %q is not one of %s", what, kind, strings.Join(noticeKinds, ", "))
				}
			}
		}
		if a := get("area"); a != nil {
			p.expr(&n.Area, a, TypeString, what+" area")
		}
	}
	if n.Kind == KindMenu || n.Kind == KindCollect || n.Kind == KindSurvey {
		if n.Timeout == 0 {
			n.Timeout = p.f.Rules.NoInput
		}
		if len(n.InvalidSay) == 0 {
			n.InvalidSay = []SayItem{{Kind: SayPrompt, Prompt: p.f.Rules.Invalid}}
		}
		if n.MaxInvalid == 0 {
			n.MaxInvalid = p.f.Rules.MaxInvalid
		}
		if !n.OnMaxInvalid.Set() {
			n.OnMaxInvalid = Target{Name: p.f.Rules.OnMaxInvalid, node: -1}
		}
		if !n.OnTimeout.Set() && n.Kind != KindMenu {
			n.OnTimeout = Target{Name: TargetRepeat, node: -1}
		}
	}
}

func (p *flowParser) parseSay(n *yaml.Node, what string) []SayItem {
	items := n.Content
	if n.Kind == yaml.ScalarNode {
		items = []*yaml.Node{n}
	} else if n.Kind != yaml.SequenceNode {
		p.errf(n, "%s must be a prompt name or a list, not %s", what, kindName(n))
		return nil
	}
	out := make([]SayItem, len(items))
	for i, it := range items {
		si := &out[i]
		si.Pos = p.r.pos(it)
		if it.Kind == yaml.ScalarNode {
			name, ok := p.r.str(it, what+" entry")
			if !ok {
				continue
			}
			si.Kind, si.Prompt = SayPrompt, name
			if p.opts.Prompts != nil && !p.opts.Prompts.Has(name) {
				p.errf(it, "prompt %q is not defined in %s", name, p.opts.Prompts.File())
			}
			continue
		}
		fs := p.r.mapping(it, what+" entry", "number", "money", "date", "digits")
		if len(fs) != 1 {
			if len(fs) > 1 {
				p.errf(it, "%s entry: give one of number, money, date, digits", what)
			} else if it.Kind == yaml.MappingNode && len(it.Content) == 0 {
				p.errf(it, "%s entry is empty", what)
			}
			continue
		}
		f := fs[0]
		if p.sayAt == nil {
			p.sayAt = f.KeyN
		}
		switch f.Key {
		case "number":
			si.Kind = SayNumber
			p.expr(&si.Expr, f.Value, TypeInt, what+" number")
		case "money":
			si.Kind = SayMoney
			p.expr(&si.Expr, f.Value, TypeInt, what+" money (in fen)")
		case "date":
			si.Kind = SayDate
			p.expr(&si.Expr, f.Value, 0, what+" date", TypeTime, TypeString)
		case "digits":
			si.Kind = SayDigits
			p.expr(&si.Expr, f.Value, 0, what+" digits", TypeString, TypeInt)
		}
	}
	return out
}

func (p *flowParser) parseMenu(n *Node, v, opts *yaml.Node, what string) {
	if opts == nil {
		p.errf(v, "%s (menu) has no options:", what)
		return
	}
	fs := p.r.mapping(opts, what+" options")
	// Targets point into Options: size it once.
	n.Options = make([]Option, 0, len(fs))
	for _, f := range fs {
		if !keyRE.MatchString(f.Key) {
			p.errf(f.KeyN, "%s options: %q is not one key (0-9, * or #)", what, f.Key)
			continue
		}
		n.Options = append(n.Options, Option{Key: f.Key})
		p.target(&n.Options[len(n.Options)-1].To, f.Value, what+" option "+f.Key, false, false)
	}
	if len(n.Options) == 0 {
		p.errf(opts, "%s (menu) has no options", what)
	}
	if len(n.Say) == 0 {
		p.errf(v, "%s (menu) asks nothing: give say:", what)
	}
	if !n.OnTimeout.Set() {
		p.errf(v, "%s (menu) has no on_timeout branch (write on_timeout: release for the built-in goodbye-and-release, or repeat to ask again)", what)
	}
}

func (p *flowParser) parseCollect(n *Node, v *yaml.Node, get func(string) *yaml.Node, what string) {
	n.Min, n.Max, n.Terminator, n.InterDigit = 1, 20, "#", 5*time.Second
	okMin, okMax := true, true
	if m := get("min"); m != nil {
		n.Min, okMin = p.r.integer(m, what+" min", 1, 32)
	}
	if m := get("max"); m != nil {
		n.Max, okMax = p.r.integer(m, what+" max", 1, 32)
	}
	if okMin && okMax && n.Min > n.Max {
		p.errf(v, "%s: min %d is more than max %d", what, n.Min, n.Max)
	}
	if t := get("terminator"); t != nil {
		if s, ok := p.r.scalar(t, what+" terminator"); ok {
			if s != "#" && s != "*" && s != "" {
				p.errf(t, "%s terminator: %q is not # or * (or \"\" for none)", what, s)
			} else {
				n.Terminator = s
			}
		}
	}
	if d := get("inter_digit"); d != nil {
		n.InterDigit, _ = p.r.duration(d, what+" inter_digit", 500*time.Millisecond, time.Minute)
	}
	if s := get("secret"); s != nil {
		n.Secret, _ = p.r.boolean(s, what+" secret")
	}
	if len(n.Say) == 0 {
		p.errf(v, "%s (collect) asks nothing: give say:", what)
	}
	in := get("into")
	if in == nil {
		p.errf(v, "%s (collect) has no into: (the variable the digits go to)", what)
	} else if s, ok := p.r.str(in, what+" into"); ok {
		n.Into = s
		t := TypeString
		if n.Secret {
			t = TypeSecret
		}
		p.declare(in, VarDecl{Name: s, Type: t})
	}
	if val := get("validate"); val != nil {
		vt := TypeString
		if n.Secret {
			vt = TypeSecret
		}
		p.expr(&n.Validate, val, TypeBool, what+" validate")
		p.exprs[len(p.exprs)-1].extra = map[string]VarType{varValue: vt}
	}
}

func (p *flowParser) parseLookup(n *Node, v *yaml.Node, get func(string) *yaml.Node, what string) {
	if n.LookupTimeout == 0 {
		n.LookupTimeout = 3 * time.Second
	}
	if !n.OnError.Set() {
		n.OnError = Target{Name: TargetAgent, node: -1}
	}
	q, h := get("query"), get("http")
	switch {
	case q == nil && h == nil:
		p.errf(v, "%s (lookup) needs query: (a named SQL query) or http:", what)
		return
	case q != nil && h != nil:
		p.errf(v, "%s (lookup) has both query: and http:; give one", what)
		return
	}
	if q != nil {
		name, ok := p.r.str(q, what+" query")
		if !ok {
			return
		}
		n.Query = p.opts.Queries.Get(name)
		if n.Query == nil {
			if p.opts.Queries == nil {
				p.errf(q, "%s: query %q: no queries file was loaded", what, name)
			} else {
				p.errf(q, "%s: query %q is not defined (defined: %s)", what, name, strings.Join(p.opts.Queries.Names(), ", "))
			}
			return
		}
		if get("fields") != nil {
			p.errf(get("fields"), "%s: fields: is for http lookups; a query's columns are declared with the query", what)
		}
		n.Fields = n.Query.Columns
		given := map[string]*yaml.Node{}
		if a := get("args"); a != nil {
			for _, f := range p.r.mapping(a, what+" args") {
				given[f.Key] = f.Value
				if !contains(n.Query.Params, f.Key) {
					p.errf(f.KeyN, "%s args: query %s has no parameter %q (params: %s)", what, name, f.Key, strings.Join(n.Query.Params, ", "))
				}
			}
		}
		n.Args = make([]Arg, len(n.Query.Params))
		for i, prm := range n.Query.Params {
			n.Args[i].Name = prm
			if g, ok := given[prm]; ok {
				p.expr(&n.Args[i].Value, g, 0, what+" args."+prm, TypeString, TypeInt, TypeFloat, TypeBool, TypeSecret)
			} else {
				p.errf(v, "%s: query %s needs argument %q (give args: {%s: ...})", what, name, prm, prm)
			}
		}
	} else {
		n.HTTP = &HTTPSpec{}
		if get("args") != nil {
			p.errf(get("args"), "%s: args: is for queries; give http.params", what)
		}
		var urlN, endpointN, pathN *yaml.Node
		for _, f := range p.r.mapping(h, what+" http", "url", "endpoint", "path", "params") {
			switch f.Key {
			case "url":
				urlN = f.Value
				if s, ok := p.r.str(f.Value, what+" http.url"); ok {
					u, err := url.Parse(s)
					if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
						p.errf(f.Value, "%s http.url: %q is not an absolute http(s) URL without query, fragment or user (give parameters in http.params)", what, s)
					} else {
						n.HTTP.URL = s
					}
				}
			case "endpoint":
				endpointN = f.Value
				if s, ok := p.r.str(f.Value, what+" http.endpoint"); ok {
					switch {
					case !identRE.MatchString(s):
						p.errf(f.Value, "%s http.endpoint: %q is not an endpoint name (a-z, 0-9 and '_', starting with a letter, as in ivr.http_endpoints)", what, s)
					case p.opts.Endpoints != nil && !p.opts.Endpoints.has(s):
						p.errf(f.Value, "%s http.endpoint: %q is not configured in ivr.http_endpoints%s (configured: %s)", what, s, p.opts.Endpoints.from(), endpointList(p.opts.Endpoints.Names))
					default:
						n.HTTP.Endpoint = s
					}
				}
			case "path":
				pathN = f.Value
				if s, ok := p.r.str(f.Value, what+" http.path"); ok {
					if !validHTTPPath(s) {
						p.errf(f.Value, "%s http.path: %q is not a path under the endpoint: start it with '/', without query, fragment, '.' or '..' (parameters go in http.params)", what, s)
					} else {
						n.HTTP.Path = s
					}
				}
			case "params":
				ps := p.r.mapping(f.Value, what+" http.params")
				// Expressions point into Params: size it once.
				n.HTTP.Params = make([]Arg, 0, len(ps))
				for _, g := range ps {
					n.HTTP.Params = append(n.HTTP.Params, Arg{Name: g.Key})
					a := &n.HTTP.Params[len(n.HTTP.Params)-1]
					p.expr(&a.Value, g.Value, 0, what+" http.params."+g.Key, TypeString, TypeInt, TypeFloat, TypeBool)
				}
			}
		}
		switch {
		case h.Kind != yaml.MappingNode:
		case urlN == nil && endpointN == nil:
			p.errf(h, "%s http has neither url: nor endpoint: (give endpoint: NAME, one of the installation's ivr.http_endpoints, or a full url:)", what)
		case urlN != nil && endpointN != nil:
			p.errf(endpointN, "%s http has both url: and endpoint:; give one", what)
		case urlN != nil && pathN != nil:
			p.errf(pathN, "%s http.path goes with endpoint:; with url: write the whole URL", what)
		}
		if fl := get("fields"); fl != nil {
			for _, f := range p.r.mapping(fl, what+" fields") {
				t, ok := p.r.varType(f.Value, what+" fields."+f.Key)
				if !ok {
					continue
				}
				if !identRE.MatchString(f.Key) || f.Key == "found" {
					p.errf(f.KeyN, "%s fields: name %q: use a-z, 0-9 and '_' (and not \"found\")", what, f.Key)
					continue
				}
				n.Fields = append(n.Fields, Column{Name: f.Key, Type: t})
			}
		}
	}
	n.Into = n.ID
	if in := get("into"); in != nil {
		if s, ok := p.r.str(in, what+" into"); ok {
			n.Into = s
		}
	}
	at := get("into")
	if at == nil {
		at = v
	}
	p.declare(at, VarDecl{Name: n.Into, Type: TypeLookup, Fields: n.Fields})
}

func (p *flowParser) parseCondition(n *Node, v, when, els *yaml.Node, what string) {
	if when == nil {
		p.errf(v, "%s (condition) has no when: list", what)
	} else if when.Kind != yaml.SequenceNode || len(when.Content) == 0 {
		p.errf(when, "%s when: must be a non-empty list of {if: EXPR, next: NODE}", what)
	} else {
		n.When = make([]Branch, len(when.Content))
		for i, c := range when.Content {
			b := &n.When[i]
			bw := fmt.Sprintf("%s when[%d]", what, i)
			var hasIf, hasNext bool
			for _, f := range p.r.mapping(c, bw, "if", "next") {
				switch f.Key {
				case "if":
					hasIf = true
					p.expr(&b.If, f.Value, TypeBool, bw+" if")
				case "next":
					hasNext = true
					p.target(&b.To, f.Value, bw+" next", false, false)
				}
			}
			if c.Kind == yaml.MappingNode && (!hasIf || !hasNext) {
				p.errf(c, "%s needs both if: and next:", bw)
			}
		}
	}
	if els == nil {
		p.errf(v, "%s (condition) has no else: branch", what)
	} else {
		p.target(&n.Else, els, what+" else", false, false)
	}
}

func (p *flowParser) parseSet(n *Node, v, set *yaml.Node, what string) {
	if set == nil {
		p.errf(v, "%s (set) has no set: {variable: expression}", what)
		return
	}
	fs := p.r.mapping(set, what+" set")
	n.Set = make([]Assign, len(fs))
	for i, f := range fs {
		n.Set[i].Var = f.Key
		p.expr(&n.Set[i].Value, f.Value, 0, what+" set."+f.Key)
		// The wanted type is the variable's, known after all declarations.
		p.exprs[len(p.exprs)-1].set = f.Key
	}
}

func (p *flowParser) parseQueueFields(n *Node, v *yaml.Node, fields []field, q *QueueTarget, what string) {
	for _, f := range fields {
		switch f.Key {
		case "service":
			if s, ok := p.r.str(f.Value, what+" service"); ok {
				if !serviceRE.MatchString(s) {
					p.errf(f.Value, "%s service: %q is not a service name (a-z, 0-9, '-' and '_')", what, s)
				} else {
					q.Service = s
				}
			}
		case "skills":
			q.Skills = p.parseSkills(f.Value, what)
		case "priority":
			if n != nil {
				p.expr(&n.Priority, f.Value, TypeInt, what+" priority")
			} else {
				q.Priority, _ = p.r.integer(f.Value, what+" priority", -1000, 1000)
			}
		}
	}
}

func (p *flowParser) parseQueue(v *yaml.Node, q *QueueTarget, n *Node, what string) {
	p.parseQueueFields(n, v, p.r.mapping(v, what, "service", "skills", "priority"), q, what)
}

func (p *flowParser) parseSkills(v *yaml.Node, what string) []Skill {
	var out []Skill
	for _, f := range p.r.mapping(v, what+" skills") {
		if !serviceRE.MatchString(f.Key) {
			p.errf(f.KeyN, "%s skills: %q is not a skill name (a-z, 0-9, '-' and '_')", what, f.Key)
			continue
		}
		lvl, ok := p.r.integer(f.Value, what+" skills."+f.Key+" (level)", 1, 100)
		if ok {
			out = append(out, Skill{Name: f.Key, Level: lvl})
		}
	}
	return out
}

var transferNumberRE = regexp.MustCompile(`^\+?[0-9]{3,20}$`)

func (p *flowParser) parseTransfer(n *Node, v *yaml.Node, get func(string) *yaml.Node, what string) {
	num, svc := get("number"), get("service")
	switch {
	case num == nil && svc == nil:
		p.errf(v, "%s (transfer) needs number: (an expression giving digits) or service:", what)
	case num != nil && svc != nil:
		p.errf(v, "%s (transfer) has both number: and service:; give one", what)
	case svc != nil:
		if s, ok := p.r.str(svc, what+" service"); ok {
			if !serviceRE.MatchString(s) {
				p.errf(svc, "%s service: %q is not a service name (a-z, 0-9, '-' and '_')", what, s)
			} else {
				n.Service = s
			}
		}
	default:
		p.expr(&n.Number, num, TypeString, what+" number")
	}
	if !n.OnError.Set() {
		n.OnError = Target{Name: TargetAgent, node: -1}
	}
}

// validHTTPPath reports whether s can follow an endpoint's base URL: ""
// or an absolute path without query, fragment, "." or ".." segments.
func validHTTPPath(s string) bool {
	if s == "" {
		return true
	}
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "?#\\ ") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return false
	}
	for _, p := range []string{s, u.Path} { // as written and decoded (%2e%2e)
		for _, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
			if seg == "." || seg == ".." {
				return false
			}
		}
	}
	return true
}

func endpointList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(slices.Values(names)), ", ")
}

// buildEnv makes the typed environment expressions compile against.
func (p *flowParser) buildEnv() {
	env := types.Map{
		VarCaller:  types.String,
		VarService: types.String,
		VarLang:    types.String,
		VarNow:     types.TypeOf(time.Time{}),
	}
	for _, d := range p.f.Vars {
		if d.Type == TypeLookup {
			m := types.Map{"found": types.Bool}
			for _, c := range d.Fields {
				m[c.Name] = c.Type.exprType()
			}
			env[d.Name] = m
		} else {
			env[d.Name] = d.Type.exprType()
		}
	}
	p.f.env = env
}

func (p *flowParser) compileExprs() {
	for _, pe := range p.exprs {
		env := p.f.env
		if pe.extra != nil {
			env = make(types.Map, len(p.f.env)+len(pe.extra))
			for k, v := range p.f.env {
				env[k] = v
			}
			for k, v := range pe.extra {
				env[k] = v.exprType()
			}
		}
		want := pe.want
		if v := pe.set; v != "" {
			switch d, ok := p.vars[v]; {
			case v == VarLang:
				want = TypeString
			case !ok:
				p.errf(pe.n, "%s: variable %q is not declared (declare it under vars:)", pe.what, v)
				*pe.dst = nil
				continue
			case d.Type == TypeLookup:
				p.errf(pe.n, "%s: %s is a lookup result and cannot be set", pe.what, v)
				*pe.dst = nil
				continue
			default:
				want = d.Type
			}
		}
		prog, got, err := compileExpr(pe.src, env, want)
		if err != nil {
			p.r.probs.add(exprPos(p.r.pos(pe.n), pe.n, err), "%s: %v", pe.what, err)
			*pe.dst = nil
			continue
		}
		if want == 0 && len(pe.allow) > 0 && !slices.Contains(pe.allow, got) {
			names := make([]string, len(pe.allow))
			for i, a := range pe.allow {
				names[i] = a.String()
			}
			p.errf(pe.n, "%s: expression is %s, want %s", pe.what, got, strings.Join(names, " or "))
			*pe.dst = nil
			continue
		}
		e := *pe.dst
		e.prog, e.Type = prog, got
	}
}

func (p *flowParser) resolveTargets() {
	for _, pt := range p.targets {
		t := pt.t
		if i, ok := p.f.byID[t.Name]; ok {
			t.node = i
			continue
		}
		t.node = -1
		switch t.Name {
		case TargetAgent, TargetRelease, TargetEnd, TargetReturn:
		case TargetRepeat:
			if !pt.repeatOK {
				p.r.probs.add(t.Pos, "repeat is only allowed as on_timeout of a menu, collect or survey")
			}
		default:
			p.r.probs.add(t.Pos, "node %q is not defined (nodes: %s; built-ins: %s)", t.Name, p.nodeList(), strings.Join(builtinTargets[:4], ", "))
		}
	}
}

func (p *flowParser) nodeList() string {
	ids := make([]string, len(p.f.Nodes))
	for i, n := range p.f.Nodes {
		ids[i] = n.ID
	}
	if len(ids) > 12 {
		return strings.Join(ids[:12], ", ") + ", ..."
	}
	return strings.Join(ids, ", ")
}

// targets lists every target of a node.
func (n *Node) targets() []Target {
	var ts []Target
	add := func(t Target) {
		if t.Set() {
			ts = append(ts, t)
		}
	}
	add(n.Next)
	for _, o := range n.Options {
		add(o.To)
	}
	add(n.OnTimeout)
	add(n.OnMaxInvalid)
	add(n.OnError)
	for _, b := range n.When {
		add(b.To)
	}
	add(n.Else)
	return ts
}

func (p *flowParser) checkReachable() {
	seen := make([]bool, len(p.f.Nodes))
	stack := []int{p.f.Start}
	seen[p.f.Start] = true
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, t := range p.f.Nodes[i].targets() {
			if t.node >= 0 && !seen[t.node] {
				seen[t.node] = true
				stack = append(stack, t.node)
			}
		}
	}
	for i, n := range p.f.Nodes {
		if !seen[i] {
			p.r.probs.add(n.Pos, "node %s is unreachable from the start node %s", n.ID, p.f.Nodes[p.f.Start].ID)
		}
	}
}

// quiet nodes run without playing anything or waiting for the caller: a
// loop made only of them would spin.
func (n *Node) quiet() bool {
	switch n.Kind {
	case KindSet, KindCondition, KindGoto, KindLookup:
		return true
	}
	return false
}

// checkQuietLoops reports each cycle made only of quiet nodes.
func (p *flowParser) checkQuietLoops() {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(p.f.Nodes))
	var path []int
	reported := map[int]bool{}
	var visit func(i int)
	visit = func(i int) {
		color[i] = grey
		path = append(path, i)
		for _, t := range p.f.Nodes[i].targets() {
			j := t.node
			if j < 0 || !p.f.Nodes[j].quiet() {
				continue
			}
			switch color[j] {
			case white:
				visit(j)
			case grey:
				k := slices.Index(path, j)
				cyc := path[k:]
				if reported[slices.Min(cyc)] {
					continue
				}
				reported[slices.Min(cyc)] = true
				ids := make([]string, 0, len(cyc)+1)
				for _, c := range cyc {
					ids = append(ids, p.f.Nodes[c].ID)
				}
				ids = append(ids, p.f.Nodes[j].ID)
				p.r.probs.add(p.f.Nodes[j].Pos, "loop without caller input: %s (add a menu, collect or play to the loop)", strings.Join(ids, " → "))
			}
		}
		path = path[:len(path)-1]
		color[i] = black
	}
	for i, n := range p.f.Nodes {
		if n.quiet() && color[i] == white {
			visit(i)
		}
	}
}
