package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/config"
	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/store"
)

func testLog(t *testing.T) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func openMigrated(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	log, _ := testLog(t)
	s, err := store.Open(ctx, testenv.NewDatabase(t), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := store.Migrate(ctx, s.DB.DB, log); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMigrateTwice(t *testing.T) {
	ctx := context.Background()
	log, logs := testLog(t)
	s, err := store.Open(ctx, testenv.NewDatabase(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	if v, err := store.SchemaVersion(ctx, s.DB.DB, log); err != nil || v != 0 {
		t.Fatalf("empty database: version %d, %v", v, err)
	}
	applied, err := store.MigrateUp(ctx, s.DB.DB, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0].Version != 1 || applied[0].Source != "00001_init.sql" {
		t.Fatalf("first run applied %+v", applied)
	}
	if !strings.Contains(logs.String(), "migration applied") {
		t.Errorf("no log line per migration:\n%s", logs)
	}
	again, err := store.MigrateUp(ctx, s.DB.DB, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("second run applied %+v, want nothing", again)
	}
	if err := s.DB.PingContext(ctx); err != nil {
		t.Fatalf("Migrate closed the caller's db: %v", err)
	}
	v, err := store.SchemaVersion(ctx, s.DB.DB, log)
	if err != nil || v != applied[len(applied)-1].Version {
		t.Fatalf("version %d, %v", v, err)
	}

	var tables []string
	if err := s.DB.SelectContext(ctx, &tables, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' ORDER BY table_name`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"agent_queues", "agent_state_history", "agents", "contact_events", "contacts",
		"customers", "goose_db_version", "ivr_trail", "queues", "recordings", "service_numbers"} {
		if !slices.Contains(tables, want) {
			t.Errorf("table %s missing; have %v", want, tables)
		}
	}
}

func TestSyncConfig(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t)

	cfg := config.Default()
	cfg.Queues = []config.Queue{
		{ID: "general", Name: "General", Strategy: "longest-idle", RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second},
		{ID: "billing", Name: "Billing", Strategy: "longest-idle", RingTimeout: 20 * time.Second},
	}
	cfg.Services = []config.Service{
		{Number: "10000", Name: "Customer service", Queue: "general", Flow: "main.yaml"},
		{Number: "10001", Queue: "billing"},
	}
	cfg.Agents = []config.Agent{
		{ID: "1001", Name: "One", Endpoint: "PJSIP/agent1", Queues: []string{"general", "billing"}},
		{ID: "1002", Name: "Two", Endpoint: "PJSIP/agent2", Queues: []string{"general"}},
	}
	if err := s.SyncConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// An agent logs in; a restart syncs the same config again.
	if _, err := s.DB.ExecContext(ctx, `UPDATE agents SET state = 'READY', reason = 'r',
		state_since = '2020-01-02T03:04:05Z' WHERE id = '1001'`); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncConfig(ctx, cfg); err != nil {
		t.Fatalf("second SyncConfig: %v", err)
	}
	assertRows(t, s, `SELECT id || ' ' || name || ' ' || strategy || ' ' || ring_timeout_ms || ' ' || wrap_up_ms FROM queues ORDER BY id`,
		"billing Billing longest-idle 20000 0", "general General longest-idle 15000 10000")
	assertRows(t, s, `SELECT number || ' ' || queue_id || ' ' || flow FROM service_numbers ORDER BY number`,
		"10000 general main.yaml", "10001 billing ")
	assertRows(t, s, `SELECT id || ' ' || name || ' ' || endpoint || ' ' || state || ' ' || reason || ' ' || to_char(state_since AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM agents WHERE id = '1001'`,
		"1001 One PJSIP/agent1 READY r 2020-01-02")
	assertRows(t, s, `SELECT agent_id || ' ' || queue_id FROM agent_queues ORDER BY 1`,
		"1001 billing", "1001 general", "1002 general")

	// The config changes: agent renamed and moved, 1002 and 10001 removed.
	cfg.Services = cfg.Services[:1]
	cfg.Agents = []config.Agent{{ID: "1001", Name: "Uno", Endpoint: "PJSIP/agent9", Queues: []string{"billing"}}}
	cfg.Queues[0].RingTimeout = 30 * time.Second
	if err := s.SyncConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	assertRows(t, s, `SELECT id || ' ' || name || ' ' || endpoint || ' ' || state FROM agents ORDER BY id`,
		"1001 Uno PJSIP/agent9 READY", "1002 Two PJSIP/agent2 LOGGED_OUT")
	assertRows(t, s, `SELECT agent_id || ' ' || queue_id FROM agent_queues ORDER BY 1`, "1001 billing")
	assertRows(t, s, `SELECT number FROM service_numbers`, "10000")
	assertRows(t, s, `SELECT ring_timeout_ms::text FROM queues WHERE id = 'general'`, "30000")

	// A bad config (unknown queue) changes nothing: one transaction.
	bad := *cfg
	bad.Agents = []config.Agent{{ID: "1003", Endpoint: "PJSIP/agent3", Queues: []string{"nope"}}}
	if err := s.SyncConfig(ctx, &bad); err == nil {
		t.Fatal("SyncConfig with an unknown queue: no error")
	}
	assertRows(t, s, `SELECT agent_id || ' ' || queue_id FROM agent_queues ORDER BY 1`, "1001 billing")
	assertRows(t, s, `SELECT count(*)::text FROM agents WHERE id = '1003'`, "0")
}

func assertRows(t *testing.T, s *store.Store, q string, want ...string) {
	t.Helper()
	var got []string
	if err := s.DB.SelectContext(context.Background(), &got, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s\n got %q\nwant %q", q, got, want)
	}
}

func TestOpenRetriesUntilContextEnds(t *testing.T) {
	log, logs := testLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	// Port 1 on loopback: connection refused, the way a Postgres that has
	// not started yet looks.
	_, err := store.Open(ctx, "postgres://hotline:s3cret@127.0.0.1:1/hotline?sslmode=disable", log)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open = %v, want deadline exceeded", err)
	}
	if n := strings.Count(logs.String(), "postgres unreachable, retrying"); n < 2 {
		t.Errorf("%d retry log lines, want at least 2:\n%s", n, logs)
	}
	if strings.Contains(logs.String()+err.Error(), "s3cret") {
		t.Errorf("password leaked: %v\n%s", err, logs)
	}
}

func TestOpenFailsFast(t *testing.T) {
	log, logs := testLog(t)
	noDB, err := url.Parse(testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	noDB.Path = "/hotline_no_such_database"
	for _, dsn := range []string{
		noDB.String(),
		"host=127.0.0.1 port=notaport",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		_, err := store.Open(ctx, dsn, log)
		cancel()
		if err == nil || errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Errorf("Open(%q) = %v after %s, want an immediate error", dsn, err, time.Since(start))
		}
	}
	if strings.Contains(logs.String(), "retrying") {
		t.Errorf("retried an error retrying cannot fix:\n%s", logs)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db":                         "postgres://u@h/db",
		"postgres://h/db?password=pw":               "postgres://h/db?password=xxxxx",
		"host=h user=u password=pw dbname=d":        "host=h user=u password=xxxxx dbname=d",
	} {
		if got := store.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
