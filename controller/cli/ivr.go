package cli

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/ivr"
	"github.com/hotline-cc/hotline/controller/ivr/flow"
)

// newIVRCmd is "hotline ivr": validate, simulate, test and draw IVR flows
// (docs/ivr.md), and deploy them.
func newIVRCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ivr",
		Short: "IVR flow tools: validate, simulate, test, graph, deploy",
		Long: `IVR flows are YAML files (ivr-scripts/*.yaml; the language is described in
docs/ivr.md). Prompt names are checked against prompts.txt and lookups
against queries.yaml, by default the ones beside the flow file.

validate, simulate, test and deploy also check the named HTTP endpoints
of http lookups against the installation's ivr.http_endpoints: from the
--config file when given, else from hotline.yaml when it exists in the
current directory. Without a configuration file endpoint names are not
checked (a lookup whose endpoint the server does not configure takes its
on_error branch).`,
	}
	o := &ivrFiles{g: g}
	cmd.PersistentFlags().StringVar(&o.prompts, "prompts", "", "prompt list (default: prompts.txt beside the flow)")
	cmd.PersistentFlags().StringVar(&o.queries, "queries", "", "named SQL queries (default: queries.yaml beside the flow)")
	cmd.AddCommand(newIVRValidateCmd(o), newIVRSimulateCmd(o), newIVRTestCmd(o), newIVRGraphCmd(o))
	cmd.AddCommand(ivrVersionCommands(o)...)
	return cmd
}

// ivrFiles are what flows are checked against: the --prompts and
// --queries flags, and the installation's HTTP endpoints once
// useConfig has read them.
type ivrFiles struct {
	prompts, queries string
	g                *globals // nil: the command's own flags (cmdGlobals)
	endpoints        *flow.Endpoints
}

// useConfig reads the names of the installation's HTTP endpoints
// (ivr.http_endpoints) from the configuration file: --config when given,
// else the default file when it exists. With neither, endpoint names stay
// unchecked. A configuration whose ivr section is wrong is an error naming
// file:line.
func (o *ivrFiles) useConfig(cmd *cobra.Command) error {
	g := o.g
	if g == nil {
		g = cmdGlobals(cmd)
	}
	if !cmd.Flags().Changed("config") {
		if _, err := os.Stat(g.configPath); errors.Is(err, os.ErrNotExist) {
			return nil
		}
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	if err := cfg.ValidateIVR(); err != nil {
		return err
	}
	o.endpoints = &flow.Endpoints{Names: slices.Sorted(maps.Keys(cfg.IVR.HTTPEndpoints)), Source: g.configPath}
	return nil
}

// sources are the prompt list and the queries file a flow file is checked
// against: the flags, else the files beside the flow when they exist ("":
// none).
func (o *ivrFiles) sources(flowFile string) (prompts, queries string) {
	dir := filepath.Dir(flowFile)
	pick := func(flag, name string) string {
		if flag != "" {
			return flag
		}
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	return pick(o.prompts, flow.PromptsFile), pick(o.queries, flow.QueriesFile)
}

// options loads the prompts and queries a flow file is checked against,
// with the installation's endpoints when known.
func (o *ivrFiles) options(flowFile string) (flow.Options, error) {
	opts, err := flow.LoadOptions(o.sources(flowFile))
	opts.Endpoints = o.endpoints
	return opts, err
}

func (o *ivrFiles) load(flowFile string) (*flow.Program, error) {
	opts, err := o.options(flowFile)
	if err != nil {
		return nil, err
	}
	return flow.LoadFile(flowFile, opts)
}

// bundle validates the flow at path and returns what `hotline ivr deploy`
// stores: the flow and every sub-flow it references, keyed by path
// relative to the flow's directory, and the prompt list and queries it
// was checked against, as prompts.txt and queries.yaml; with, for each
// key, the file it was read from. The error lists every problem, one
// "file:line:col: ..." a line.
func (o *ivrFiles) bundle(path string) (files map[string][]byte, from map[string]string, err error) {
	p, err := o.load(path)
	if err != nil {
		return nil, nil, err
	}
	files = p.Bundle()
	from = map[string]string{}
	dir := filepath.Dir(path)
	for _, f := range p.Files() {
		from[f] = filepath.Join(dir, filepath.FromSlash(f))
	}
	prompts, queries := o.sources(path)
	if _, ok := files[flow.PromptsFile]; ok {
		from[flow.PromptsFile] = prompts
	}
	if _, ok := files[flow.QueriesFile]; ok {
		from[flow.QueriesFile] = queries
	}
	return files, from, nil
}

// ivrFlowFiles expands directories into their flow and test files: *.yaml
// and *.yml except queries.yaml.
func ivrFlowFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		var fs []string
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) || n == "queries.yaml" {
				continue
			}
			fs = append(fs, filepath.Join(a, n))
		}
		sort.Strings(fs)
		out = append(out, fs...)
	}
	return out, nil
}

