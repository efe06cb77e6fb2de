package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/store"
)

func TestNoticeCheck(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	before := t0.Add(-time.Minute)
	good := store.Notice{Kind: "outage", AreaPrefix: "0755", Prompt: "sound:hotline/outage-0755", StartsAt: t0}
	if err := good.Check(); err != nil {
		t.Fatalf("good notice: %v", err)
	}
	for _, tt := range []struct {
		change func(*store.Notice)
		field  string
	}{
		{func(n *store.Notice) { n.Kind = "party" }, "kind"},
		{func(n *store.Notice) { n.Kind = "" }, "kind"},
		{func(n *store.Notice) { n.AreaPrefix = "07a5" }, "area_prefix"},
		{func(n *store.Notice) { n.AreaPrefix = "+86" }, "area_prefix"},
		{func(n *store.Notice) { n.Prompt = "hotline/outage" }, "prompt"},
		{func(n *store.Notice) { n.Prompt = "sound:" }, "prompt"},
		{func(n *store.Notice) { n.Prompt = "sound:../../etc/passwd" }, "prompt"},
		{func(n *store.Notice) { n.Prompt = "sound:hotline/out age" }, "prompt"},
		{func(n *store.Notice) { n.EndsAt = &before }, "ends_at"},
		{func(n *store.Notice) { n.EndsAt = &t0 }, "ends_at"},
	} {
		n := good
		tt.change(&n)
		var ne *store.NoticeError
		if err := n.Check(); !errors.As(err, &ne) || ne.Field != tt.field {
			t.Errorf("%+v: Check = %v, want a problem with %s", n, err, tt.field)
		}
	}
}

