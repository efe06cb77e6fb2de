package call

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// While Postgres is away, writes wait and are retried in order; a write
// that fails for what it wrote is logged and dropped, not retried forever.
func TestWriterRetriesInOrderWhilePostgresIsAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWriter(slog.New(slog.NewTextHandler(io.Discard, nil)))
		var mu sync.Mutex
		var done []string
		down := true
		record := func(name string) func(context.Context) error {
			return func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				if down {
					return driver.ErrBadConn
				}
				done = append(done, name)
				return nil
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		go w.run(ctx, time.Second)
		w.add("a", record("a"))
		w.add("bad", func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			if down {
				return driver.ErrBadConn
			}
			return errors.New("violates a constraint")
		})
		w.add("b", record("b"))
		time.Sleep(30 * time.Second) // Postgres away for 30 s
		synctest.Wait()
		if w.pending() != 3 {
			t.Fatalf("%d writes pending while postgres is away, want 3", w.pending())
		}
		mu.Lock()
		down = false
		mu.Unlock()
		time.Sleep(6 * time.Second) // the longest back-off
		synctest.Wait()
		mu.Lock()
		got := append([]string(nil), done...)
		mu.Unlock()
		if len(got) != 2 || got[0] != "a" || got[1] != "b" || w.pending() != 0 {
			t.Fatalf("written %v, pending %d; want [a b] and none", got, w.pending())
		}
		w.add("c", record("c"))
		cancel() // shutdown drains what is queued
		<-w.done
		if len(done) != 3 || done[2] != "c" {
			t.Fatalf("after shutdown written %v, want c drained", done)
		}
	})
}
