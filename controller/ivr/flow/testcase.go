package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-cc/hotline/controller/ivr"
)

// TestFile is a flow's test cases (<flow>_test.yaml beside the flow):
//
//	fixtures: {...}          # shared by every case (see Fixtures)
//	cases:
//	  - name: current bill
//	    caller: "13800000001"
//	    service: "10000"
//	    keys: "1"            # see ParseKeys
//	    fixtures: {...}      # replaces the shared sections it names
//	    expect:
//	      outcome: contained
//	      trail: ["bill_menu choice: 1 → read_bill"]   # in order, other steps may come between
//	      exact: false        # true: trail is the whole trail
//	      absent: ["123456"]  # text no trail step and no variable may contain
//	      vars: {bill.cents: "12345"}
//	      queue: {service: faults, skills: {faults: 1}, priority: 0}
//	      transfer: {number: "+8610..."}
//	      survey: 4
//	      voicemail: rec-1
//	      error: step limit   # the run's error contains this
type TestFile struct {
	File  string
	Flow  string // the flow file, beside the test file
	Cases []TestCase
}

// TestCase is one case of a TestFile.
type TestCase struct {
	Name     string
	Pos      Pos
	Call     Call
	Keys     []Action
	Fixtures *Fixtures
	Expect   Expect
}

// Expect is what a case checks; unset parts are not checked.
type Expect struct {
	Outcome   string
	Trail     []string
	Exact     bool
	Absent    []string
	Vars      map[string]string
	varOrder  []string
	Queue     *QueueTarget
	Transfer  *TransferTarget
	Survey    *int
	Voicemail *string
	Error     *string
}

