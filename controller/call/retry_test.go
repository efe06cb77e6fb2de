package call

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hotline-cc/hotline/controller/pbx"
)

// An answer whose reply timed out is asked for again; a channel that is
// gone is not, and the last error comes back when every try failed.
func TestRetry(t *testing.T) {
	timeout := fmt.Errorf("ari: pbx.Answer: %w", context.DeadlineExceeded)
	for _, tc := range []struct {
		name    string
		results []error
		tries   int
		err     error
		agains  int
	}{
		{"answered at once", []error{nil}, 1, nil, 0},
		{"answered on the second try", []error{timeout, nil}, 2, nil, 1},
		{"the channel is gone", []error{fmt.Errorf("ari: %w", pbx.ErrNotFound)}, 1, pbx.ErrNotFound, 0},
		{"gone after a timeout", []error{timeout, fmt.Errorf("ari: %w", pbx.ErrNotFound)}, 2, pbx.ErrNotFound, 1},
		{"never confirmed", []error{timeout, timeout, timeout, nil}, 3, context.DeadlineExceeded, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tries, agains := 0, 0
			err := retry(context.Background(), 3, func(context.Context) error {
				tries++
				return tc.results[tries-1]
			}, func(attempt int, err error) {
				agains++
				if attempt != agains || err == nil {
					t.Errorf("again(%d, %v) as call %d", attempt, err, agains)
				}
			})
			if tries != tc.tries || agains != tc.agains || (tc.err == nil) != (err == nil) || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Errorf("%d tries, %d agains, err %v; want %d, %d, %v", tries, agains, err, tc.tries, tc.agains, tc.err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tries := 0
	if err := retry(ctx, 3, func(ctx context.Context) error { tries++; return ctx.Err() }, func(int, error) {}); tries != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("shutting down: %d tries, %v; want 1, context.Canceled", tries, err)
	}
}
