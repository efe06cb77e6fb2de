// Package cli owns hotline's command line: the cobra command tree that
// cmd/hotline/main.go runs. Each subcommand lives in its own file (serve.go,
// migrate.go, agent.go, version.go, ...) and is registered in NewRoot.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/config"
)

// globals are the root command's flags and the process environment,
// shared by every subcommand (there is no package-level state).
type globals struct {
	configPath string // --config
	logLevel   string // --log-level, "" when not given

	getenv func(string) string
	now    func() time.Time
}

// NewRoot returns the hotline command tree, reading the environment with
// os.Getenv.
func NewRoot() *cobra.Command {
	return newRoot(&globals{getenv: os.Getenv, now: time.Now})
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "hotline",
		Short: "hotline: a contact-center controller for Asterisk",
		Long: `hotline runs a contact center on Asterisk: IVR flows, ACD queues, agents,
recordings and reports, with Postgres for durable state.

Secrets come only from the environment: HOTLINE_ARI_PASSWORD,
HOTLINE_API_TOKEN, HOTLINE_DATABASE_URL.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", "hotline.yaml", "configuration file")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "log level, overriding the file's log.level: debug, info, warn, error")

	// Subcommands, one file each. Add new ones here (e.g. newDemoCmd(g)).
	for _, newCmd := range []func(*globals) *cobra.Command{
		newServeCmd,
		newMigrateCmd,
		newAgentCmd,
		newVersionCmd,
		newDemoCmd,
		newESLCmd,
		newACDCmd,
		newStaffingCmd,
		newLoadCmd,
		newIVRCmd,
		newNoticeCmd,
	} {
		root.AddCommand(newCmd(g))
	}
	return root
}

// Main runs hotline with args (without the program name) and returns the
// process exit code. SIGINT and SIGTERM cancel the command's context; a
// second signal kills the process the default way.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore default handling: a second ^C ends the process
	}()
	return run(ctx, NewRoot(), args, os.Stderr)
}

func run(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ps config.Problems
	if errors.As(err, &ps) && err.Error() == ps.Error() {
		// Configuration problems, one "file:line: ..." per line, the way
		// editors and CI annotate them.
		fmt.Fprintln(stderr, ps.Error())
		return 1
	}
	fmt.Fprintln(stderr, "hotline:", err)
	return 1
}

// loadConfig reads the --config file strictly, with secrets from the
// environment and --log-level applied. It does not validate.
func (g *globals) loadConfig() (*config.Config, error) {
	data, err := os.ReadFile(g.configPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %s not found (use --config FILE; see hotline.example.yaml)", g.configPath)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := config.Parse(g.configPath, data, g.getenv)
	if err != nil {
		return nil, err
	}
	if g.logLevel != "" {
		cfg.Log.Level = g.logLevel
	}
	return cfg, nil
}

// validConfig is loadConfig followed by Validate.
func (g *globals) validConfig() (*config.Config, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// NewLogger builds the process logger from the log settings: level debug,
// info, warn or error; format text or json.
func NewLogger(w io.Writer, l config.Log) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", l.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(l.Format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", l.Format)
}