func TestNoticesWindowsAndMatching(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t)
	t0 := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }

	add := func(n store.Notice) int64 {
		t.Helper()
		n.CreatedBy = "ops"
		got, err := s.AddNotice(ctx, n)
		if err != nil {
			t.Fatalf("add %+v: %v", n, err)
		}
		if got.ID == 0 || got.CreatedAt.IsZero() || got.Kind != n.Kind || got.CreatedBy != "ops" {
			t.Fatalf("added %+v", got)
		}
		return got.ID
	}
	outage := add(store.Notice{Kind: "outage", AreaPrefix: "0755", Prompt: "sound:hotline/outage-0755",
		Text: "Power cut in Shenzhen", StartsAt: t0.Add(-time.Hour), EndsAt: at(time.Hour)})
	tariff := add(store.Notice{Kind: "tariff", Prompt: "sound:hotline/tariff-2025", StartsAt: t0.Add(-3 * time.Hour)})
	later := add(store.Notice{Kind: "tariff", Prompt: "sound:hotline/tariff-july", StartsAt: t0.Add(2 * time.Hour)})
	expired := add(store.Notice{Kind: "emergency", Prompt: "sound:hotline/storm", StartsAt: t0.Add(-2 * time.Hour), EndsAt: at(-time.Hour)})
	emergency := add(store.Notice{Kind: "emergency", AreaPrefix: "010", Prompt: "sound:hotline/flood-010", StartsAt: t0.Add(-4 * time.Hour)})
	ended := add(store.Notice{Kind: "outage", Prompt: "sound:hotline/outage-all", StartsAt: t0.Add(-time.Hour)})
	if n, err := s.EndNotice(ctx, ended, "boss"); err != nil || n.EndedAt == nil || n.EndedBy != "boss" {
		t.Fatalf("end = %+v, %v", n, err)
	}

	ids := func(ns []store.Notice) []int64 {
		var out []int64
		for _, n := range ns {
			out = append(out, n.ID)
		}
		return out
	}
	active := func(caller, area string, kinds []string, when time.Time, want ...int64) {
		t.Helper()
		ns, err := s.ActiveNotices(ctx, caller, area, kinds, when)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(ns); !slices.Equal(got, want) {
			t.Errorf("ActiveNotices(%q, %q, %q, %s) = %v, want %v", caller, area, kinds, when.Sub(t0), got, want)
		}
	}
	// A Shenzhen caller: the area outage (newest first), then the tariff news.
	active("07551234567", "", nil, t0, outage, tariff)
	// Elsewhere: the tariff news only.
	active("02112345678", "", nil, t0, tariff)
	active("0755", "", nil, t0, outage, tariff) // the prefix itself
	active("075", "", nil, t0, tariff)          // shorter than the prefix
	// The area a look-up returned matches even when the number does not.
	active("+8675512345", "0755", nil, t0, outage, tariff)
	// Beijing: the emergency first, although it is the oldest.
	active("01012345678", "", nil, t0, emergency, tariff)
	// Kinds filter.
	active("07551234567", "", []string{"outage", "emergency"}, t0, outage)
	active("01012345678", "", []string{"tariff"}, t0, tariff)
	// Windows: start inclusive, end exclusive.
	active("07551234567", "", []string{"outage"}, t0.Add(-time.Hour), outage)
	active("07551234567", "", []string{"outage"}, t0.Add(-time.Hour-time.Microsecond)) // Postgres keeps microseconds
	active("07551234567", "", []string{"outage"}, t0.Add(time.Hour))
	active("02112345678", "", nil, t0.Add(2*time.Hour), later, tariff)
	// The expired storm warning played during its window only.
	active("02112345678", "", []string{"emergency"}, t0.Add(-90*time.Minute), expired)

	list, err := s.ListNotices(ctx, t0, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(list), []int64{emergency, tariff, outage, later}; !slices.Equal(got, want) {
		t.Errorf("ListNotices(t0) = %v, want %v (by start, not ended or expired)", got, want)
	}
	all, err := s.ListNotices(ctx, t0, true)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, n := range all {
		statuses = append(statuses, fmt.Sprintf("%d %s", n.ID, n.Status(t0)))
	}
	want := []string{
		fmt.Sprint(emergency, " active"), fmt.Sprint(tariff, " active"), fmt.Sprint(expired, " expired"),
		fmt.Sprint(outage, " active"), fmt.Sprint(ended, " ended"), fmt.Sprint(later, " scheduled"),
	}
	if !slices.Equal(statuses, want) {
		t.Errorf("ListNotices(all) statuses %q, want %q", statuses, want)
	}

	// Ending the outage takes it off at once.
	if _, err := s.EndNotice(ctx, outage, "ops"); err != nil {
		t.Fatal(err)
	}
	active("07551234567", "", nil, t0, tariff)
	if _, err := s.EndNotice(ctx, outage, "ops"); err == nil || !strings.Contains(err.Error(), "already ended") || !strings.Contains(err.Error(), "by ops") {
		t.Errorf("ending twice = %v, want 'already ended ... by ops'", err)
	}
	if _, err := s.EndNotice(ctx, 999999, "ops"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ending an unknown notice = %v, want not found", err)
	}
}

func TestAddNoticeDefaultsAndRejects(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t)
	before := time.Now().Add(-time.Second)
	n, err := s.AddNotice(ctx, store.Notice{Kind: "emergency", Prompt: "sound:hotline/evacuate"})
	if err != nil {
		t.Fatal(err)
	}
	if n.StartsAt.Before(before) || n.StartsAt.After(time.Now().Add(time.Second)) || n.EndsAt != nil {
		t.Errorf("zero start: starts %s ends %v, want now and open-ended", n.StartsAt, n.EndsAt)
	}
	var ne *store.NoticeError
	if _, err := s.AddNotice(ctx, store.Notice{Kind: "outage", Prompt: "beep"}); !errors.As(err, &ne) || ne.Field != "prompt" {
		t.Errorf("bad prompt = %v", err)
	}
	assertRows(t, s, `SELECT count(*)::text FROM ivr_notices`, "1")
}
