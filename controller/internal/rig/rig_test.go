package rig

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/controller/internal/testenv"
)

func TestFreshDatabase(t *testing.T) {
	ctx := context.Background()
	admin := testenv.DatabaseURL(t)
	name := "hotline_rig_test"
	u, err := FreshDatabase(ctx, admin, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("postgres", admin); err == nil {
			_, _ = db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
			db.Close()
		}
	})
	db, err := sql.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (x int)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Fresh again: the table is gone.
	u, err = FreshDatabase(ctx, admin, name)
	if err != nil {
		t.Fatal(err)
	}
	db2, _ := sql.Open("postgres", u)
	defer db2.Close()
	var n int
	if err := db2.QueryRow(`SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database not fresh: %d tables named t (%v)", n, err)
	}
	if _, err := FreshDatabase(ctx, admin, "x; DROP DATABASE test"); err == nil || !strings.Contains(err.Error(), "is not") {
		t.Fatalf("a hostile name was accepted: %v", err)
	}
}
