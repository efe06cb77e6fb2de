package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/internal/sipp"
	"github.com/hotline-cc/hotline/controller/store"
)

// A ring-all queue rings every READY agent's phone at once; the first to
// answer takes the call, the other phones are cancelled and their agents
// are READY again (not NOT_READY: they did nothing wrong).
func TestRingAllFirstToAnswerTakesTheCall(t *testing.T) {
	e := start(t, acdOpts(3, func(c *config.Config) {
		c.Queues[0].Strategy = "ring-all"
		c.Queues[0].RingTimeout = 10 * time.Second
	}))
	slow1 := e.phone(1, "agent-uas.xml", map[string]string{"ring_ms": "6000"})
	e.phone(2, "agent-uas.xml", map[string]string{"ring_ms": "1500"})
	slow3 := e.phone(3, "agent-uas.xml", map[string]string{"ring_ms": "6000"})
	e.ready("1001", "1002", "1003")
	r := e.call([]string{"13800000051", "", "0", "", "0", "", "0", "5000"})
	if r.Failed != 0 {
		t.Fatalf("caller: %s\n%s", r.Summary(), r.Errors())
	}
	c := e.contact("13800000051")
	if c.Disposition.String != store.DispAnswered || c.AgentID.String != "1002" {
		t.Fatalf("contact %+v, want answered by 1002 (the first to answer)", c)
	}
	if kinds := e.eventKinds(c.ID); strings.Count(strings.Join(kinds, ","), "offered") != 3 {
		t.Fatalf("contact log %v: want the call offered to all three at once", kinds)
	}
	e.recorded(c, 3)
	for _, id := range []string{"1001", "1003"} {
		if got := e.states(id); got != "NOT_READY,READY,RESERVED,RINGING,READY" {
			t.Fatalf("agent %s went %s, want NOT_READY,READY,RESERVED,RINGING,READY", id, got)
		}
	}
	for n, p := range map[string]*sipp.Process{"1001": slow1, "1003": slow3} {
		res, _ := p.Stop(2 * time.Second)
		// (SIPp may count a retransmitted INVITE or CANCEL as a call of
		// its own: what matters is that the phone rang and was never
		// answered.)
		if res.Events["ringing"] < 1 || res.Events["cancelled"] < 1 || res.Events["answered"] != 0 {
			t.Fatalf("agent %s's phone: %s, want it rang and was cancelled", n, res.Summary())
		}
	}
}
