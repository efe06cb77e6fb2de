package load

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	if !math.IsNaN(Percentile(nil, 0.5)) {
		t.Fatal("empty sample should give NaN")
	}
	d := NewDist([]float64{5, 1, 4, 2, 3})
	if d.N != 5 || d.P50 != 3 || d.P99 != 5 {
		t.Fatalf("got %+v", d)
	}
	var ms []float64
	for i := 100; i >= 1; i-- {
		ms = append(ms, float64(i))
	}
	d = NewDist(ms)
	if d.P50 != 51 || d.P99 != 99 {
		t.Fatalf("1..100: got %+v", d)
	}
	if s := (Dist{}).String(); s != "n=0" {
		t.Fatalf("empty dist prints %q", s)
	}
}

func TestParseProcStat(t *testing.T) {
	// The name holds spaces and a ')' like real thread names can.
	s := "5996 (asterisk (main) x) S 1 5996 5996 0 -1 4194560 1234 0 0 0 4321 876 0 0 20 0 70 0 123 1188176000 23203 18446744073709551615"
	c, err := ParseProcStat(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.UTime != 4321 || c.STime != 876 || c.Seconds() != 51.97 {
		t.Fatalf("got %+v (%.2f s)", c, c.Seconds())
	}
	if _, err := ParseProcStat("12 (x) S 1 2"); err == nil {
		t.Fatal("short stat accepted")
	}
	busy, total, err := ParseSystemStat("cpu  100 5 50 800 40 1 2 0 0 0\ncpu0 1 1 1 1 1 1 1 0 0 0\n")
	if err != nil || busy != 158 || total != 998 {
		t.Fatalf("system stat: busy=%d total=%d err=%v", busy, total, err)
	}
	if kb, ok := ParseStatusKB("Name:\thotline\nVmHWM:\t  40000 kB\nVmRSS:\t   31234 kB\n", "VmRSS"); !ok || kb != 31234 {
		t.Fatalf("VmRSS: %d %v", kb, ok)
	}
}

func TestParseChannelCount(t *testing.T) {
	out := "681 active channels\n340 active calls\n12345 calls processed\n"
	if n, ok := ParseChannelCount(out); !ok || n != 681 {
		t.Fatalf("got %d %v", n, ok)
	}
	if n, ok := ParseChannelCount("1 active channel\n0 active calls\n"); !ok || n != 1 {
		t.Fatalf("singular: got %d %v", n, ok)
	}
	if _, ok := ParseChannelCount("Unable to connect to remote asterisk"); ok {
		t.Fatal("garbage parsed")
	}
}

func TestMix(t *testing.T) {
	for _, side := range []Side{AppQueue, Hotline} {
		ss := Mix(side, 10, 60*time.Second, 0.25, time.Second, "1312")
		if len(ss) != 2 {
			t.Fatalf("%s: %d streams", side, len(ss))
		}
		ivr, ag := ss[0], ss[1]
		if ivr.Calls != 450 || ag.Calls != 150 || len(ivr.Rows) != 450 || len(ag.Rows) != 150 {
			t.Fatalf("%s: calls %d/%d rows %d/%d", side, ivr.Calls, ag.Calls, len(ivr.Rows), len(ag.Rows))
		}
		if ivr.Rate != 7.5 || ag.Rate != 2.5 {
			t.Fatalf("%s: rates %g/%g", side, ivr.Rate, ag.Rate)
		}
		if got := strings.Join(ivr.Rows[0], ";"); got != "131200000;1;2500;;0;;0;60000" {
			t.Fatalf("%s ivr row %q", side, got)
		}
		if got := strings.Join(ag.Rows[149], ";"); got != "131250149;0;2000;;0;;0;3200" {
			t.Fatalf("%s agent row %q", side, got)
		}
		seen := map[string]bool{}
		for _, s := range ss {
			for _, r := range s.Rows {
				if seen[r[0]] {
					t.Fatalf("caller %s twice", r[0])
				}
				seen[r[0]] = true
			}
		}
	}
	aq := Mix(AppQueue, 10, time.Minute, 0.25, time.Second, "1")
	if aq[0].FromUser != "appqueue" || aq[0].Service != "10000" || aq[1].FromUser != "appqueue" || aq[1].Service != "10001" {
		t.Fatalf("app_queue endpoints: %+v %+v", aq[0].FromUser, aq[1].FromUser)
	}
	hl := Mix(Hotline, 10, time.Minute, 0.25, time.Second, "1")
	if hl[0].FromUser != "trunk" || hl[1].Service != "10000" {
		t.Fatalf("hotline endpoints: %+v", hl[1])
	}
	if ss := Mix(Hotline, 10, time.Minute, 0, time.Second, "1"); len(ss) != 1 || ss[0].Name != "ivr" {
		t.Fatalf("no agent share: %+v", ss)
	}
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	WriteTable(&b, []Row{{Side: Hotline, Rate: 10, Attempted: 600, Succeeded: 600, Sustained: 10,
		PeakChannels: 120, Delay: NewDist([]float64{17, 18}), AsteriskCPU: 30, HotlineCPU: 5, HotlineRSSMB: 40, MachineCPU: 50},
		{Side: AppQueue, Rate: 10, HotlineCPU: math.NaN()}})
	out := b.String()
	for _, want := range []string{"| 10 | hotline | 600 / 600 / 0 | 10.0 | 120 | 18 / 18 ms (n=2) | n=0 | 30% | 5% | 40 MB | 50% |", "| 10 | app_queue |"} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
}
