package pbx

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for n := 0; n < 40; n++ {
		w := b.Wait(n)
		ceil := min(100*time.Millisecond<<min(n, 20), 5*time.Second)
		if w < ceil/2 || w > ceil {
			t.Fatalf("Wait(%d) = %s outside [%s, %s]", n, w, ceil/2, ceil)
		}
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context: %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
