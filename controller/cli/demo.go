package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/demo"
)

func newDemoCmd(g *globals) *cobra.Command {
	var workDir, adminURL string
	var agents int
	var noInput time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run hotline on the Asterisk sandbox with SIPp agents and callers, and report from Postgres",
		Long: `demo starts ` + "`hotline serve`" + ` on a fresh database against a running Asterisk
(the sandbox ` + "`make demo`" + ` starts), puts SIPp phones in the agents' hands, places a mix
of SIPp calls on service 10000 and prints what happened, from Postgres.

It reads HOTLINE_ARI_URL, HOTLINE_ARI_USER, HOTLINE_ARI_PASSWORD and
HOTLINE_RECORDING_DIR (scripts/asterisk-sandbox.sh env prints them).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			need := func(name string) (string, error) {
				v := g.getenv(name)
				if v == "" {
					return "", fmt.Errorf("%s is not set: start the sandbox and load its environment "+
						"(make demo does both: scripts/asterisk-sandbox.sh start; eval \"$(scripts/asterisk-sandbox.sh env)\")", name)
				}
				return v, nil
			}
			var o demo.Options
			var err error
			for _, f := range []struct {
				dst  *string
				name string
			}{{&o.ARIURL, "HOTLINE_ARI_URL"}, {&o.ARIUser, "HOTLINE_ARI_USER"}, {&o.ARIPassword, config.EnvARIPassword}, {&o.RecordingDir, "HOTLINE_RECORDING_DIR"}} {
				if *f.dst, err = need(f.name); err != nil {
					return err
				}
			}
			if o.Binary, err = os.Executable(); err != nil {
				return err
			}
			if workDir == "" {
				workDir = filepath.Join(os.TempDir(), "hotline-demo-"+g.now().Format("20060102-150405"))
			}
			o.Out, o.WorkDir, o.AdminDatabaseURL, o.Agents, o.NoInput = cmd.OutOrStdout(), workDir, adminURL, agents, noInput
			if o.Log, err = NewLogger(cmd.ErrOrStderr(), config.Log{Level: "info", Format: "text"}); err != nil {
				return err
			}
			return demo.Run(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&workDir, "work-dir", "", "where logs, SIPp traces and the generated configuration go (default: a new temporary directory)")
	cmd.Flags().StringVar(&adminURL, "admin-database-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"a Postgres connection allowed to drop and create the demo database hotline_demo")
	cmd.Flags().IntVar(&agents, "agents", 4, "SIPp agent phones (agent1..N, ports 5101..)")
	cmd.Flags().DurationVar(&noInput, "no-input", 8*time.Second, "the demo's no-input release time (the operator default is 60s)")
	return cmd
}
