package cli

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/acd/erlang"
)

func newStaffingCmd(*globals) *cobra.Command {
	var (
		forecast, target string
		aht, patience    time.Duration
		interval         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "staffing",
		Short: "Agents needed per interval of a call forecast for a service-level target",
		Long: `staffing reads a forecast of calls per interval from a CSV file with a
header row naming the columns start and calls, e.g.

  start,calls
  08:00,120
  08:30,310

start is HH:MM, "YYYY-MM-DD HH:MM" or RFC 3339; calls is the number of calls
offered in the interval (--interval, half an hour by default). For each
interval it prints the agents on the phones needed to meet --target
(PERCENT/SECONDS: 80/20 is 80% answered within 20 s), by Erlang C, or by
Erlang A when --patience gives callers' mean patience. Shrinkage (breaks,
training, absence) is not included: divide by (1 - shrinkage) for heads.`,
		Example: `  hotline staffing --forecast monday.csv --aht 180s --target 80/20`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if forecast == "" {
				return errors.New("--forecast FILE.csv is required")
			}
			t, err := erlang.ParseTarget(target)
			if err != nil {
				return fmt.Errorf("--target: %w", err)
			}
			if aht <= 0 || interval <= 0 || patience < 0 {
				return errors.New("--aht and --interval must be positive, --patience not negative")
			}
			f, err := os.Open(forecast)
			if err != nil {
				return err
			}
			defer f.Close()
			rows, err := readForecast(forecast, f)
			if err != nil {
				return err
			}
			return printStaffing(cmd.OutOrStdout(), rows, t, aht, patience, interval)
		},
	}
	f := cmd.Flags()
	f.StringVar(&forecast, "forecast", "", "CSV file of intervals: start,calls")
	f.DurationVar(&aht, "aht", 180*time.Second, "mean handle time")
	f.StringVar(&target, "target", "80/20", "service level target, PERCENT/SECONDS")
	f.DurationVar(&patience, "patience", 0, "callers' mean patience, for Erlang A (0: Erlang C, nobody abandons)")
	f.DurationVar(&interval, "interval", 30*time.Minute, "length of a forecast interval")
	return cmd
}

type forecastRow struct {
	line  int
	start string
	calls float64
}

var startLayouts = []string{"15:04", "2006-01-02 15:04", "2006-01-02T15:04", time.RFC3339}

// readForecast reads start,calls rows; errors name file:line and field.
func readForecast(name string, r io.Reader) ([]forecastRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty: want a header row start,calls and one row per interval", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	line, _ := cr.FieldPos(0)
	for _, need := range []string{"start", "calls"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s:%d: header has no %q column (want start,calls)", name, line, need)
		}
	}
	var rows []forecastRow
	var prev time.Time
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		field := func(c string) (string, int, error) {
			i := col[c]
			line, _ := cr.FieldPos(0)
			if i >= len(rec) {
				return "", line, fmt.Errorf("%s:%d: %s: missing (the row has %d fields)", name, line, c, len(rec))
			}
			line, _ = cr.FieldPos(i)
			return strings.TrimSpace(rec[i]), line, nil
		}
		start, sline, err := field("start")
		if err != nil {
			return nil, err
		}
		var at time.Time
		for _, layout := range startLayouts {
			if at, err = time.Parse(layout, start); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: start: %q is not a time (use HH:MM, YYYY-MM-DD HH:MM or RFC 3339)", name, sline, start)
		}
		if len(rows) > 0 && !at.After(prev) {
			return nil, fmt.Errorf("%s:%d: start: %s is not after the row before (%s)", name, sline, start, rows[len(rows)-1].start)
		}
		prev = at
		calls, cline, err := field("calls")
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseFloat(calls, 64)
		if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, fmt.Errorf("%s:%d: calls: %q is not a number of calls (0 or more)", name, cline, calls)
		}
		rows = append(rows, forecastRow{line: sline, start: start, calls: n})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no intervals after the header", name)
	}
	return rows, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %v", name, pe.Line, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

func printStaffing(w io.Writer, rows []forecastRow, t erlang.Target, aht, patience, interval time.Duration) error {
	model := "Erlang C"
	if patience > 0 {
		model = "Erlang A, patience " + patience.String()
	}
	fmt.Fprintf(w, "target %s (%.0f%% within %s), AHT %s, %s intervals, %s\n\n", t, 100*t.Fraction, t.Within, aht, interval, model)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "start\tcalls\tErlangs\tagents\tservice level\tASA\tabandoned\toccupancy\t\n")
	peak, peakAt, agentHours := 0, "", 0.0
	for _, r := range rows {
		load := erlang.Load{Rate: r.calls / interval.Seconds(), AHT: aht, Patience: patience}
		res, err := erlang.AgentsNeeded(load, t, 0)
		if err != nil {
			return fmt.Errorf("interval %s (line %d): %w", r.start, r.line, err)
		}
		fmt.Fprintf(tw, "%s\t%g\t%.2f\t%d\t%s\t%s\t%s\t%s\t\n", r.start, r.calls, load.Erlangs(), res.Agents,
			pct(res.ServiceLevel), res.ASA.Round(100*time.Millisecond), pct(res.Abandon), pct(res.Occupancy))
		if res.Agents > peak {
			peak, peakAt = res.Agents, r.start
		}
		agentHours += float64(res.Agents) * interval.Hours()
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\npeak %d agents at %s; %.1f agent-hours on the phones in all\n", peak, peakAt, agentHours)
	return nil
}
