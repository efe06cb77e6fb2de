package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/store"
)

func syncedStore(t *testing.T) *store.Store {
	t.Helper()
	s := openMigrated(t)
	cfg := config.Default()
	cfg.Queues = []config.Queue{{ID: "billing", Strategy: "longest-idle", RingTimeout: 15 * time.Second}}
	cfg.Agents = []config.Agent{{ID: "1001", Endpoint: "PJSIP/agent1", Queues: []string{"billing"}},
		{ID: "1002", Endpoint: "PJSIP/agent2", Queues: []string{"billing"}}}
	if err := s.SyncConfig(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCallbacksCRUDAndRestoreOrder(t *testing.T) {
	ctx := context.Background()
	s := syncedStore(t)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// Created out of place order: a phone callback keeps the caller's
	// earlier place.
	web, err := s.CreateCallback(ctx, store.NewCallback{Queue: "billing", Number: "+8613800000000", Source: store.CallbackSourceWeb,
		RequestedAt: t0.Add(time.Minute), PlaceAt: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	phone, err := s.CreateCallback(ctx, store.NewCallback{Queue: "billing", Number: "10086", Source: store.CallbackSourcePhone,
		RequestedAt: t0.Add(2 * time.Minute), PlaceAt: t0, Priority: acd.PriorityVIP, Mode: "agent-first"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.CreateCallback(ctx, store.NewCallback{Queue: "billing", Number: "10010", Source: store.CallbackSourceWeb,
		RequestedAt: t0, PlaceAt: t0.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateCallback(ctx, store.CallbackUpdate{ID: done, Status: "completed", Attempts: 1, Outcome: "answered", Agent: "1002", At: t0}); err != nil {
		t.Fatal(err)
	}
	next := t0.Add(10 * time.Minute)
	if err := s.UpdateCallback(ctx, store.CallbackUpdate{ID: web, Status: "scheduled", Attempts: 1, NextAttemptAt: next, Outcome: "busy", Agent: "1001", At: t0}); err != nil {
		t.Fatal(err)
	}
	open, err := s.OpenCallbacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 2 || open[0].ID != phone || open[1].ID != web {
		t.Fatalf("open callbacks %+v, want %d (place t0) then %d", open, phone, web)
	}
	p, w := open[0], open[1]
	if p.Mode != "agent-first" || p.Priority != acd.PriorityVIP || p.Source != "phone" || !p.PlaceAt.Equal(t0) || p.Status != "pending" || p.Number != "10086" {
		t.Errorf("phone callback %+v", p)
	}
	if w.Mode != "customer-first" || w.Status != "scheduled" || w.Attempts != 1 || !w.NextAttemptAt.Time.Equal(next) || w.Outcome != "busy" || w.Agent.String != "1001" {
		t.Errorf("web callback %+v", w)
	}
	got, err := s.Callback(ctx, done)
	if err != nil || got.Status != "completed" || got.Agent.String != "1002" || got.Outcome != "answered" {
		t.Fatalf("Callback(%d) = %+v, %v", done, got, err)
	}
	if _, err := s.Callback(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing callback: %v", err)
	}
	if err := s.UpdateCallback(ctx, store.CallbackUpdate{ID: 999999, Status: "failed", At: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing callback: %v", err)
	}
	// The schema refuses what the ACD would never write.
	for _, bad := range []store.NewCallback{
		{Queue: "billing", Number: "12ab", Source: "web", RequestedAt: t0, PlaceAt: t0},
		{Queue: "billing", Number: "1", Source: "fax", RequestedAt: t0, PlaceAt: t0},
		{Queue: "nope", Number: "1", Source: "web", RequestedAt: t0, PlaceAt: t0},
		{Queue: "billing", Number: "1", Source: "web", RequestedAt: t0, PlaceAt: t0, Mode: "whenever"},
	} {
		if _, err := s.CreateCallback(ctx, bad); err == nil {
			t.Errorf("CreateCallback(%+v) accepted", bad)
		}
	}
}

func TestAgentPIN(t *testing.T) {
	ctx := context.Background()
	s := syncedStore(t)
	if _, err := s.CheckAgentPIN(ctx, "1001", "1234"); !errors.Is(err, store.ErrNoPIN) {
		t.Fatalf("no PIN yet: %v", err)
	}
	for _, bad := range []string{"123", "123456789", "12a4", "", " 1234"} {
		if err := s.SetAgentPIN(ctx, "1001", bad); !errors.Is(err, store.ErrInvalidPIN) {
			t.Errorf("SetAgentPIN(%q): %v", bad, err)
		}
	}
	if err := s.SetAgentPIN(ctx, "nobody", "1234"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}
	if err := s.SetAgentPIN(ctx, "1001", "4821"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAgentPIN(ctx, "1002", "4821"); err != nil {
		t.Fatal(err)
	}
	for pin, want := range map[string]bool{"4821": true, "4822": false, "48210": false, "": false} {
		ok, err := s.CheckAgentPIN(ctx, "1001", pin)
		if err != nil || ok != want {
			t.Errorf("CheckAgentPIN(%q) = %v, %v; want %v", pin, ok, err, want)
		}
	}
	// Stored hashed, with a salt of its own per agent: the same PIN gives
	// different hashes, and the PIN is nowhere in the row.
	var rows []struct {
		Hash []byte `db:"pin_hash"`
		Salt []byte `db:"pin_salt"`
	}
	if err := s.DB.SelectContext(ctx, &rows, `SELECT pin_hash, pin_salt FROM agents WHERE id IN ('1001', '1002') ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || len(rows[0].Hash) != 32 || len(rows[0].Salt) != 16 || string(rows[0].Hash) == string(rows[1].Hash) || string(rows[0].Salt) == string(rows[1].Salt) {
		t.Fatalf("PIN rows %x", rows)
	}
	if string(rows[0].Hash) == "4821" {
		t.Fatal("PIN stored in clear")
	}
	// A new PIN replaces the old one.
	if err := s.SetAgentPIN(ctx, "1001", "99887766"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.CheckAgentPIN(ctx, "1001", "4821"); ok {
		t.Fatal("the old PIN still works")
	}
	if ok, _ := s.CheckAgentPIN(ctx, "1001", "99887766"); !ok {
		t.Fatal("the new PIN does not work")
	}
	if _, err := s.CheckAgentPIN(ctx, "nobody", "1234"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}
}

// The reason table in Postgres is the ACD's.
func TestNotReadyReasonsSeeded(t *testing.T) {
	s := openMigrated(t)
	rows, err := s.NotReadyReasons(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := acd.Reasons()
	if len(rows) != len(want) {
		t.Fatalf("rows %+v, want %+v", rows, want)
	}
	for i, r := range rows {
		if r.Code != want[i].Code || r.Digit != want[i].Digit || r.Name != want[i].Name {
			t.Errorf("row %+v, want %+v", r, want[i])
		}
	}
}
