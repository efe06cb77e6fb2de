// Package testenv gives tests the environment `make test` prepares: the
// Asterisk sandbox (scripts/asterisk-sandbox.sh) and PostgreSQL.
//
// Tests that need them fail, never skip, when the environment is missing:
// a skipped test proves nothing. Run them with `make test`.
package testenv

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver for NewDatabase
)

// DefaultDatabaseURL is used when HOTLINE_TEST_DATABASE_URL is unset: the
// local PostgreSQL scripts/setup.sh prepares (trust auth on 127.0.0.1).
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func need(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: this test needs the environment `make test` prepares "+
			"(Asterisk sandbox, PostgreSQL). Run `make test`, or "+
			"`eval \"$(scripts/asterisk-sandbox.sh env)\"` after `scripts/asterisk-sandbox.sh start`.", name)
	}
	return v
}

// ARI returns the Asterisk REST Interface base URL, user and password of
// the running sandbox (HOTLINE_ARI_URL, HOTLINE_ARI_USER,
// HOTLINE_ARI_PASSWORD).
func ARI(t testing.TB) (baseURL, user, pass string) {
	t.Helper()
	return need(t, "HOTLINE_ARI_URL"), need(t, "HOTLINE_ARI_USER"), need(t, "HOTLINE_ARI_PASSWORD")
}

// RecordingDir is where the host sees the recordings Asterisk writes
// (HOTLINE_RECORDING_DIR).
func RecordingDir(t testing.TB) string {
	t.Helper()
	d := need(t, "HOTLINE_RECORDING_DIR")
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Fatalf("HOTLINE_RECORDING_DIR=%s is not a directory (%v); run `make test`", d, err)
	}
	return d
}

// SoundsDir is Asterisk's sounds directory as seen from the host
// (HOTLINE_SOUNDS_DIR).
func SoundsDir(t testing.TB) string {
	t.Helper()
	return need(t, "HOTLINE_SOUNDS_DIR")
}

// AsteriskRoot is the sandbox's chroot (HOTLINE_ASTERISK_ROOT).
func AsteriskRoot(t testing.TB) string {
	t.Helper()
	return need(t, "HOTLINE_ASTERISK_ROOT")
}

// DatabaseURL is the PostgreSQL URL of the test server's `test` database:
// HOTLINE_TEST_DATABASE_URL, or DefaultDatabaseURL.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("HOTLINE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
}

// NewDatabase creates an empty database with a random name on the test
// server, drops it when the test ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := DatabaseURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("bad database URL %q: %v", base, err)
	}
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("open %s: %v", redact(u), err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err = admin.Ping(); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		admin.Close()
		t.Fatalf("PostgreSQL at %s is not reachable (%v); run `make test` (scripts/setup.sh starts it)", redact(u), err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "hotline_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		// WITH (FORCE) ends sessions a test left open (PostgreSQL 13+).
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	nu := *u
	nu.Path = "/" + name
	return nu.String()
}

func redact(u *url.URL) string {
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			c := *u
			c.User = url.UserPassword(u.User.Username(), "xxx")
			return c.String()
		}
	}
	return u.String()
}

// Name returns a short unique name with the given prefix, for test
// objects (queues, agents) that must not collide between runs.
func Name(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s%s", strings.TrimSuffix(prefix, "-")+"-", hex.EncodeToString(b[:]))
}
