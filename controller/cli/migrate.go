package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/store"
)

func newMigrateCmd(g *globals) *cobra.Command {
	var dbURL string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the Postgres schema up to date (idempotent)",
		Long: `migrate applies the database migrations built into this binary and prints
what it applied. The database is --database-url if given, else database.url
from the configuration file (HOTLINE_DATABASE_URL overrides it); with no
configuration file, HOTLINE_DATABASE_URL alone is enough.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, err := g.databaseURL(cmd, dbURL)
			if err != nil {
				return err
			}
			// Quiet by default: what was applied goes to stdout.
			level := g.logLevel
			if level == "" {
				level = "warn"
			}
			log, err := NewLogger(cmd.ErrOrStderr(), config.Log{Level: level, Format: "text"})
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), wait)
			defer cancel()
			st, err := store.Open(ctx, url, log)
			if err != nil {
				return err
			}
			defer st.Close()
			applied, err := store.MigrateUp(cmd.Context(), st.DB.DB, log)
			out := cmd.OutOrStdout()
			for _, a := range applied {
				fmt.Fprintf(out, "applied %s (version %d) in %s\n", a.Source, a.Version, a.Duration.Round(time.Millisecond))
			}
			if err != nil {
				return err
			}
			v, err := store.SchemaVersion(cmd.Context(), st.DB.DB, log)
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintf(out, "schema already at version %d: nothing to apply\n", v)
			} else {
				fmt.Fprintf(out, "schema now at version %d\n", v)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dbURL, "database-url", "", "Postgres URL (instead of the configuration file)")
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Second, "how long to wait for Postgres to become reachable")
	return cmd
}

// databaseURL picks the database for commands that need only that: the
// flag, else the configuration file, else HOTLINE_DATABASE_URL when no
// --config was given and the default file does not exist.
func (g *globals) databaseURL(cmd *cobra.Command, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if !cmd.Flags().Changed("config") {
		if _, err := os.Stat(g.configPath); errors.Is(err, os.ErrNotExist) {
			if u := g.getenv(config.EnvDatabaseURL); u != "" {
				return u, nil
			}
		}
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return "", err
	}
	if cfg.Database.URL == "" {
		return "", fmt.Errorf("no database: set database.url in %s, %s or --database-url", g.configPath, config.EnvDatabaseURL)
	}
	return cfg.Database.URL, nil
}
