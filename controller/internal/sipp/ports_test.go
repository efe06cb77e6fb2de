package sipp

import (
	"sync"
	"testing"
)

// Many SIPps started at once get distinct ports, none from the kernel's
// ephemeral range, where another process's bind to port 0 could take one
// before SIPp binds it.
func TestPickPortsDistinctAndOutsideTheEphemeralRange(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]bool{}
	var wg sync.WaitGroup
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sip, media, err := pickPorts("127.0.0.1", 0, 0)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range []int{sip, media, media + 1, media + 2, media + 3} {
				if seen[p] {
					t.Errorf("port %d handed out twice", p)
				}
				if p >= 32768 || (p >= 20000 && p <= 30000) {
					t.Errorf("port %d is in the ephemeral or Asterisk's RTP range", p)
				}
				seen[p] = true
			}
		}()
	}
	wg.Wait()
}
