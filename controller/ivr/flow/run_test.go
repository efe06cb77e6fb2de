package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hotline-cc/hotline/controller/ivr"
)

// compile loads one in-memory flow (prompt names unchecked).
func compile(t testing.TB, src string, files ...string) *Program {
	t.Helper()
	fsys := fstest.MapFS{"t.yaml": {Data: []byte(src)}}
	for i := 0; i+1 < len(files); i += 2 {
		fsys[files[i]] = &fstest.MapFile{Data: []byte(files[i+1])}
	}
	q, err := ParseQueries("q.yaml", []byte("current_bill:\n  sql: SELECT 1 AS cents WHERE $1 <> ''\n  params: [number]\n  columns: {cents: int}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(fsys, "t.yaml", Options{Queries: q})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func simulate(t *testing.T, p *Program, keys string, fx *Fixtures) (Result, []string, error) {
	t.Helper()
	acts, err := ParseKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	res, steps, err := p.Simulate(context.Background(), Simulation{Call: Call{Caller: "13800000001", Service: "10000"}, Keys: acts, Fixtures: fx})
	lines := make([]string, len(steps))
	for i, s := range steps {
		lines[i] = s.String()
	}
	return res, lines, err
}

func hasStep(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

const menuFlow = `
rules: {no_input: 30s}
nodes:
  menu:
    type: menu
    say: [menu]
    options: {"1": done}
    timeout: 10s
    on_timeout: repeat
  done:
    type: hangup
`

// The built-in no-input rule counts waiting across repeats: three 10 s
// timeouts make 30 s without a key → goodbye, released for no input.
func TestNoInputRuleAcrossRepeats(t *testing.T) {
	p := compile(t, menuFlow)
	res, lines, err := simulate(t, p, "", nil)
	if err != nil || res.Outcome != ivr.ReleasedNoInput {
		t.Fatalf("outcome %s, %v; want released_no_input\n%s", res.OutcomeName, err, strings.Join(lines, "\n"))
	}
	want := []string{"menu prompt: sound:hotline/menu", "menu timeout: no key for 10s", "menu prompt: sound:hotline/menu",
		"menu timeout: no key for 10s", "menu prompt: sound:hotline/menu", "menu timeout: no key for 30s", "goodbye prompt: sound:hotline/goodbye"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("trail:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// A key resets the count.
	res, _, _ = simulate(t, p, ",,5,,,1", nil)
	if res.Outcome != ivr.Contained {
		t.Fatalf("after a key the caller had 30 s again; got %s", res.OutcomeName)
	}
}

// The fake clock moves by exactly the waits: no real time passes.
func TestSimulationUsesAFakeClock(t *testing.T) {
	p := compile(t, menuFlow)
	acts, _ := ParseKeys("")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewFakeSession(acts, start)
	began := time.Now()
	if _, err := p.Run(context.Background(), s, Call{}, Env{Now: s.Now}); err != nil {
		t.Fatal(err)
	}
	if got := s.Now().Sub(start); got != 30*time.Second {
		t.Fatalf("fake clock moved %s, want 30s", got)
	}
	if time.Since(began) > 5*time.Second {
		t.Fatal("the simulation waited in real time")
	}
}

// A loop that plays but never waits for the caller hits the step limit
// and ends with a clear error, the caller going to an agent.
func TestStepLimit(t *testing.T) {
	p := compile(t, `
nodes:
  a: {type: play, say: [welcome], next: b}
  b: {type: goto, next: a}
`)
	res, _, err := simulate(t, p, "", nil)
	var re *RunError
	if !errors.As(err, &re) || !errors.Is(err, ErrStepLimit) {
		t.Fatalf("err %v, want a RunError wrapping ErrStepLimit", err)
	}
	if res.Outcome != ivr.ToAgent || res.Queue == nil {
		t.Fatalf("outcome %s queue %v; want to_agent with a queue", res.OutcomeName, res.Queue)
	}
	if res.Steps != DefaultMaxSteps+1 {
		t.Fatalf("%d steps, want %d", res.Steps, DefaultMaxSteps+1)
	}
}

// Hostile expressions are bounded: an allocation over the memory budget
// fails the run cleanly instead of exhausting memory.
func TestExpressionMemoryBudget(t *testing.T) {
	p := compile(t, `
vars: {n: 0}
nodes:
  big:
    type: set
    set: {n: 'len(map(1..100000000, # * 2))'}
    next: end
`)
	done := make(chan struct{})
	var err error
	var res Result
	go func() {
		defer close(done)
		res, _, err = simulate(t, p, "", nil)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the expression ran for more than 10 s")
	}
	if !strings.Contains(fmt.Sprint(err), "memory budget exceeded") || res.Outcome != ivr.ToAgent {
		t.Fatalf("err %v, outcome %s; want a memory budget error and to_agent", err, res.OutcomeName)
	}
}

const secretFlow = `
vars: {ok: false}
nodes:
  pin:
    type: collect
    say: [menu]
    secret: true
    min: 4
    max: 4
    validate: value.Len() == 4
    into: pin
    next: again
  again:
    type: collect
    say: [menu]
    secret: true
    min: 4
    max: 4
    into: pin2
    next: cmp
  cmp:
    type: set
    set: {ok: pin.Equal(pin2)}
    next: done
  done:
    type: hangup
`

// Secret digits go to the session in secret mode, never to the trail, the
// result, the logs or JSON; expressions can still compare them.
func TestSecretCollect(t *testing.T) {
	p := compile(t, secretFlow)
	acts, _ := ParseKeys("4711,4711")
	s := NewFakeSession(acts, time.Unix(0, 0))
	var logs bytes.Buffer
	res, err := p.Run(context.Background(), s, Call{Caller: "1"}, Env{Now: s.Now, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if res.Vars["ok"] != "true" || res.Vars["pin"] != Redacted {
		t.Fatalf("vars %v: want ok=true and pin redacted", res.Vars)
	}
	if fmt.Sprint(s.SecretLog) != "[true false true false]" {
		t.Fatalf("secret mode calls %v, want on/off around each entry", s.SecretLog)
	}
	js, _ := json.Marshal(res)
	all := fmt.Sprint(s.Steps()) + string(js) + logs.String()
	if strings.Contains(all, "4711") || strings.Contains(all, "4 7 1 1") {
		t.Fatalf("the secret leaked: %s", all)
	}
	if !strings.Contains(fmt.Sprint(s.Steps()), "pin collected: 4 digits") {
		t.Fatalf("trail lacks the digit count: %v", s.Steps())
	}
	// Mismatch.
	res, _, _ = simulate(t, p, "4711,4712", nil)
	if res.Vars["ok"] != "false" {
		t.Fatalf("different secrets compared equal: %v", res.Vars)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret{v: "123456"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "pw", s)
	js, _ := json.Marshal(map[string]any{"pw": s})
	txt, _ := s.MarshalText()
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %d", s, s, s, s, s, s, s), s.String(), s.GoString(), logs.String(), string(js), string(txt)} {
		if strings.Contains(out, "123456") || strings.Contains(out, "313233") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if s.Len() != 6 || !s.Equal(Secret{v: "123456"}) || s.Equal(Secret{v: "123457"}) || RevealSecret(s) != "123456" {
		t.Error("Len/Equal/RevealSecret wrong")
	}
}

// A transfer number that comes from outside (a lookup) is checked: a
// dial-string injection is refused and the on_error branch taken.
func TestTransferNumberChecked(t *testing.T) {
	p := compile(t, `
nodes:
  who:
    type: lookup
    http: {url: "http://x.test/who"}
    fields: {number: string}
    next: go
  go:
    type: transfer
    number: who.number
    on_error: sorry
  sorry:
    type: hangup
    outcome: released
`)
	for _, tc := range []struct {
		number  string
		outcome ivr.Outcome
	}{{"+8610123456", ivr.Transferred}, {"10086", ivr.Transferred}, {"123&PJSIP/evil", ivr.Released}, {"", ivr.Released}, {"12", ivr.Released}} {
		fx := &Fixtures{HTTP: map[string]FixtureHTTP{"http://x.test/who": {Status: 200, Body: fmt.Sprintf(`{"number": %q}`, tc.number)}}}
		res, lines, err := simulate(t, p, "", fx)
		if err != nil || res.Outcome != tc.outcome {
			t.Errorf("number %q: outcome %s, %v; want %s\n%s", tc.number, res.OutcomeName, err, tc.outcome, strings.Join(lines, "\n"))
		}
		if tc.outcome == ivr.Transferred && (res.Transfer == nil || res.Transfer.Number != tc.number) {
			t.Errorf("number %q: transfer %+v", tc.number, res.Transfer)
		}
	}
}

// A blocking session: WaitKey blocks until ctx ends.
type blockingSession struct{ FakeSession }

func (b *blockingSession) WaitKey(ctx context.Context, node string, d time.Duration) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

func TestContextCancelStopsRun(t *testing.T) {
	p := compile(t, menuFlow)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx, &blockingSession{}, Call{}, Env{})
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
}

func TestMandarinNumbers(t *testing.T) {
	cases := map[int64]string{
		0: "0", 7: "7", 10: "10", 11: "10 1", 20: "2 10", 105: "1 100 0 5", 110: "1 100 1 10",
		1001: "1 1000 0 1", 1010: "1 1000 0 1 10", 10000: "1 10000", 10010: "1 10000 0 1 10",
		100000: "10 10000", 1000001: "1 100 10000 0 1", 100000000: "1 100000000",
		100050000: "1 100000000 0 5 10000", 123456789: "1 100000000 2 1000 3 100 4 10 5 10000 6 1000 7 100 8 10 9",
		-15: "fu 10 5",
	}
	for n, want := range cases {
		var got []string
		for _, m := range sayNumber(nil, n, "zh") {
			got = append(got, strings.TrimPrefix(m, PromptMedia+"zh-"))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%d: %v, want %s", n, got, want)
		}
	}
}

func TestSayMoneyAndDates(t *testing.T) {
	j := func(m []string) string {
		return strings.ReplaceAll(strings.Join(m, " "), PromptMedia, "")
	}
	for _, tc := range []struct {
		got, want string
	}{
		{j(sayMoney(nil, 12345, "en")), "number:123 yuan number:45 cents"},
		{j(sayMoney(nil, 12345, "zh")), "zh-1 zh-100 zh-2 zh-10 zh-3 zh-yuan zh-4 zh-jiao zh-5 zh-fen"},
		{j(sayMoney(nil, 1000, "zh")), "zh-10 zh-yuan zh-zheng"},
		{j(sayMoney(nil, 1005, "zh")), "zh-10 zh-yuan zh-0 zh-5 zh-fen"},
		{j(sayMoney(nil, 50, "zh")), "zh-0 zh-yuan zh-5 zh-jiao"},
		{j(sayMoney(nil, -250, "en")), "minus number:2 yuan number:50 cents"},
		{j(sayDate(nil, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), "zh")), "zh-2 zh-0 zh-2 zh-6 zh-nian zh-10 zh-1 zh-yue zh-2 zh-10 zh-3 zh-ri"},
		{j(sayDate(nil, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), "en")), "month-11 number:23 number:2026"},
		{j(sayDigits(nil, "0755-1", "en")), "digits:07551"},
		{j(sayDigits(nil, "0755", "zh")), "zh-0 zh-7 zh-5 zh-5"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// A say list renders expressions in the call's language.
func TestPlaySayItems(t *testing.T) {
	p := compile(t, `
nodes:
  a:
    type: play
    say: [welcome, {number: 42}, {date: '"2026-02-03"'}, {digits: caller}, {money: 1999}]
    next: b
  b:
    type: set
    set: {lang: '"zh"'}
    next: c
  c:
    type: play
    say: [{number: 42}]
    next: end
`)
	_, lines, err := simulate(t, p, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want1 := "a prompt: sound:hotline/welcome number:42 sound:hotline/month-2 number:3 number:2026 digits:13800000001 number:19 sound:hotline/yuan number:99 sound:hotline/cents"
	want2 := "c prompt: sound:hotline/zh-4 sound:hotline/zh-10 sound:hotline/zh-2"
	if !hasStep(lines, want1) || !hasStep(lines, want2) {
		t.Fatalf("trail:\n%s\nwant %q and %q", strings.Join(lines, "\n"), want1, want2)
	}
}

// A sub-flow returns to the caller's next; its variables are reported
// under its name.
func TestSubFlowReturn(t *testing.T) {
	p := compile(t, `
nodes:
  call:
    type: flow
    flow: sub
    next: after
  after:
    type: hangup
`, "sub.yaml", `
vars: {x: 0}
nodes:
  s:
    type: set
    set: {x: 7}
    next: return
`)
	res, lines, err := simulate(t, p, "", nil)
	if err != nil || res.Outcome != ivr.Contained || res.Vars["sub.x"] != "7" {
		t.Fatalf("outcome %s vars %v err %v\n%s", res.OutcomeName, res.Vars, err, strings.Join(lines, "\n"))
	}
	for _, w := range []string{"call flow: → sub", "sub.s set: x=7", "sub.s flow: return from sub", "after end: contained"} {
		if !hasStep(lines, w) {
			t.Errorf("trail lacks %q:\n%s", w, strings.Join(lines, "\n"))
		}
	}
	if got := p.Files(); strings.Join(got, ",") != "t.yaml,sub.yaml" {
		t.Errorf("Files() = %v", got)
	}
}

func TestParseKeys(t *testing.T) {
	acts, err := ParseKeys("1,,^0,12#,hangup")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(acts)
	want := "[{1 false false} { false false} {0 true false} {1 false false} {2 false false} {# false false} { false true}]"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	for _, bad := range []string{"x", "1,^", "12;3"} {
		if _, err := ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		}
	}
}

// Every node kind and field is parsed from a valid flow without problems
// and prompts are checked against the prompt list.
func TestPromptsChecked(t *testing.T) {
	fsys := fstest.MapFS{"t.yaml": {Data: []byte("nodes:\n  a: {type: play, say: [welcome, nope], next: end}\n")}}
	p, _ := ParsePrompts("p.txt", []byte("welcome|Hi\ngoodbye|Bye\ninvalid|No\n"))
	_, err := Load(fsys, "t.yaml", Options{Prompts: p})
	if err == nil || err.Error() != `t.yaml:2:34: prompt "nope" is not defined in p.txt` {
		t.Fatalf("got %v", err)
	}
	if _, err := ParsePrompts("p.txt", []byte("ok|fine\nBad Name|x\nzz|text|fr\nok|again\n")); err == nil ||
		!strings.Contains(err.Error(), `p.txt:2:1: bad prompt name "Bad Name"`) || !strings.Contains(err.Error(), `p.txt:3:`) || !strings.Contains(err.Error(), "p.txt:4:1: prompt ok is defined twice") {
		t.Fatalf("prompt list problems: %v", err)
	}
}

// A caller who was served (the bill was read) and then keys nothing more
// is released, but the call counts as contained: self-service did its
// job. One who was never served is released for no input.
func TestServedThenNoInputIsContained(t *testing.T) {
	p := compile(t, `
rules: {no_input: 3s}
nodes:
  info:
    type: play
    served: true
    say: [{digits: "12"}]
    next: more
  more:
    type: menu
    say: [{digits: "1"}]
    options: {"1": info}
    timeout: 5s
    on_timeout: release
`)
	res, lines, err := simulate(t, p, "", nil)
	if err != nil || res.Outcome != ivr.Contained {
		t.Fatalf("served then silent: %s, %v; want contained\n%s", res.OutcomeName, err, strings.Join(lines, "\n"))
	}
	p = compile(t, `
rules: {no_input: 3s}
nodes:
  more:
    type: menu
    say: [{digits: "1"}]
    options: {"1": more}
    timeout: 5s
    on_timeout: release
`)
	if res, lines, err = simulate(t, p, "", nil); err != nil || res.Outcome != ivr.ReleasedNoInput {
		t.Fatalf("never served: %s, %v; want released_no_input\n%s", res.OutcomeName, err, strings.Join(lines, "\n"))
	}
}
