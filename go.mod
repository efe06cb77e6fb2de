module github.com/hotline-cc/hotline

go 1.26.8

require (
	github.com/expr-lang/expr v1.17.7
	github.com/gorilla/websocket v1.5.3
	github.com/jmoiron/sqlx v1.4.0
	github.com/lib/pq v1.12.3
	github.com/percipia/eslgo v1.5.2
	github.com/pressly/goose/v3 v3.29.0
	github.com/spf13/cobra v1.10.2
	golang.org/x/sync v0.24.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/mfridman/interpolate v0.0.2 // indirect
	github.com/sethvargo/go-retry v0.5.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	go.uber.org/multierr v1.11.0 // indirect
)
