package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/load"
)

func newLoadCmd(g *globals) *cobra.Command {
	var workDir, adminURL, sandbox, cpuProfile string
	var agents int
	var rates []float64
	var duration, talk time.Duration
	var share float64
	var sides []string
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Compare hotline's queue with Asterisk's app_queue under the same bounded SIPp load",
		Long: `load starts ` + "`hotline serve`" + ` on a fresh database (hotline_load) against the running
Asterisk sandbox, puts 20 SIPp phones in the agents' hands (answer after 1 s, hang
up after --talk), and for each --rates step places the same SIPp caller load for
--duration through Asterisk's own app_queue and then through hotline. It reports
SIPp's call counts, peak channels, the delay to the agent's phone ringing, and
the CPU of Asterisk and of hotline. Only 127.0.0.1 is used; it stops by itself.

It reads HOTLINE_ARI_URL, HOTLINE_ARI_USER, HOTLINE_ARI_PASSWORD and
HOTLINE_RECORDING_DIR (scripts/asterisk-sandbox.sh env prints them).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var o load.Options
			for _, f := range []struct {
				dst  *string
				name string
			}{{&o.ARIURL, "HOTLINE_ARI_URL"}, {&o.ARIUser, "HOTLINE_ARI_USER"}, {&o.ARIPassword, config.EnvARIPassword}, {&o.RecordingDir, "HOTLINE_RECORDING_DIR"}} {
				if *f.dst = g.getenv(f.name); *f.dst == "" {
					return fmt.Errorf("%s is not set: start the sandbox and load its environment "+
						"(eval \"$(scripts/asterisk-sandbox.sh env)\"; make load does both)", f.name)
				}
			}
			var err error
			if o.Binary, err = os.Executable(); err != nil {
				return err
			}
			if sandbox, err = filepath.Abs(sandbox); err != nil {
				return err
			}
			if workDir == "" {
				workDir = filepath.Join(os.TempDir(), "hotline-load-"+g.now().Format("20060102-150405"))
			}
			for _, s := range sides {
				switch load.Side(s) {
				case load.AppQueue, load.Hotline:
					o.Sides = append(o.Sides, load.Side(s))
				default:
					return fmt.Errorf("--sides: %q is neither app_queue nor hotline", s)
				}
			}
			if share < 0 || share > 1 {
				return fmt.Errorf("--agent-share %g: want 0..1", share)
			}
			if cpuProfile != "" {
				// A CPU profile of this load process only (SIPp, Postgres
				// and hotline serve are other processes).
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			o.Out, o.WorkDir, o.AdminDatabaseURL, o.Agents, o.Sandbox = cmd.OutOrStdout(), workDir, adminURL, agents, sandbox
			o.Rates, o.Duration, o.Talk, o.AgentShare = rates, duration, talk, share
			if o.Log, err = NewLogger(cmd.ErrOrStderr(), config.Log{Level: "info", Format: "text"}); err != nil {
				return err
			}
			_, err = load.Run(cmd.Context(), o)
			return err
		},
	}
	cmd.Flags().StringVar(&workDir, "work-dir", "", "where logs, SIPp traces and the generated configuration go (default: a new temporary directory)")
	cmd.Flags().StringVar(&adminURL, "admin-database-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"a Postgres connection allowed to drop and create the database hotline_load")
	cmd.Flags().StringVar(&sandbox, "sandbox", "scripts/asterisk-sandbox.sh", "the sandbox script (Asterisk's pid and CLI)")
	cmd.Flags().IntVar(&agents, "agents", 20, "SIPp agent phones (agent1..N, ports 5101..)")
	cmd.Flags().Float64SliceVar(&rates, "rates", []float64{10, 20, 30}, "offered calls/s, one step each")
	cmd.Flags().DurationVar(&duration, "duration", 60*time.Second, "how long each side places calls at each step")
	cmd.Flags().DurationVar(&talk, "talk", time.Second, "agent talk time before the agent's phone hangs up")
	cmd.Flags().Float64Var(&share, "agent-share", 0.25, "share of calls that press 0 for an agent (the rest use self-service)")
	cmd.Flags().StringSliceVar(&sides, "sides", []string{"app_queue", "hotline"}, "which sides to run, in order")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this load process (not of hotline serve) to FILE")
	return cmd
}
