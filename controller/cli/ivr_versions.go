package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lib/pq"
	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/internal/textdiff"
	"github.com/hotline-cc/hotline/controller/store"
)

// readFlowBundle validates the flow file at path and returns what a deploy
// stores (see ivrFiles.bundle): the flow and every sub-flow file it
// references, keyed by path relative to the directory of path with '/'
// separators, with the prompt list and queries it was checked against; and
// for each key the file it was read from. A flow that is not valid gives
// an error listing every problem. `hotline ivr deploy` deploys nothing
// unless it returns nil.
var readFlowBundle = func(o *ivrFiles, path string) (map[string][]byte, map[string]string, error) {
	return o.bundle(path)
}

// ivrVersionCommands returns `hotline ivr deploy|rollback|history|diff`,
// for the ivr command to add; o are its flags.
func ivrVersionCommands(o *ivrFiles) []*cobra.Command {
	return []*cobra.Command{newIVRDeployCmd(o), newIVRRollbackCmd(), newIVRHistoryCmd(), newIVRDiffCmd(o)}
}

// cmdGlobals gives commands built without the root's globals the same
// settings: the inherited --config and --log-level, the process
// environment and clock.
func cmdGlobals(cmd *cobra.Command) *globals {
	g := &globals{configPath: "hotline.yaml", getenv: os.Getenv, now: time.Now}
	if f := cmd.Flag("config"); f != nil {
		g.configPath = f.Value.String()
	}
	if f := cmd.Flag("log-level"); f != nil && f.Changed {
		g.logLevel = f.Value.String()
	}
	return g
}

// openCmdStore connects to the database named by --database-url (flag),
// the configuration file or HOTLINE_DATABASE_URL, like `hotline migrate`,
// with a logger that is quiet unless --log-level says otherwise.
func openCmdStore(cmd *cobra.Command, g *globals, flag string) (*store.Store, *slog.Logger, error) {
	url, err := g.databaseURL(cmd, flag)
	if err != nil {
		return nil, nil, err
	}
	level := g.logLevel
	if level == "" {
		level = "warn"
	}
	log, err := NewLogger(cmd.ErrOrStderr(), config.Log{Level: level, Format: "text"})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
	defer cancel()
	st, err := store.Open(ctx, url, log)
	if err != nil {
		return nil, nil, err
	}
	return st, log, nil
}

// explainStoreErr adds the fix to an error from a database whose schema
// is older than this binary.
func explainStoreErr(err error) error {
	var pe *pq.Error
	if errors.As(err, &pe) && pe.SQLState() == "42P01" { // undefined_table
		return fmt.Errorf("%w (the database schema is older than this hotline: run `hotline migrate`)", err)
	}
	return err
}

// actorName is who is making a change: --by, else $USER.
func actorName(g *globals, by string) (string, error) {
	if by = strings.TrimSpace(by); by != "" {
		return by, nil
	}
	if u := strings.TrimSpace(g.getenv("USER")); u != "" {
		return u, nil
	}
	return "", errors.New("--by: say who is making the change (--by NAME), $USER is not set")
}

// flowNameArg turns a FLOW argument (main, main.yaml or ivr-scripts/main.yaml)
// into the flow's name.
func flowNameArg(arg string) (string, error) {
	name := filepath.Base(arg)
	for _, ext := range []string{".yaml", ".yml"} {
		name = strings.TrimSuffix(name, ext)
	}
	if err := store.CheckFlowName(name); err != nil {
		return "", fmt.Errorf("flow %q: %w", arg, err)
	}
	return name, nil
}