// ivrProblemCount is returned after problems were printed; run prints it as
// the one-line summary.
type ivrProblemCount int

func (e ivrProblemCount) Error() string {
	if e == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", int(e))
}

func printIVRProblems(w io.Writer, err error) int {
	return printNewIVRProblems(w, err, map[string]bool{})
}

// printNewIVRProblems prints the problems not printed before (a sub-flow
// validated on its own and through its caller reports once).
func printNewIVRProblems(w io.Writer, err error, seen map[string]bool) int {
	var ps flow.Problems
	if !errors.As(err, &ps) {
		ps = flow.Problems{{Msg: err.Error()}}
	}
	n := 0
	for _, p := range ps {
		if s := p.Error(); !seen[s] {
			seen[s] = true
			fmt.Fprintln(w, s)
			n++
		}
	}
	return n
}

func newIVRValidateCmd(o *ivrFiles) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "check flow files; every problem names file:line:col",
		Long: `validate loads each flow (with the sub-flows it references) and reports every
problem as file:line:col: message: unknown fields or node kinds, wrong
types, references to undefined nodes or flows, unreachable nodes, prompts
missing from prompts.txt, undefined variables and expressions that do not
compile, menus without an on_timeout branch, loops without caller input,
and, when the installation's configuration is known (--config, or
hotline.yaml in the current directory), HTTP endpoints it does not
configure in ivr.http_endpoints. Test files (*_test.yaml) are checked too.
A directory means its flow and test files (not queries.yaml). Exit status
1 when anything is wrong.`,
		Example: `  hotline ivr validate ivr-scripts
  hotline ivr validate --config /etc/hotline/hotline.yaml ivr-scripts/main.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.useConfig(cmd); err != nil {
				return err
			}
			files, err := ivrFlowFiles(args)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			bad := 0
			seen := map[string]bool{}
			for _, f := range files {
				if strings.HasSuffix(f, "_test.yaml") {
					src, err := os.ReadFile(f)
					if err == nil {
						_, err = flow.ParseTestFile(f, src)
					}
					if err != nil {
						bad += printNewIVRProblems(out, err, seen)
					} else {
						fmt.Fprintf(out, "ok %s\n", f)
					}
					continue
				}
				p, err := o.load(f)
				if err != nil {
					bad += printNewIVRProblems(out, err, seen)
					continue
				}
				nodes := 0
				for _, fl := range p.Flows() {
					nodes += len(fl.Nodes)
				}
				fmt.Fprintf(out, "ok %s (%d flows, %d nodes)\n", f, len(p.Flows()), nodes)
			}
			if bad > 0 {
				return ivrProblemCount(bad)
			}
			return nil
		},
	}
}

func newIVRSimulateCmd(o *ivrFiles) *cobra.Command {
	var caller, service, lang, keys, fixtures string
	cmd := &cobra.Command{
		Use:   "simulate FLOW",
		Short: "run a flow offline with planned keys and print the trail and outcome",
		Long: `simulate runs FLOW on a fake call: no switch, a fake clock (timeouts take no
real time), lookups and notices from --fixtures (a lookup without a
fixture fails, taking its on_error branch).

