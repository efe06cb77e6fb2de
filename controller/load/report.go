package load

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Side is which ACD a run goes through.
type Side string

// The two sides of the comparison.
const (
	AppQueue Side = "app_queue"
	Hotline  Side = "hotline"
)

// Stream is one SIPp caller process of a side: the self-service share or
// the share that reaches an agent.
type Stream struct {
	Name     string // "ivr" or "agent"
	FromUser string // sipp -set from_user (the PJSIP endpoint)
	Service  string // sipp -s (the dialled number / extension)
	Rate     float64
	Calls    int
	Rows     [][]string // caller-uac.xml injection rows, one per call
}

// ivrStayMs bounds how long a self-service caller stays after the key.
const ivrStayMs = 60000

// Mix builds a side's caller streams for one rate step: (1-agentShare) of
// the calls go self-service, agentShare reach an agent. Both sides get the
// same rates, call counts and caller rows (only the endpoint and number
// differ):
//
//   - self-service: key 1 at 2.5 s, then wait for the system's BYE
//     (at most ivrStayMs).
//     hotline: 10000's main flow: greeting and menu, the bill looked up
//     and read out, the bill sub-menu's 5 s, goodbye. app_queue side: the
//     sandbox's [appqueue] dialplan doing the same with the same prompt
//     files (the amount is made up instead of looked up).
//   - agent: key 0 at 2 s, then the caller hangs up 2.2 s + talk after
//     the key (key heard ~1.2 s later, 1 s ringing, then talk), so with
//     an agent free the conversation lasts about talk. hotline routes on
//     the key; on the app_queue side the caller dials 10001 and is in
//     Queue(bench) from the answer (the key is ignored), which gives
//     app_queue 2 s more to connect. The caller, not the agent's phone,
//     hangs up: with app_queue the phone's own BYE (agent-uas-hangup.xml)
//     left both channels up in the sandbox, so it would not compare like
//     for like.
//
// Caller numbers are unique per call: prefix + 5 digits.
//
// An ivr caller whom the self-service sends to an agent instead (a bill
// lookup that fails under load takes the flow's on_error, to an agent)
// hangs up ivrStayMs after the key, as a caller who has talked would:
// nobody else ends that call, since the agent's phone waits for the
// caller. The self-service itself ends long before that.
func Mix(side Side, rate float64, dur time.Duration, agentShare float64, talk time.Duration, prefix string) []Stream {
	total := int(math.Round(rate * dur.Seconds()))
	agent := int(math.Round(float64(total) * agentShare))
	ivr := total - agent
	mk := func(n int, keys string, after int, stay int, first int) [][]string {
		rows := make([][]string, n)
		for i := range rows {
			rows[i] = []string{fmt.Sprintf("%s%05d", prefix, first+i), keys, strconv.Itoa(after), "", "0", "", "0", strconv.Itoa(stay)}
		}
		return rows
	}
	ivrS := Stream{Name: "ivr", Rate: rate * (1 - agentShare), Calls: ivr, Rows: mk(ivr, "1", 2500, ivrStayMs, 0)}
	agS := Stream{Name: "agent", Rate: rate * agentShare, Calls: agent, Rows: mk(agent, "0", 2000, 2200+int(talk.Milliseconds()), 50000)}
	switch side {
	case AppQueue:
		ivrS.FromUser, ivrS.Service = "appqueue", "10000"
		agS.FromUser, agS.Service = "appqueue", "10001"
	default:
		ivrS.FromUser, ivrS.Service = "trunk", "10000"
		agS.FromUser, agS.Service = "trunk", "10000"
	}
	var out []Stream
	for _, s := range []Stream{ivrS, agS} {
		if s.Calls > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Percentile returns the p-quantile (0..1) of sorted values by the
// nearest-rank method used in the demo; NaN for no values.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

// Dist summarises a latency sample in milliseconds.
type Dist struct {
	N        int
	P50, P99 float64
}

// NewDist sorts ms in place and summarises it.
func NewDist(ms []float64) Dist {
	sort.Float64s(ms)
	return Dist{N: len(ms), P50: Percentile(ms, 0.5), P99: Percentile(ms, 0.99)}
}

func (d Dist) String() string {
	if d.N == 0 {
		return "n=0"
	}
	return fmt.Sprintf("%.0f / %.0f ms (n=%d)", d.P50, d.P99, d.N)
}

// ProcCPU is a process's CPU time from /proc/PID/stat, in clock ticks.
type ProcCPU struct {
	UTime, STime uint64
}

// Seconds converts ticks (USER_HZ, 100 on Linux) to seconds.
func (c ProcCPU) Seconds() float64 { return float64(c.UTime+c.STime) / 100 }

// ParseProcStat reads utime and stime (fields 14 and 15) from the text
// of /proc/PID/stat. The command name may contain spaces and ')'.
func ParseProcStat(s string) (ProcCPU, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return ProcCPU{}, fmt.Errorf("proc stat: no ')' in %q", s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return ProcCPU{}, fmt.Errorf("proc stat: %d fields after the name", len(f))
	}
	u, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return ProcCPU{}, fmt.Errorf("proc stat utime: %w", err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return ProcCPU{}, fmt.Errorf("proc stat stime: %w", err)
	}
	return ProcCPU{UTime: u, STime: st}, nil
}

// ParseSystemStat returns busy and total jiffies from the "cpu " line of
// /proc/stat.
func ParseSystemStat(s string) (busy, total uint64, err error) {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		for i, v := range f[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, 0, err
			}
			total += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
		return busy, total, nil
	}
	return 0, 0, fmt.Errorf("proc stat: no cpu line")
}

// ParseStatusKB returns a "Name: N kB" value of /proc/PID/status in kB.
func ParseStatusKB(status, name string) (int, bool) {
	for _, line := range strings.Split(status, "\n") {
		if strings.HasPrefix(line, name+":") {
			f := strings.Fields(line[len(name)+1:])
			if len(f) > 0 {
				n, err := strconv.Atoi(f[0])
				return n, err == nil
			}
		}
	}
	return 0, false
}

// ParseChannelCount reads "N active channels" from Asterisk's
// "core show channels count".
func ParseChannelCount(out string) (int, bool) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == "active" && strings.HasPrefix(f[2], "channel") {
			n, err := strconv.Atoi(f[0])
			return n, err == nil
		}
	}
	return 0, false
}

