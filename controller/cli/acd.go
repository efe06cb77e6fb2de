package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/acd/erlang"
	"github.com/hotline-cc/hotline/controller/acd/sim"
	"github.com/hotline-cc/hotline/controller/api"
)

func newACDCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acd",
		Short: "See the queues of a running hotline, or simulate routing offline",
	}
	cmd.AddCommand(newACDSimulateCmd(), newACDQueuesCmd(g))
	return cmd
}

func newACDQueuesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queues",
		Short: "Show every queue's live state: calls waiting, longest wait, expected wait, agents",
		Long: `queues asks a running "hotline serve" (at --api, else api.listen from the
configuration; token from HOTLINE_API_TOKEN) for each queue's calls in
line (callbacks among them), the longest wait so far, the wait a caller
joining now would be told, its agents by state, and its calls since
midnight: offered (joined the queue and ended), answered, abandoned, and
the service level (answered within the queue's service_level_within,
over offered).`,
		Args: cobra.NoArgs,
	}
	conn := apiFlag(g, cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, base, err := conn.client()
		if err != nil {
			return err
		}
		qs, err := c.Queues(cmd.Context())
		if err != nil {
			return conn.explain(err, base)
		}
		return printQueues(cmd.OutOrStdout(), qs)
	}
	return cmd
}

// agentStates is the order queues shows agents' states in.
var agentStates = []acd.State{acd.Ready, acd.Reserved, acd.Ringing, acd.OnCall, acd.OnHold, acd.AfterCallWork, acd.NotReady}

