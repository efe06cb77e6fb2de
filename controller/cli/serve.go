package cli

import (
	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/server"
)

func newServeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the contact center: connect to the switch (Asterisk or FreeSWITCH) and Postgres, serve the API",
		Long: `serve loads and validates the configuration file, refuses missing or
well-known default secrets (see CheckSecrets), and runs until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.validConfig()
			if err != nil {
				return err
			}
			if err := cfg.CheckSecrets(); err != nil {
				return err
			}
			log, err := NewLogger(cmd.ErrOrStderr(), cfg.Log)
			if err != nil {
				return err
			}
			if cfg.API.Token == "" {
				// CheckSecrets refuses this in production.
				log.Warn("api token empty: the API accepts requests without authentication (development mode)", "listen", cfg.API.Listen)
			}
			log.Info("hotline starting", "version", Version(), "mode", cfg.Mode, "config", cfg.File())
			return server.Run(cmd.Context(), cfg, log)
		},
	}
}