--keys lists what the caller presses, comma-separated, one entry per wait
for a key: "1" presses 1; "123#" presses 1, 2, 3, # at successive waits;
an empty entry lets that wait time out; "^0" presses 0 during the prompt
(barge-in); "hangup" hangs up. When the keys run out every wait times out.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.useConfig(cmd); err != nil {
				return err
			}
			p, err := o.load(args[0])
			if err != nil {
				printIVRProblems(cmd.OutOrStdout(), err)
				return errors.New("the flow does not load")
			}
			actions, err := flow.ParseKeys(keys)
			if err != nil {
				return fmt.Errorf("--keys: %w", err)
			}
			var fx *flow.Fixtures
			if fixtures != "" {
				src, err := os.ReadFile(fixtures)
				if err != nil {
					return err
				}
				if fx, err = flow.ParseFixtures(fixtures, src); err != nil {
					printIVRProblems(cmd.OutOrStdout(), err)
					return errors.New("the fixtures do not load")
				}
			}
			res, trail, runErr := p.Simulate(cmd.Context(), flow.Simulation{
				Call: flow.Call{Caller: caller, Service: service, Lang: lang}, Keys: actions, Fixtures: fx})
			printIVRRun(cmd.OutOrStdout(), res, trail, runErr)
			if runErr != nil && !errors.Is(runErr, ivr.ErrHungUp) {
				return runErr
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&caller, "caller", "", "the calling number")
	cmd.Flags().StringVar(&service, "service", "10000", "the dialled service number")
	cmd.Flags().StringVar(&lang, "lang", "", "language for say items: en or zh (default: the flow's)")
	cmd.Flags().StringVar(&keys, "keys", "", `what the caller presses, e.g. "1,,2,123456#"`)
	cmd.Flags().StringVar(&fixtures, "fixtures", "", "fixtures file: now, lookups, http, notices")
	return cmd
}

func printIVRRun(w io.Writer, res flow.Result, trail []flow.Step, err error) {
	for _, s := range trail {
		fmt.Fprintf(w, "%7.1fs  %s\n", s.At.Seconds(), s)
	}
	fmt.Fprintf(w, "outcome: %s (at %s, %d steps)\n", res.OutcomeName, res.Node, res.Steps)
	if q := res.Queue; q != nil {
		skills := make([]string, len(q.Skills))
		for i, s := range q.Skills {
			skills[i] = fmt.Sprintf("%s:%d", s.Name, s.Level)
		}
		svc := q.Service
		if svc == "" {
			svc = "(the service number's queue)"
		}
		fmt.Fprintf(w, "queue: %s skills [%s] priority %d\n", svc, strings.Join(skills, " "), q.Priority)
	}
	if t := res.Transfer; t != nil {
		fmt.Fprintf(w, "transfer: %s%s\n", t.Number, t.Service)
	}
	if res.SurveyScore > 0 {
		fmt.Fprintf(w, "survey score: %d\n", res.SurveyScore)
	}
	if res.Voicemail != "" {
		fmt.Fprintf(w, "voicemail: %s\n", res.Voicemail)
	}
	keys := make([]string, 0, len(res.Vars))
	for k := range res.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "var %s = %q\n", k, res.Vars[k])
	}
	if err != nil {
		fmt.Fprintf(w, "error: %v\n", err)
	}
}

func newIVRTestCmd(o *ivrFiles) *cobra.Command {
	return &cobra.Command{
		Use:   "test [DIR|FILE...]",
		Short: "run the test cases kept beside flows (<flow>_test.yaml)",
		Long: `test runs the cases of each test file: a directory gives its *_test.yaml
files, a flow file its <flow>_test.yaml (default: ivr-scripts). Each case
simulates a call (caller, keys, fixtures) and checks the expected outcome,
trail (in order), variables, queue, transfer, survey score. Prints one
PASS/FAIL line per case like go test; exit status 1 on any failure.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.useConfig(cmd); err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{"ivr-scripts"}
			}
			files, err := flow.FindTests(args)
			if err != nil {
				return err
			}
			if len(files) == 0 {
				return fmt.Errorf("no test files (*_test.yaml) in %s", strings.Join(args, " "))
			}
			sum := flow.RunTests(cmd.Context(), cmd.OutOrStdout(), files, o.options)
			if sum.Failed > 0 {
				return fmt.Errorf("%d of %d test cases failed", sum.Failed, sum.Failed+sum.Passed)
			}
			return nil
		},
	}
}

func newIVRGraphCmd(o *ivrFiles) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph FLOW",
		Short: "draw a flow: Graphviz DOT, or SVG through Graphviz's dot",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "dot" && format != "svg" {
				return fmt.Errorf("--format %q: use dot or svg", format)
			}
			p, err := o.load(args[0])
			if err != nil {
				printIVRProblems(cmd.OutOrStdout(), err)
				return errors.New("the flow does not load")
			}
			if format == "svg" {
				return p.SVG(cmd.Context(), cmd.OutOrStdout())
			}
			return p.DOT(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&format, "format", "dot", "dot or svg")
	return cmd
}
