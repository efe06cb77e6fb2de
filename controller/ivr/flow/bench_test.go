package flow

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

// nullSession answers every wait with the key from next and discards the
// trail: what is measured is the interpreter.
type nullSession struct {
	next func() string
	hold chan struct{} // when set, WaitKey blocks until it closes
}

func (s *nullSession) Play(context.Context, string, ...string) (string, error) { return "", nil }
func (s *nullSession) PlayAll(context.Context, string, ...string) error        { return nil }
func (s *nullSession) WaitKey(ctx context.Context, _ string, _ time.Duration) (string, error) {
	if s.hold != nil {
		select {
		case <-s.hold:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		return "0", nil
	}
	return s.next(), nil
}
func (s *nullSession) Trail(string, string, string)       {}
func (s *nullSession) Secret(context.Context, bool) error { return nil }
func (s *nullSession) Record(context.Context, string, time.Duration) (string, error) {
	return "", nil
}

const stepFlow = `
vars: {n: 0}
nodes:
  menu:
    type: menu
    say: [menu]
    options: {"1": inc, "2": end}
    on_timeout: release
  inc:
    type: condition
    when:
      - if: n < 1000000000
        next: count
    else: end
  count:
    type: set
    set: {n: n + 1}
    next: menu
`

// BenchmarkStep is the cost of one IVR step: a menu key, a condition and
// a set, over and over (3 nodes per key).
func BenchmarkStep(b *testing.B) {
	p := compile(b, stepFlow)
	const perRun = 10000 // keys per call, under the total step bound
	steps := 0
	b.ReportAllocs()
	b.ResetTimer()
	for steps < b.N {
		keys := 0
		s := &nullSession{next: func() string {
			keys++
			if keys > perRun {
				return "2"
			}
			return "1"
		}}
		res, err := p.Run(context.Background(), s, Call{Caller: "1"}, Env{Now: time.Now})
		if err != nil {
			b.Fatal(err)
		}
		steps += res.Steps
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/step")
}

// liveSessions starts n calls of the shipped main flow and returns once
// every one waits in the main menu; release ends them.
func liveSessions(t testing.TB, n int) (perSession float64, release func()) {
	p := loadShipped(t, "main.yaml")
	hold := make(chan struct{})
	var started, done sync.WaitGroup
	measure := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc + ms.StackInuse
	}
	before := measure()
	started.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		s := &waitingSession{nullSession: nullSession{hold: hold}, started: &started}
		go func() {
			defer done.Done()
			_, _ = p.Run(context.Background(), s, Call{Caller: "13800000001", Service: "10000"}, Env{})
		}()
	}
	started.Wait()
	after := measure()
	return float64(after-before) / float64(n), func() { close(hold); done.Wait() }
}

// waitingSession signals when the call first waits for a key.
type waitingSession struct {
	nullSession
	started *sync.WaitGroup
	once    sync.Once
}

func (s *waitingSession) WaitKey(ctx context.Context, node string, d time.Duration) (string, error) {
	s.once.Do(s.started.Done)
	return s.nullSession.WaitKey(ctx, node, d)
}

// The memory a live call costs in the interpreter (its goroutine, stack,
// frames, variables, expression VM), 1,000 calls waiting in the main
// menu at once: the target is at most 20 KiB each.
func TestSessionMemory(t *testing.T) {
	per, release := liveSessions(t, 1000)
	defer release()
	t.Logf("%.0f bytes/session", per)
	if per > 20*1024 {
		t.Fatalf("%.0f bytes per live session, want at most 20 KiB", per)
	}
}

// BenchmarkSessionMemory reports bytes per live session with 1,000
// concurrent sessions.
func BenchmarkSessionMemory(b *testing.B) {
	var total float64
	for i := 0; i < b.N; i++ {
		per, release := liveSessions(b, 1000)
		release()
		total += per
	}
	b.ReportMetric(total/float64(b.N), "bytes/session")
}
