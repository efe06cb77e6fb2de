package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-cc/hotline/controller/store"
)

func newNoticeCmd(g *globals) *cobra.Command {
	var dbURL string
	cmd := &cobra.Command{
		Use:   "notice",
		Short: "Add, list and end IVR notices (outages, tariff news, emergencies)",
		Long: `notice manages the announcements the IVR plays without a flow deploy,
stored in Postgres with a time window:

  outage     an outage in an area (a caller-number prefix or area code)
  tariff     tariff news
  emergency  a message that pre-empts the menu

A notice plays from --from until --until (or for --for), or until
"hotline notice end". Changes apply to the next call.`,
	}
	cmd.PersistentFlags().StringVar(&dbURL, "database-url", "", "Postgres URL (instead of the configuration file)")
	cmd.AddCommand(newNoticeAddCmd(g, &dbURL), newNoticeListCmd(g, &dbURL), newNoticeEndCmd(g, &dbURL))
	return cmd
}

// noticeTime is how notice times are printed: UTC, to the second.
const noticeTime = "2006-01-02T15:04:05Z"

func newNoticeAddCmd(g *globals, dbURL *string) *cobra.Command {
	var kind, area, prompt, text, from, until, by string
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add a notice",
		Example: `  hotline notice add --kind outage --area 0755 --prompt sound:hotline/outage-0755 \
      --text "Power cut in Futian until 18:00" --for 4h
  hotline notice add --kind emergency --prompt sound:hotline/typhoon --text "Typhoon warning" \
      --from 2025-07-01T06:00:00+08:00 --until 2025-07-02T06:00:00+08:00`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := g.now()
			n := store.Notice{Kind: kind, AreaPrefix: area, Prompt: prompt, Text: text}
			var err error
			if n.StartsAt, err = parseNoticeTime(from, now); err != nil {
				return fmt.Errorf("--from %q: %w", from, err)
			}
			switch {
			case until != "" && cmd.Flags().Changed("for"):
				return errors.New("--until and --for: give one of them")
			case until != "":
				end, err := parseNoticeTime(until, now)
				if err != nil {
					return fmt.Errorf("--until %q: %w", until, err)
				}
				if !end.After(n.StartsAt) {
					return fmt.Errorf("--until %s is not after --from %s", end.UTC().Format(noticeTime), n.StartsAt.UTC().Format(noticeTime))
				}
				if !end.After(now) {
					return fmt.Errorf("--until %s has already passed", end.UTC().Format(noticeTime))
				}
				n.EndsAt = &end
			case cmd.Flags().Changed("for"):
				if dur <= 0 {
					return fmt.Errorf("--for %s: give a positive duration like 4h or 90m", dur)
				}
				end := n.StartsAt.Add(dur)
				if !end.After(now) {
					return fmt.Errorf("--for %s: the notice would be over before now", dur)
				}
				n.EndsAt = &end
			}
			if err := n.Check(); err != nil {
				return noticeFlagErr(err, until != "")
			}
			if n.CreatedBy, err = actorName(g, by); err != nil {
				return err
			}
			st, log, err := openCmdStore(cmd, g, *dbURL)
			if err != nil {
				return err
			}
			defer st.Close()
			added, err := st.AddNotice(cmd.Context(), n)
			if err != nil {
				return explainStoreErr(noticeFlagErr(err, until != ""))
			}
			log.Info("notice added", "id", added.ID, "kind", added.Kind, "area", added.AreaPrefix,
				"prompt", added.Prompt, "starts_at", added.StartsAt, "ends_at", added.EndsAt, "by", added.CreatedBy)
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "notice %d added: %s\n", added.ID, describeNotice(added))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", "outage, tariff or emergency")
	f.StringVar(&area, "area", "", "caller-number prefix or area code, digits (default: everywhere)")
	f.StringVar(&prompt, "prompt", "", "the sound to play, e.g. sound:hotline/outage-0755")
	f.StringVar(&text, "text", "", "what the prompt says, for people reading the list")
	f.StringVar(&from, "from", "now", "when it starts: RFC 3339 time (2025-07-01T06:00:00+08:00) or now")
	f.StringVar(&until, "until", "", "when it ends: RFC 3339 time (default: until ended)")
	f.DurationVar(&dur, "for", 0, "how long it plays from --from, e.g. 4h (instead of --until)")
	f.StringVar(&by, "by", "", "who adds it (default $USER)")
	_ = cmd.MarkFlagRequired("kind")
	_ = cmd.MarkFlagRequired("prompt")
	return cmd
}

