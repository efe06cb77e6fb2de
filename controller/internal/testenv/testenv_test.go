package testenv

import (
	"database/sql"
	"testing"
)

func TestNewDatabase(t *testing.T) {
	u := NewDatabase(t)
	db, err := sql.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRow("SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name == "test" || name == "" {
		t.Fatalf("connected to %q, want a fresh database", name)
	}
	if _, err := db.Exec("CREATE TABLE t (id int)"); err != nil {
		t.Fatal(err)
	}
}