func shortSHA(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func newIVRDeployCmd(o *ivrFiles) *cobra.Command {
	var dbURL, by, comment string
	cmd := &cobra.Command{
		Use:   "deploy FILE",
		Short: "Validate a flow and make it the active version for new calls",
		Long: `deploy validates the flow in FILE (e.g. ivr-scripts/main.yaml) and the
sub-flows it references, then stores them together in Postgres as the
flow's next version and makes it active, in one transaction. The version
also stores the prompt list and the named queries the flow was validated
against (prompts.txt and queries.yaml beside FILE, or --prompts and
--queries) as prompts.txt and queries.yaml: the server compiles the
version with them, so a flow that uses a new prompt or query works
without a restart. The flow's name is FILE's name without .yaml. Calls
that start afterwards get the new version; calls in progress keep the one
they started with. A flow that fails validation is not deployed and
nothing changes. Deploying the content that is already active stores no
new version. HTTP endpoint names are checked as by validate.`,
		Example: `  hotline ivr deploy ivr-scripts/main.yaml --comment "storm menu"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g := cmdGlobals(cmd)
			path := args[0]
			ext := filepath.Ext(path)
			if ext != ".yaml" && ext != ".yml" {
				return fmt.Errorf("%s: a flow file's name ends in .yaml or .yml", path)
			}
			name, err := flowNameArg(path)
			if err != nil {
				return err
			}
			if err := o.useConfig(cmd); err != nil {
				return err
			}
			files, _, err := readFlowBundle(o, path)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), strings.TrimRight(err.Error(), "\n"))
				return fmt.Errorf("%s is not valid: nothing deployed", path)
			}
			who, err := actorName(g, by)
			if err != nil {
				return err
			}
			st, log, err := openCmdStore(cmd, g, dbURL)
			if err != nil {
				return err
			}
			defer st.Close()
			ver, unchanged, err := st.DeployFlow(cmd.Context(), name, files, who, comment)
			if err != nil {
				return explainStoreErr(err)
			}
			sum := store.BundleSHA256(files)
			out := cmd.OutOrStdout()
			if unchanged {
				log.Info("ivr flow unchanged", "flow", name, "version", ver, "sha256", sum)
				_, err = fmt.Fprintf(out, "%s version %d is already active with this content (sha256 %s): nothing deployed\n", name, ver, shortSHA(sum))
				return err
			}
			log.Info("ivr flow deployed", "flow", name, "version", ver, "sha256", sum, "files", len(files), "by", who)
			_, err = fmt.Fprintf(out, "deployed %s version %d (sha256 %s)\n", name, ver, shortSHA(sum))
			return err
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why this version (shown by `hotline ivr history`)")
	cmd.Flags().StringVar(&by, "by", "", "who deploys (default $USER)")
	cmd.Flags().StringVar(&dbURL, "database-url", "", "Postgres URL (instead of the configuration file)")
	return cmd
}

func newIVRRollbackCmd() *cobra.Command {
	var dbURL, by string
	var to int
	cmd := &cobra.Command{
		Use:   "rollback FLOW",
		Short: "Make an earlier version of a flow active again for new calls",
		Long: `rollback makes the version before the active one (or --to N) the active
version of FLOW again. Calls that start afterwards get it; calls in
progress keep theirs. The rollback is recorded in the flow's history.`,
		Example: `  hotline ivr rollback main
  hotline ivr rollback main --to 3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g := cmdGlobals(cmd)
			name, err := flowNameArg(args[0])
			if err != nil {
				return err
			}
			if to < 0 || (cmd.Flags().Changed("to") && to == 0) {
				return fmt.Errorf("--to %d: versions start at 1", to)
			}
			who, err := actorName(g, by)
			if err != nil {
				return err
			}
			st, log, err := openCmdStore(cmd, g, dbURL)
			if err != nil {
				return err
			}
			defer st.Close()
			from, now, err := st.RollbackFlow(cmd.Context(), name, to, who)
			if err != nil {
				return explainStoreErr(err)
			}
			log.Info("ivr flow rolled back", "flow", name, "from", from, "to", now, "by", who)
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "rolled back %s to version %d (was version %d)\n", name, now, from)
			return err
		},
	}
	cmd.Flags().IntVar(&to, "to", 0, "the version to make active (default: the one before the active version)")
	cmd.Flags().StringVar(&by, "by", "", "who rolls back (default $USER)")
	cmd.Flags().StringVar(&dbURL, "database-url", "", "Postgres URL (instead of the configuration file)")
	return cmd
}

func newIVRHistoryCmd() *cobra.Command {
	var dbURL string
	cmd := &cobra.Command{
		Use:   "history FLOW",
		Short: "List a flow's versions and every deploy and rollback",
		Long: `history lists FLOW's versions, newest first (* marks the active one), then
every change of the active version in order: deploys and rollbacks, who
made them and when. Times are UTC.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g := cmdGlobals(cmd)
			name, err := flowNameArg(args[0])
			if err != nil {
				return err
			}
			st, _, err := openCmdStore(cmd, g, dbURL)
			if err != nil {
				return err
			}
			defer st.Close()
			vs, err := st.FlowHistory(cmd.Context(), name)
			if err != nil {
				return explainStoreErr(err)
			}
			es, err := st.FlowEvents(cmd.Context(), name)
			if err != nil {
				return explainStoreErr(err)
			}
			return printFlowHistory(cmd.OutOrStdout(), vs, es)
		},
	}
	cmd.Flags().StringVar(&dbURL, "database-url", "", "Postgres URL (instead of the configuration file)")
	return cmd
}

const historyTime = "2006-01-02T15:04:05Z"