// parseNoticeTime reads "now" or an RFC 3339 time.
func parseNoticeTime(s string, now time.Time) (time.Time, error) {
	if strings.EqualFold(strings.TrimSpace(s), "now") || s == "" {
		return now, nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, errors.New(`use "now" or an RFC 3339 time like 2025-07-01T06:00:00+08:00`)
	}
	return t, nil
}

// noticeFlagErr names the flag behind a *store.NoticeError.
func noticeFlagErr(err error, untilGiven bool) error {
	var ne *store.NoticeError
	if !errors.As(err, &ne) {
		return err
	}
	flag := map[string]string{"kind": "--kind", "area_prefix": "--area", "prompt": "--prompt", "starts_at": "--from"}[ne.Field]
	if ne.Field == "ends_at" {
		flag = "--for"
		if untilGiven {
			flag = "--until"
		}
	}
	if flag == "" {
		return err
	}
	return fmt.Errorf("%s: %s", flag, ne.Problem)
}

// describeNotice is one line about a notice: kind, area, window, prompt.
func describeNotice(n store.Notice) string {
	where := "everywhere"
	if n.AreaPrefix != "" {
		where = "area " + n.AreaPrefix
	}
	return fmt.Sprintf("%s for %s from %s %s (%s)", n.Kind, where, n.StartsAt.UTC().Format(noticeTime), untilText(n), n.Prompt)
}

func untilText(n store.Notice) string {
	if n.EndsAt == nil {
		return "until ended"
	}
	return "until " + n.EndsAt.UTC().Format(noticeTime)
}

func newNoticeListCmd(g *globals, dbURL *string) *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List active and scheduled notices",
		Long: `list shows the notices that are playing or scheduled to play, by start
time (--all: also those ended or past their window). Times are UTC.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := openCmdStore(cmd, g, *dbURL)
			if err != nil {
				return err
			}
			defer st.Close()
			now := g.now()
			ns, err := st.ListNotices(cmd.Context(), now, all)
			if err != nil {
				return explainStoreErr(err)
			}
			if asJSON {
				return writeNoticesJSON(cmd.OutOrStdout(), ns, now)
			}
			return printNotices(cmd.OutOrStdout(), ns, now)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list notices that were ended or are past their window")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (an array of notices with their status)")
	return cmd
}

// noticeJSON is a notice in `notice list --json`.
type noticeJSON struct {
	store.Notice
	Status string `json:"status"`
}

func writeNoticesJSON(w io.Writer, ns []store.Notice, now time.Time) error {
	out := make([]noticeJSON, 0, len(ns))
	for _, n := range ns {
		out = append(out, noticeJSON{Notice: n, Status: n.Status(now)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func printNotices(w io.Writer, ns []store.Notice, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tAREA\tSTATUS\tFROM\tUNTIL\tPROMPT\tTEXT")
	for _, n := range ns {
		area := n.AreaPrefix
		if area == "" {
			area = "*"
		}
		until := "-"
		if n.EndsAt != nil {
			until = n.EndsAt.UTC().Format(noticeTime)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.Kind, area, n.Status(now),
			n.StartsAt.UTC().Format(noticeTime), until, n.Prompt, dash(singleLine(n.Text)))
	}
	return tw.Flush()
}

func newNoticeEndCmd(g *globals, dbURL *string) *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "end ID",
		Short: "End a notice now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return fmt.Errorf("notice ID %q: want the number `hotline notice list` shows", args[0])
			}
			who, err := actorName(g, by)
			if err != nil {
				return err
			}
			st, log, err := openCmdStore(cmd, g, *dbURL)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.EndNotice(cmd.Context(), id, who)
			if err != nil {
				return explainStoreErr(err)
			}
			log.Info("notice ended", "id", n.ID, "kind", n.Kind, "area", n.AreaPrefix, "by", who)
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "notice %d ended: %s\n", n.ID, describeNotice(n))
			return err
		},
	}
	cmd.Flags().StringVar(&by, "by", "", "who ends it (default $USER)")
	return cmd
}
