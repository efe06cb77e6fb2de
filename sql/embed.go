// Package hotlinesql embeds hotline's Postgres migrations into the binary,
// so `hotline migrate` needs nothing but the executable.
package hotlinesql

import "embed"

// Migrations holds the goose migrations under migrations/.
//
//go:embed migrations/*.sql
var Migrations embed.FS
