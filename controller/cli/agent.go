package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/api"
	"github.com/hotline-cc/hotline/controller/config"
)

func newAgentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "List agents and change their state through a running hotline",
		Long: `agent talks to the API of a running "hotline serve": at --api if given,
else at api.listen from the configuration file. The bearer token is taken
from HOTLINE_API_TOKEN.`,
	}
	conn := apiFlag(g, cmd)

	list := &cobra.Command{
		Use:   "list",
		Short: "List agents with their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, base, err := conn.client()
			if err != nil {
				return err
			}
			as, err := c.ListAgents(cmd.Context())
			if err != nil {
				return conn.explain(err, base)
			}
			return printAgents(cmd.OutOrStdout(), as, g.now())
		},
	}

	action := func(use, short, done string, do func(c *api.Client, cmd *cobra.Command, id string) error) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, base, err := conn.client()
				if err != nil {
					return err
				}
				if err := do(c, cmd, args[0]); err != nil {
					return conn.explain(err, base)
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "agent %s %s\n", args[0], done)
				return err
			},
		}
	}
	var reason string
	notready := action("notready", "Make an agent not ready (break, meal, ...)", "is not ready",
		func(c *api.Client, cmd *cobra.Command, id string) error { return c.NotReady(cmd.Context(), id, reason) })
	notready.Flags().StringVar(&reason, "reason", "", "why the agent is not ready: "+reasonList()+" (name or digit)")
	notready.PreRunE = func(*cobra.Command, []string) error {
		r, err := acd.ParseReason(reason)
		if err != nil {
			return fmt.Errorf("--reason: %w", err)
		}
		reason = r.Name
		return nil
	}

	var seconds int
	extend := action("extend", "Give an agent more after-call work", "has more after-call work",
		func(c *api.Client, cmd *cobra.Command, id string) error {
			if seconds < 1 {
				return fmt.Errorf("--seconds: %d must be at least 1", seconds)
			}
			ends, err := c.ExtendWrapUp(cmd.Context(), id, time.Duration(seconds)*time.Second)
			if err == nil {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "after-call work now ends at %s\n", ends.Local().Format(time.TimeOnly))
			}
			return err
		})
	extend.Flags().IntVar(&seconds, "seconds", 30, "how many seconds to add")
	wrapup := &cobra.Command{Use: "wrapup", Short: "Extend or end an agent's after-call work"}
	wrapup.AddCommand(extend, action("end", "End an agent's after-call work now (READY)", "has ended after-call work",
		func(c *api.Client, cmd *cobra.Command, id string) error { return c.EndWrapUp(cmd.Context(), id) }))

	var pinFlag string
	setPIN := action("set", "Set an agent's phone login PIN (4-8 digits; from --pin or the first line of stdin)", "has a new PIN",
		func(c *api.Client, cmd *cobra.Command, id string) error {
			pin := pinFlag
			if pin == "" {
				line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), 64)).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("read the PIN from stdin: %w", err)
				}
				pin = strings.TrimSpace(line)
			}
			if !rePIN.MatchString(pin) {
				return errors.New("the PIN must be 4-8 digits")
			}
			return c.SetPIN(cmd.Context(), id, pin)
		})
	setPIN.Flags().StringVar(&pinFlag, "pin", "", "the PIN (visible in the process list and shell history: prefer stdin)")
	pin := &cobra.Command{Use: "pin", Short: "Manage an agent's phone login PIN"}
	pin.AddCommand(setPIN)

	cmd.AddCommand(
		list,
		action("login", "Log an agent in", "logged in",
			func(c *api.Client, cmd *cobra.Command, id string) error { return c.Login(cmd.Context(), id) }),
		action("ready", "Make an agent ready for calls", "is ready",
			func(c *api.Client, cmd *cobra.Command, id string) error { return c.Ready(cmd.Context(), id) }),
		notready,
		action("logout", "Log an agent out", "logged out",
			func(c *api.Client, cmd *cobra.Command, id string) error { return c.Logout(cmd.Context(), id) }),
		wrapup,
		pin,
	)
	return cmd
}

var rePIN = regexp.MustCompile(`^[0-9]{4,8}$`)

// reasonList renders the not-ready reason table: "1 meal, 2 meeting, ...".
func reasonList() string {
	var parts []string
	for _, r := range acd.Reasons() {
		parts = append(parts, r.Digit+" "+r.Name)
	}
	return strings.Join(parts, ", ")
}

// printAgents writes the agent table: ID NAME STATE REASON SINCE CALLS,
// SINCE being how long the agent has been in its state.
// apiConn reaches the API of a running "hotline serve".
type apiConn struct {
	g   *globals
	url string
}

// apiFlag adds --api to cmd (and its subcommands) and returns what
// reaches the API it names: --api, else api.listen from the
// configuration; the bearer token from HOTLINE_API_TOKEN.
func apiFlag(g *globals, cmd *cobra.Command) *apiConn {
	c := &apiConn{g: g}
	cmd.PersistentFlags().StringVar(&c.url, "api", "", "API base URL, e.g. http://127.0.0.1:8089 (default: api.listen from the configuration)")
	return c
}

// client returns a client of the API and its base URL.
func (c *apiConn) client() (*api.Client, string, error) {
	base := c.url
	if base == "" {
		cfg, err := c.g.loadConfig()
		if err != nil {
			return nil, "", err
		}
		base = "http://" + dialable(cfg.API.Listen)
	}
	return api.NewClient(base, c.g.getenv(config.EnvAPIToken)), base, nil
}

// explain adds what to do to an error from the API at base.
func (c *apiConn) explain(err error, base string) error {
	switch {
	case errors.Is(err, api.ErrUnauthorized):
		return fmt.Errorf("%w (set %s to the server's token)", err, config.EnvAPIToken)
	case isConnRefused(err):
		return fmt.Errorf("%w (is `hotline serve` running at %s?)", err, base)
	}
	return err
}

func printAgents(w io.Writer, as []api.AgentStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tREASON\tSINCE\tCALLS")
	for _, a := range as {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", a.ID, dash(a.Name), a.State, dash(a.Reason), elapsed(a.Since, now), a.CallsToday)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// elapsed renders how long ago t was: "45s", "12m05s", "3h07m", "2d04h".
func elapsed(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Truncate(time.Second)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// dialable turns a listen address into one a client can dial: an empty or
// wildcard host becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