// printFlowHistory writes the versions table and the changes table.
func printFlowHistory(w io.Writer, vs []store.FlowVersion, es []store.FlowEvent) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tACTIVE\tDEPLOYED\tBY\tCOMMENT\tSHA256")
	for _, v := range vs {
		mark := ""
		if v.Active {
			mark = "*"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", v.Version, mark, v.DeployedAt.UTC().Format(historyTime),
			dash(v.DeployedBy), dash(singleLine(v.Comment)), shortSHA(v.SHA256))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tCHANGE\tFROM\tTO\tBY")
	for _, e := range es {
		from := "-"
		if e.FromVersion.Valid {
			from = strconv.FormatInt(e.FromVersion.Int64, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", e.At.UTC().Format(historyTime), e.Kind, from, e.ToVersion, dash(e.By))
	}
	return tw.Flush()
}

// singleLine keeps a free-text field on one table row.
func singleLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func newIVRDiffCmd(o *ivrFiles) *cobra.Command {
	var dbURL, file string
	cmd := &cobra.Command{
		Use:   "diff FLOW [V1 [V2]]",
		Short: "Show what changed between two versions of a flow, or against a working file",
		Long: `diff prints a unified diff of FLOW's files (the flow, its sub-flows, and
the prompts.txt and queries.yaml stored with it): with no versions, from
the version before the active one to the active one; with V1, from V1 to
the active version; with V1 and V2, from V1 to V2. With --file PATH it
compares the active version (or V1) with the flow at PATH and the files
it references, as a deploy of PATH would store them. Nothing is printed
when there is no difference.`,
		Example: `  hotline ivr diff main
  hotline ivr diff main 3 5
  hotline ivr diff main --file ivr-scripts/main.yaml`,
		Args: cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			g := cmdGlobals(cmd)
			name, err := flowNameArg(args[0])
			if err != nil {
				return err
			}
			var vers []int
			for _, a := range args[1:] {
				v, err := strconv.Atoi(a)
				if err != nil || v < 1 {
					return fmt.Errorf("version %q: want a version number like 3", a)
				}
				vers = append(vers, v)
			}
			if file != "" && len(vers) > 1 {
				return errors.New("--file: compare one version (default: the active one) with the file; give at most one version")
			}
			var working map[string][]byte
			var workingFrom map[string]string
			if file != "" {
				if working, workingFrom, err = readFlowBundle(o, file); err != nil {
					return fmt.Errorf("--file: read flow %s: %w", file, err)
				}
			}

			st, _, err := openCmdStore(cmd, g, dbURL)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			load := func(v int) (store.FlowVersion, error) {
				fv, err := st.FlowVersion(ctx, name, v)
				return fv, explainStoreErr(err)
			}
			active, err := st.ActiveFlow(ctx, name)
			if err != nil {
				return explainStoreErr(err)
			}

			var from, to store.FlowVersion
			switch {
			case file != "":
				from = active
				if len(vers) == 1 {
					if from, err = load(vers[0]); err != nil {
						return err
					}
				}
				label := func(k string) string {
					if p, ok := workingFrom[k]; ok {
						return filepath.ToSlash(p)
					}
					return filepath.ToSlash(filepath.Join(filepath.Dir(file), k))
				}
				return writeBundleDiff(cmd, fmt.Sprintf("%s@%d", name, from.Version), from.Files, file, working,
					func(k string) string { return fmt.Sprintf("%s@%d/%s", name, from.Version, k) }, label)
			case len(vers) == 0:
				hist, err := st.FlowHistory(ctx, name)
				if err != nil {
					return explainStoreErr(err)
				}
				prev := 0
				for _, h := range hist { // newest first
					if h.Version < active.Version {
						prev = h.Version
						break
					}
				}
				if prev == 0 {
					return fmt.Errorf("flow %s: the active version %d is the oldest; nothing to compare it with (give versions, or --file)", name, active.Version)
				}
				if from, err = load(prev); err != nil {
					return err
				}
				to = active
			case len(vers) == 1:
				if from, err = load(vers[0]); err != nil {
					return err
				}
				to = active
			default:
				if from, err = load(vers[0]); err != nil {
					return err
				}
				if to, err = load(vers[1]); err != nil {
					return err
				}
			}
			label := func(v store.FlowVersion) func(string) string {
				return func(k string) string { return fmt.Sprintf("%s@%d/%s", name, v.Version, k) }
			}
			return writeBundleDiff(cmd, fmt.Sprintf("%s@%d", name, from.Version), from.Files,
				fmt.Sprintf("%s@%d", name, to.Version), to.Files, label(from), label(to))
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "compare with the flow in this working file instead of a stored version")
	cmd.Flags().StringVar(&dbURL, "database-url", "", "Postgres URL (instead of the configuration file)")
	return cmd
}

// writeBundleDiff prints the unified diff of every file of two bundles, in
// name order; a file only on one side is diffed against /dev/null.
func writeBundleDiff(cmd *cobra.Command, fromName string, a map[string][]byte, toName string, b map[string][]byte,
	fromLabel, toLabel func(string) string) error {
	var names []string
	for k := range a {
		names = append(names, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	out := cmd.OutOrStdout()
	same := true
	for _, k := range names {
		fa, inA := a[k]
		fb, inB := b[k]
		fl, tl := fromLabel(k), toLabel(k)
		if !inA {
			fl = "/dev/null"
		}
		if !inB {
			tl = "/dev/null"
		}
		d := textdiff.Unified(fl, tl, fa, fb, 3)
		if d == "" {
			continue
		}
		same = false
		if _, err := io.WriteString(out, d); err != nil {
			return err
		}
	}
	if same {
		fmt.Fprintf(cmd.ErrOrStderr(), "no differences between %s and %s\n", fromName, toName)
	}
	return nil
}
