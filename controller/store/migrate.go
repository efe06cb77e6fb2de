package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	hotlinesql "github.com/hotline-cc/hotline/sql"
)

// Applied is one migration applied by MigrateUp.
type Applied struct {
	Version  int64
	Source   string // file name, e.g. "00001_init.sql"
	Duration time.Duration
}

// Migrate brings the schema up to date with the migrations embedded in the
// binary. It is idempotent, and safe when two controllers start together
// (a Postgres advisory lock serialises them). Nothing global in goose is
// used or changed.
func Migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	_, err := MigrateUp(ctx, db, log)
	return err
}

// MigrateUp is Migrate returning what it applied (empty when the schema was
// already current).
func MigrateUp(ctx context.Context, db *sql.DB, log *slog.Logger) ([]Applied, error) {
	p, err := provider(db, log)
	if err != nil {
		return nil, err
	}
	// Not p.Close(): it would close the caller's db.
	results, err := p.Up(ctx)
	var applied []Applied
	for _, r := range results {
		if r == nil || r.Source == nil || r.Error != nil {
			continue
		}
		a := Applied{Version: r.Source.Version, Source: path.Base(r.Source.Path), Duration: r.Duration}
		applied = append(applied, a)
		log.Info("migration applied", "version", a.Version, "source", a.Source, "duration", a.Duration)
	}
	if err != nil {
		return applied, fmt.Errorf("store: migrate: %w", err)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return applied, fmt.Errorf("store: migrate: schema version: %w", err)
	}
	log.Info("database schema current", "version", v, "applied", len(applied))
	return applied, nil
}

// SchemaVersion returns the version of the newest migration applied to db
// (0 for an empty database).
func SchemaVersion(ctx context.Context, db *sql.DB, log *slog.Logger) (int64, error) {
	p, err := provider(db, log)
	if err != nil {
		return 0, err
	}
	// Not p.Close(): it would close the caller's db.
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

func provider(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	fsys, err := fs.Sub(hotlinesql.Migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(log.With("component", "goose")),
	)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}
