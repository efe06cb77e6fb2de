package flow

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/hotline-cc/hotline/controller/internal/testenv"
	"github.com/hotline-cc/hotline/controller/store"
)

// migratedDB is a fresh database with hotline's schema.
func migratedDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", testenv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := store.Migrate(context.Background(), db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	return db
}

func shippedQueries(t *testing.T) *Queries {
	t.Helper()
	o, err := LoadOptions("", filepath.Join("..", "..", "..", "ivr-scripts", "queries.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return o.Queries
}

// The shipped named queries run against the real schema through
// DBLookups: found, not found, typed columns.
func TestDBLookupsShippedQueries(t *testing.T) {
	db := migratedDB(t)
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO customers (number, current_bill_cents, priority) VALUES ('13800000001', 12345, 5)`,
		// Last month's bill, paid; the one before, 30 yuan still owed and overdue.
		`INSERT INTO bills (number, period, amount_cents, paid_cents, due_date) VALUES
			('13800000001', date_trunc('month', now()) - interval '1 month', 9900, 9900, now() - interval '5 days'),
			('13800000001', date_trunc('month', now()) - interval '2 months', 8000, 5000, now() - interval '35 days')`,
		`INSERT INTO customer_areas (number, area) VALUES ('13800000001', '0755')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	qs := shippedQueries(t)
	l := &DBLookups{DB: db}
	for _, tc := range []struct {
		query, caller string
		found         bool
		col           string
		want          any
	}{
		{"current_bill", "13800000001", true, "cents", 12345},
		{"current_bill", "13900000000", false, "cents", nil},
		{"customer_priority", "13800000001", true, "priority", 5},
		{"bill_history", "13800000001", true, "cents", 9900},
		{"bill_history", "13900000000", false, "cents", nil},
		{"arrears", "13800000001", true, "cents", 3000},
		{"arrears", "13900000000", true, "cents", 0},
		{"customer_area", "13800000001", true, "area", "0755"},
		{"customer_area", "13900000000", false, "area", nil},
	} {
		q := qs.Get(tc.query)
		row, err := l.Lookup(ctx, LookupRequest{Name: q.Name, Query: q, Args: []any{tc.caller}, Fields: q.Columns})
		if err != nil {
			t.Fatalf("%s(%s): %v", tc.query, tc.caller, err)
		}
		if row.Found != tc.found || (tc.found && row.Values[tc.col] != tc.want) {
			t.Errorf("%s(%s) = %+v, want found=%v %s=%v", tc.query, tc.caller, row, tc.found, tc.col, tc.want)
		}
	}
	// A query on a table the schema lacks fails: the flow's on_error.
	if _, err := db.Exec(`DROP TABLE bills`); err != nil {
		t.Fatal(err)
	}
	q := qs.Get("bill_history")
	if _, err := l.Lookup(ctx, LookupRequest{Name: q.Name, Query: q, Args: []any{"1"}, Fields: q.Columns}); err == nil || !strings.Contains(err.Error(), "bills") {
		t.Errorf("bill_history without a bills table: %v", err)
	}
}

// Lookups are read-only unless the query says write: true; secrets reach
// the database as parameters (verified with pgcrypto's crypt).
func TestDBLookupsReadOnlyAndSecrets(t *testing.T) {
	db := migratedDB(t)
	ctx := context.Background()
	for _, s := range []string{
		`INSERT INTO service_passwords (number, password_hash) VALUES ('13800000001', crypt('123456', gen_salt('bf', 4)))`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	qs := shippedQueries(t)
	l := &DBLookups{DB: db}
	verify := qs.Get("verify_password")
	for pw, want := range map[string]bool{"123456": true, "654321": false} {
		row, err := l.Lookup(ctx, LookupRequest{Name: verify.Name, Query: verify, Args: []any{"13800000001", Secret{v: pw}}, Fields: verify.Columns})
		if err != nil || !row.Found || row.Values["ok"] != want {
			t.Errorf("verify %s: %+v, %v; want ok=%v", pw, row, err, want)
		}
	}
	change := qs.Get("change_password")
	row, err := l.Lookup(ctx, LookupRequest{Name: change.Name, Query: change, Args: []any{"13800000001", Secret{v: "123456"}, Secret{v: "777777"}}, Fields: change.Columns})
	if err != nil || !row.Found || row.Values["ok"] != true {
		t.Fatalf("change: %+v, %v", row, err)
	}
	row, err = l.Lookup(ctx, LookupRequest{Name: verify.Name, Query: verify, Args: []any{"13800000001", Secret{v: "777777"}}, Fields: verify.Columns})
	if err != nil || row.Values["ok"] != true {
		t.Fatalf("new password not in effect: %+v, %v", row, err)
	}
	// The same UPDATE without write: true is refused by the read-only
	// transaction.
	ro := *change
	ro.Write = false
	if _, err := l.Lookup(ctx, LookupRequest{Name: ro.Name, Query: &ro, Args: []any{"13800000001", Secret{v: "777777"}, Secret{v: "1"}}, Fields: ro.Columns}); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("write in a read lookup: %v, want a read-only error", err)
	}
}

// HTTP lookups: JSON fields by type, 404 = not found, other statuses,
// bad bodies and timeouts are errors (the on_error branch).
func TestHTTPLookups(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("number") {
		case "1":
			w.Write([]byte(`{"state": "up", "speed_mbps": 300, "extra": [1]}`))
		case "2":
			http.NotFound(w, r)
		case "3":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "4":
			w.Write([]byte(`not json`))
		case "5":
			time.Sleep(300 * time.Millisecond)
			w.Write([]byte(`{}`))
		case "6":
			w.Write([]byte(`{"state": 5}`))
		case "7":
			w.Write([]byte(`{"state": "` + strings.Repeat("x", MaxHTTPBody) + `"}`))
		}
	}))
	defer srv.Close()
	p := compile(t, `
nodes:
  bb:
    type: lookup
    http:
      url: `+srv.URL+`/line
      params: {number: caller}
    fields: {state: string, speed_mbps: int}
    timeout: 100ms
    next: known
    on_error: fallback
  known:
    type: condition
    when:
      - if: bb.found && bb.state == "up" && bb.speed_mbps == 300
        next: up
    else: unknown
  up: {type: hangup}
  unknown: {type: hangup, outcome: released}
  fallback: {type: queue, service: broadband}
`)
	for caller, want := range map[string]string{"1": "up", "2": "unknown", "3": "fallback", "4": "fallback", "5": "fallback", "6": "fallback", "7": "fallback"} {
		start := time.Now()
		s := NewFakeSession(nil, time.Unix(0, 0))
		res, err := p.Run(context.Background(), s, Call{Caller: caller}, Env{Lookups: &DBLookups{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil || res.Node != want {
			t.Errorf("caller %s: ended at %s (%v), want %s; trail %v", caller, res.Node, err, want, s.Steps())
		}
		if caller == "5" && time.Since(start) > 250*time.Millisecond {
			t.Errorf("timeout not applied: took %s", time.Since(start))
		}
	}
}

// warnLog records the warnings a run logs.
type warnLog struct{ msgs []string }

func (w *warnLog) Warn(msg string, args ...any) {
	w.msgs = append(w.msgs, fmt.Sprint(append([]any{msg}, args...)...))
}

// An http lookup naming an endpoint GETs the endpoint's base URL (as the
// installation configures it) joined with the path and the parameters;
// an endpoint the installation does not configure takes the on_error
// branch, is logged, and the call goes on.
func TestHTTPEndpointLookups(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.RequestURI())
		if r.URL.Path != "/api/v1/line" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"state": "up"}`))
	}))
	defer srv.Close()
	p := compile(t, `
nodes:
  bb:
    type: lookup
    http: {endpoint: broadband_status, path: /v1/line, params: {number: caller}}
    fields: {state: string}
    next: known
    on_error: fallback
  known:
    type: condition
    when:
      - if: bb.found && bb.state == "up"
        next: up
    else: unknown
  up: {type: hangup}
  unknown: {type: hangup, outcome: released}
  fallback: {type: queue, service: broadband}
`)
	if eps := p.HTTPEndpoints(); len(eps) != 1 || eps[0] != "broadband_status" {
		t.Errorf("HTTPEndpoints() = %v, want [broadband_status]", eps)
	}
	for _, base := range []string{srv.URL + "/api", srv.URL + "/api/"} {
		got = nil
		s := NewFakeSession(nil, time.Unix(0, 0))
		lk := &DBLookups{Endpoints: map[string]string{"broadband_status": base}}
		res, err := p.Run(context.Background(), s, Call{Caller: "13800000001"}, Env{Lookups: lk, Log: &warnLog{}})
		if err != nil || res.Node != "up" {
			t.Errorf("base %s: ended at %s (%v), want up; trail %v", base, res.Node, err, s.Steps())
		}
		if len(got) != 1 || got[0] != "/api/v1/line?number=13800000001" {
			t.Errorf("base %s: requests %v, want /api/v1/line?number=13800000001", base, got)
		}
		if !hasStep(stepLines(s.Steps()), "bb lookup: broadband_status/v1/line: found") {
			t.Errorf("base %s: trail %v", base, s.Steps())
		}
	}

	// Not configured: on_error, a warning naming the endpoint, no request.
	got = nil
	for _, eps := range []map[string]string{nil, {"billing": srv.URL}} {
		s := NewFakeSession(nil, time.Unix(0, 0))
		log := &warnLog{}
		res, err := p.Run(context.Background(), s, Call{Caller: "13800000001"}, Env{Lookups: &DBLookups{Endpoints: eps}, Log: log})
		if err != nil || res.Node != "fallback" || res.Queue == nil || res.Queue.Service != "broadband" {
			t.Errorf("endpoints %v: ended at %s (%v), queue %+v; want the on_error branch", eps, res.Node, err, res.Queue)
		}
		if !hasStep(stepLines(s.Steps()), "bb lookup: broadband_status/v1/line: failed") {
			t.Errorf("endpoints %v: trail %v", eps, s.Steps())
		}
		if len(log.msgs) != 1 || !strings.Contains(log.msgs[0], `HTTP endpoint "broadband_status" is not configured (ivr.http_endpoints)`) {
			t.Errorf("endpoints %v: logged %q, want the endpoint named", eps, log.msgs)
		}
	}
	if len(got) != 0 {
		t.Errorf("requests without a configured endpoint: %v", got)
	}
}

func stepLines(steps []Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.String()
	}
	return out
}