// Row is one side of one rate step in the results table.
type Row struct {
	Side               Side
	Rate               float64
	Attempted          int
	Succeeded, Failed  int
	Sustained          float64 // succeeded calls / send window
	PeakChannels       int
	Delay              Dist // agent free: decision → agent phone ringing
	DelayAll           Dist // every call that reached an agent
	AsteriskCPU        float64
	HotlineCPU         float64 // percent of one core; NaN for app_queue
	HotlineRSSMB       float64
	MachineCPU         float64 // percent of all cores
	AgentCalls, Agents int     // calls that reached an agent (answered)
	Note               string
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", v)
}

// WriteTable prints rows as a Markdown table.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| calls/s offered | side | attempted / ok / failed | calls/s sustained | peak channels | to agent ringing, agent free p50/p99 | to agent ringing, all p50/p99 | Asterisk CPU | hotline CPU | hotline RSS | machine CPU |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		rss := "–"
		if r.HotlineRSSMB > 0 {
			rss = fmt.Sprintf("%.0f MB", r.HotlineRSSMB)
		}
		fmt.Fprintf(w, "| %g | %s | %d / %d / %d | %.1f | %d | %s | %s | %s | %s | %s | %s |\n",
			r.Rate, r.Side, r.Attempted, r.Succeeded, r.Failed, r.Sustained, r.PeakChannels,
			r.Delay, r.DelayAll, pct(r.AsteriskCPU), pct(r.HotlineCPU), rss, pct(r.MachineCPU))
	}
}