func printQueues(w io.Writer, qs []api.QueueStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "QUEUE\tWAITING\tCALLBACKS\tLONGEST\tEWT")
	for _, s := range agentStates {
		fmt.Fprintf(tw, "\t%s", s)
	}
	fmt.Fprintln(tw, "\tOFFERED\tANSWERED\tABANDONED\tSERVICE LEVEL")
	for _, q := range qs {
		ewt := "-" // no agent on duty may take its calls
		if q.EWTSeconds != nil {
			ewt = (time.Duration(*q.EWTSeconds) * time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s", q.ID, q.Waiting, q.Callbacks, time.Duration(q.LongestWaitSeconds)*time.Second, ewt)
		for _, s := range agentStates {
			fmt.Fprintf(tw, "\t%d", q.Agents[string(s)])
		}
		d := q.Today
		sl := "-" // nothing offered yet today
		if d.ServiceLevel != nil {
			sl = fmt.Sprintf("%.0f%% in %s", 100**d.ServiceLevel, time.Duration(d.ServiceLevelWithinSeconds)*time.Second)
		}
		fmt.Fprintf(tw, "\t%d\t%d\t%d\t%s\n", d.Offered, d.Answered, d.Abandoned, sl)
	}
	return tw.Flush()
}

func newACDSimulateCmd() *cobra.Command {
	var (
		cfg      sim.Config
		strategy string
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Simulate a queue with the real routing code and compare it with Erlang C/A",
		Long: `simulate runs a discrete-event simulation of one queue on simulated time,
with hotline's own routing code deciding: Poisson arrivals at --rate,
handle times with mean --aht (exponential or lognormal), exponential
patience with mean --patience (0: nobody abandons), --agents agents.

It prints the service level, ASA, abandon rate and occupancy it measured,
the Erlang C (no patience) or Erlang A figures for the same load, and how
well the expected-wait estimate predicted callers' waits. A run is fixed
by its --seed. Progress goes to stderr.`,
		Example: `  hotline acd simulate --rate 2.5 --aht 180s --agents 50 --patience 120s --calls 20000 --strategy longest-idle`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, ok := acd.RouterByName(strategy, cfg.Seed)
			if !ok {
				return fmt.Errorf("--strategy %q: use one of %s", strategy, strings.Join(acd.RouterNames(), ", "))
			}
			cfg.Router = r
			cfg.Progress = progress(cmd.ErrOrStderr(), "simulate", "calls")
			res, err := sim.Run(cfg)
			if err != nil {
				return err
			}
			return printSimulation(cmd.OutOrStdout(), cfg, strategy, res)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&cfg.Rate, "rate", 0.25, "arrivals per second")
	f.DurationVar(&cfg.AHT, "aht", 180*time.Second, "mean handle time")
	f.StringVar(&cfg.AHTDist, "aht-dist", "exponential", "handle time distribution: exponential or lognormal")
	f.Float64Var(&cfg.AHTCV, "aht-cv", 1, "coefficient of variation of lognormal handle times")
	f.IntVar(&cfg.Agents, "agents", 50, "agents")
	f.DurationVar(&cfg.Patience, "patience", 0, "mean patience before a caller hangs up (0: never)")
	f.DurationVar(&cfg.WrapUp, "wrap-up", 0, "after-call work per call")
	f.IntVar(&cfg.Calls, "calls", 20000, "calls to simulate (the first 5% warm the queue up and are not counted)")
	f.StringVar(&strategy, "strategy", "longest-idle", "routing strategy: "+strings.Join(acd.RouterNames(), ", "))
	f.DurationVar(&cfg.Within, "sl", 20*time.Second, "service level threshold")
	f.DurationVar(&cfg.AnnounceEvery, "announce-every", 30*time.Second, "how often a waiting caller hears the expected wait (a queue's announce_every)")
	f.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	return cmd
}

func printSimulation(w io.Writer, cfg sim.Config, strategy string, r sim.Result) error {
	load := erlang.Load{Rate: cfg.Rate, AHT: cfg.AHT, Patience: cfg.Patience}
	model := "Erlang C"
	if cfg.Patience > 0 {
		model = "Erlang A"
	}
	fmt.Fprintf(w, "%d calls simulated (%d counted after warm-up) over %s of simulated time\n", cfg.Calls, r.Offered, r.Simulated.Round(time.Second))
	fmt.Fprintf(w, "%d agents, %.1f Erlangs offered, AHT %s (%s), patience %s, strategy %s, seed %d\n\n",
		cfg.Agents, load.Erlangs(), cfg.AHT, cfg.AHTDist, patience(cfg.Patience), strategy, cfg.Seed)

	want, werr := load.At(cfg.Agents, cfg.Within)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\tsimulated\t%s\n", model)
	row := func(name, got, model string) {
		if werr != nil {
			model = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, got, model)
	}
	row(fmt.Sprintf("service level (%s)", cfg.Within), pct(r.ServiceLevel), pct(want.ServiceLevel))
	row("ASA", r.ASA.Round(10*time.Millisecond).String(), want.ASA.Round(10*time.Millisecond).String())
	row("abandoned", pct(r.AbandonRate), pct(want.Abandon))
	row("occupancy", pct(r.Occupancy), pct(want.Occupancy))
	if err := tw.Flush(); err != nil {
		return err
	}
	if errors.Is(werr, erlang.ErrUnstable) {
		fmt.Fprintf(w, "(%s has no steady state: the load is not below the number of agents)\n", model)
	} else if werr != nil {
		fmt.Fprintf(w, "(%s: %v)\n", model, werr)
	}
	e := r.EWT
	if e.Samples > 0 {
		fmt.Fprintf(w, "\nexpected-wait estimate, median error against the wait callers had:\n")
		fmt.Fprintf(w, "  all %d callers who waited: %s (naive (ahead+1)×AHT/agents: %s)\n", e.Samples, pct(e.MedianRelErr), pct(e.NaiveRelErr))
		if e.Long > 0 {
			fmt.Fprintf(w, "  %d with 10 or more ahead: %s (naive: %s)\n", e.Long, pct(e.LongRelErr), pct(e.LongNaiveErr))
		}
	}
	if e.Announced > 0 {
		fmt.Fprintf(w, "  %d announcements heard every %s, against the rest of the wait: %s; %d with 10 or more ahead: %s\n",
			e.Announced, cfg.AnnounceEvery, pct(e.AnnouncedRelErr), e.AnnouncedLong, pct(e.AnnouncedLongRelErr))
	}
	return nil
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func patience(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return d.String()
}

// progress returns a progress callback writing to w: a bar redrawn in
// place when w is a terminal, else a line every 10%.
func progress(w io.Writer, what, unit string) func(done, total int) {
	if isTerminal(w) {
		return func(done, total int) {
			const width = 30
			n := done * width / total
			fmt.Fprintf(w, "\r%s [%s%s] %3d%% %d/%d %s", what, strings.Repeat("#", n), strings.Repeat(" ", width-n), done*100/total, done, total, unit)
			if done == total {
				fmt.Fprintln(w)
			}
		}
	}
	last := 0
	return func(done, total int) {
		if tenth := done * 10 / total; tenth != last {
			last = tenth
			fmt.Fprintf(w, "%s: %d%% (%d/%d %s)\n", what, done*100/total, done, total, unit)
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