// ParseTestFile reads a test file. The flow it tests is flow: when given,
// else the file's name without _test.yaml plus .yaml.
func ParseTestFile(file string, src []byte) (*TestFile, error) {
	var probs Problems
	r := &reader{file: file, probs: &probs}
	tf := &TestFile{File: file}
	base := filepath.Base(file)
	flow := strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	tf.Flow = filepath.Join(filepath.Dir(file), strings.TrimSuffix(flow, "_test")+".yaml")
	root := r.parseDoc(src)
	shared := &Fixtures{}
	var casesN *yaml.Node
	for _, f := range r.mapping(root, "test file", "flow", "fixtures", "cases") {
		switch f.Key {
		case "flow":
			if s, ok := r.str(f.Value, "flow"); ok {
				tf.Flow = filepath.Join(filepath.Dir(file), s)
			}
		case "fixtures":
			shared = r.fixtures(f.Value, "fixtures")
		case "cases":
			casesN = f.Value
		}
	}
	if root != nil && casesN == nil {
		r.errf(root, "test file has no cases:")
	}
	if casesN != nil && casesN.Kind != yaml.SequenceNode {
		r.errf(casesN, "cases must be a list")
		casesN = nil
	}
	names := map[string]bool{}
	if casesN != nil {
		for i, c := range casesN.Content {
			tc := TestCase{Pos: r.pos(c), Call: Call{Service: "10000"}, Fixtures: shared}
			w := fmt.Sprintf("cases[%d]", i)
			for _, f := range r.mapping(c, w, "name", "caller", "service", "lang", "keys", "fixtures", "expect") {
				switch f.Key {
				case "name":
					tc.Name, _ = r.str(f.Value, w+".name")
				case "caller":
					tc.Call.Caller, _ = r.scalar(f.Value, w+".caller")
				case "service":
					tc.Call.Service, _ = r.scalar(f.Value, w+".service")
				case "lang":
					if tc.Call.Lang, _ = r.str(f.Value, w+".lang"); tc.Call.Lang != "en" && tc.Call.Lang != "zh" {
						r.errf(f.Value, "%s.lang: %q is not en or zh", w, tc.Call.Lang)
					}
				case "keys":
					var s string
					if f.Value.Kind == yaml.SequenceNode {
						s = strings.Join(r.strings(f.Value, w+".keys"), ",")
					} else {
						s, _ = r.scalar(f.Value, w+".keys")
					}
					keys, err := ParseKeys(s)
					if err != nil {
						r.errf(f.Value, "%s.keys: %v", w, err)
					}
					tc.Keys = keys
				case "fixtures":
					tc.Fixtures = shared.merge(r.fixtures(f.Value, w+".fixtures"))
				case "expect":
					tc.Expect = r.expect(f.Value, w+".expect")
				}
			}
			if tc.Name == "" {
				tc.Name = fmt.Sprintf("case%d", i+1)
			}
			if names[tc.Name] {
				r.errf(c, "%s: case name %q is used twice", w, tc.Name)
			}
			names[tc.Name] = true
			tf.Cases = append(tf.Cases, tc)
		}
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return tf, nil
}

func (r *reader) expect(n *yaml.Node, w string) Expect {
	var e Expect
	for _, f := range r.mapping(n, w, "outcome", "trail", "exact", "absent", "vars", "queue", "transfer", "survey", "voicemail", "error") {
		switch f.Key {
		case "outcome":
			if s, ok := r.str(f.Value, w+".outcome"); ok {
				if _, ok := ivr.ParseOutcome(s); !ok {
					r.errf(f.Value, "%s.outcome: %q is not abandoned, contained, to_agent, released_no_input, transferred or released", w, s)
				}
				e.Outcome = s
			}
		case "trail":
			e.Trail = r.strings(f.Value, w+".trail")
		case "exact":
			e.Exact, _ = r.boolean(f.Value, w+".exact")
		case "absent":
			e.Absent = r.strings(f.Value, w+".absent")
		case "vars":
			e.Vars = map[string]string{}
			for _, v := range r.mapping(f.Value, w+".vars") {
				s, _ := r.scalar(v.Value, w+".vars."+v.Key)
				e.Vars[v.Key] = s
				e.varOrder = append(e.varOrder, v.Key)
			}
		case "queue":
			q := &QueueTarget{}
			for _, g := range r.mapping(f.Value, w+".queue", "service", "skills", "priority") {
				switch g.Key {
				case "service":
					q.Service, _ = r.str(g.Value, w+".queue.service")
				case "skills":
					for _, s := range r.mapping(g.Value, w+".queue.skills") {
						lvl, _ := r.integer(s.Value, w+".queue.skills."+s.Key, 0, 100)
						q.Skills = append(q.Skills, Skill{Name: s.Key, Level: lvl})
					}
				case "priority":
					q.Priority, _ = r.integer(g.Value, w+".queue.priority", -1000, 1000)
				}
			}
			e.Queue = q
		case "transfer":
			t := &TransferTarget{}
			for _, g := range r.mapping(f.Value, w+".transfer", "number", "service") {
				if g.Key == "number" {
					t.Number, _ = r.scalar(g.Value, w+".transfer.number")
				} else {
					t.Service, _ = r.str(g.Value, w+".transfer.service")
				}
			}
			e.Transfer = t
		case "survey":
			v, _ := r.integer(f.Value, w+".survey", 0, 9)
			e.Survey = &v
		case "voicemail":
			v, _ := r.str(f.Value, w+".voicemail")
			e.Voicemail = &v
		case "error":
			v, _ := r.str(f.Value, w+".error")
			e.Error = &v
		}
	}
	return e
}

// Check runs the case on the program and returns what did not match its
// expectations (nothing when it passed).
func (tc *TestCase) Check(ctx context.Context, p *Program) []string {
	res, trail, err := p.Simulate(ctx, Simulation{Call: tc.Call, Keys: tc.Keys, Fixtures: tc.Fixtures})
	var fails []string
	e := tc.Expect
	switch {
	case e.Error != nil && *e.Error == "" && err != nil && !errors.Is(err, ivr.ErrHungUp):
		fails = append(fails, fmt.Sprintf("error %v, want none", err))
	case e.Error != nil && *e.Error != "" && (err == nil || !strings.Contains(err.Error(), *e.Error)):
		fails = append(fails, fmt.Sprintf("error %v, want one containing %q", err, *e.Error))
	case e.Error == nil && err != nil && !errors.Is(err, ivr.ErrHungUp):
		fails = append(fails, fmt.Sprintf("unexpected error: %v", err))
	}
	if e.Outcome != "" && res.OutcomeName != e.Outcome {
		fails = append(fails, fmt.Sprintf("outcome %s (at %s), want %s", res.OutcomeName, res.Node, e.Outcome))
	}
	lines := make([]string, len(trail))
	for i, s := range trail {
		lines[i] = s.String()
	}
	if e.Exact {
		if !slices.Equal(lines, e.Trail) {
			fails = append(fails, "trail differs from the expected exact trail")
		}
	} else if missing := subsequence(lines, e.Trail); missing != "" {
		fails = append(fails, fmt.Sprintf("trail lacks %q (in this order)", missing))
	}
	for _, a := range e.Absent {
		for _, l := range lines {
			if strings.Contains(l, a) {
				fails = append(fails, fmt.Sprintf("trail step %q contains %q", l, a))
			}
		}
		for k, v := range res.Vars {
			if strings.Contains(v, a) {
				fails = append(fails, fmt.Sprintf("variable %s contains %q", k, a))
			}
		}
	}
	for _, k := range e.varOrder {
		if got, ok := res.Vars[k]; !ok {
			fails = append(fails, fmt.Sprintf("no variable %s", k))
		} else if got != e.Vars[k] {
			fails = append(fails, fmt.Sprintf("variable %s = %q, want %q", k, got, e.Vars[k]))
		}
	}
	if e.Queue != nil {
		if res.Queue == nil {
			fails = append(fails, "no queue target, want one")
		} else if res.Queue.Service != e.Queue.Service || res.Queue.Priority != e.Queue.Priority || !slices.Equal(res.Queue.Skills, e.Queue.Skills) {
			fails = append(fails, fmt.Sprintf("queue %s, want %s", describeQueue(*res.Queue), describeQueue(*e.Queue)))
		}
	}
	if e.Transfer != nil && (res.Transfer == nil || *res.Transfer != *e.Transfer) {
		fails = append(fails, fmt.Sprintf("transfer %+v, want %+v", res.Transfer, *e.Transfer))
	}
	if e.Survey != nil && res.SurveyScore != *e.Survey {
		fails = append(fails, fmt.Sprintf("survey score %d, want %d", res.SurveyScore, *e.Survey))
	}
	if e.Voicemail != nil && res.Voicemail != *e.Voicemail {
		fails = append(fails, fmt.Sprintf("voicemail %q, want %q", res.Voicemail, *e.Voicemail))
	}
	if len(fails) > 0 {
		fails = append(fails, "trail:")
		for _, l := range lines {
			fails = append(fails, "  "+l)
		}
	}
	return fails
}

// subsequence returns the first of want not found in got in order, or "".
func subsequence(got, want []string) string {
	i := 0
	for _, w := range want {
		for i < len(got) && got[i] != w {
			i++
		}
		if i == len(got) {
			return w
		}
		i++
	}
	return ""
}

// TestSummary counts the cases run by RunTests.
type TestSummary struct {
	Passed, Failed int
	Problems       error // files that did not load; they count as failures
}

// FindTests expands directories and flow files into test files: a
// directory gives every *_test.yaml in it, a flow file its
// <flow>_test.yaml, a test file itself.
func FindTests(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		switch {
		case st.IsDir():
			m, err := filepath.Glob(filepath.Join(a, "*_test.yaml"))
			if err != nil {
				return nil, err
			}
			sort.Strings(m)
			out = append(out, m...)
		case strings.HasSuffix(a, "_test.yaml"):
			out = append(out, a)
		default:
			t := strings.TrimSuffix(strings.TrimSuffix(a, ".yaml"), ".yml") + "_test.yaml"
			if _, err := os.Stat(t); err != nil {
				return nil, fmt.Errorf("%s has no test file %s", a, t)
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// RunTests runs the test files' cases, printing "=== RUN", "--- PASS" and
// "--- FAIL" lines the way go test does, and a final PASS or FAIL. opts
// returns the options a flow file is checked against.
func RunTests(ctx context.Context, w io.Writer, files []string, opts func(flowFile string) (Options, error)) TestSummary {
	var sum TestSummary
	var probs Problems
	for _, tfile := range files {
		src, err := os.ReadFile(tfile)
		if err != nil {
			probs.add(Pos{File: tfile}, "%v", err)
			sum.Failed++
			continue
		}
		tf, err := ParseTestFile(tfile, src)
		if err != nil {
			addProblems(&probs, tfile, err)
			fmt.Fprintf(w, "--- FAIL: %s (test file does not load)\n%s\n", tfile, indent(err.Error()))
			sum.Failed++
			continue
		}
		o, err := opts(tf.Flow)
		var prog *Program
		if err == nil {
			prog, err = LoadFile(tf.Flow, o)
		}
		if err != nil {
			addProblems(&probs, tf.Flow, err)
			fmt.Fprintf(w, "--- FAIL: %s (flow does not load)\n%s\n", tf.Flow, indent(err.Error()))
			sum.Failed++
			continue
		}
		for i := range tf.Cases {
			tc := &tf.Cases[i]
			name := prog.Main.Name + "/" + tc.Name
			fmt.Fprintf(w, "=== RUN   %s\n", name)
			start := time.Now()
			fails := tc.Check(ctx, prog)
			el := time.Since(start).Seconds()
			if len(fails) == 0 {
				sum.Passed++
				fmt.Fprintf(w, "--- PASS: %s (%.2fs)\n", name, el)
				continue
			}
			sum.Failed++
			fmt.Fprintf(w, "--- FAIL: %s (%.2fs)\n    %s: case %s\n", name, el, tc.Pos, tc.Name)
			for _, f := range fails {
				fmt.Fprintf(w, "    %s\n", f)
			}
		}
	}
	sum.Problems = probs.err()
	if sum.Failed > 0 {
		fmt.Fprintf(w, "FAIL\t%d passed, %d failed\n", sum.Passed, sum.Failed)
	} else {
		fmt.Fprintf(w, "PASS\t%d passed\n", sum.Passed)
	}
	return sum
}

func addProblems(probs *Problems, file string, err error) {
	var ps Problems
	if errors.As(err, &ps) {
		*probs = append(*probs, ps...)
		return
	}
	probs.add(Pos{File: file}, "%v", err)
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }
