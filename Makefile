# hotline: the two commands are `make test` and `make demo` (see README).
# Both need root: they prepare PostgreSQL and an Asterisk 22 chroot
# (scripts/setup.sh, scripts/asterisk-sandbox.sh).

SHELL := /bin/bash
SANDBOX := scripts/asterisk-sandbox.sh
# The go binary scripts/setup.sh found or installed (expanded after setup).
GO = $(shell scripts/setup.sh go-path)
GOFMT = $(dir $(GO))gofmt

.PHONY: test demo bench fuzz setup sandbox-start sandbox-stop

setup:
	scripts/setup.sh

# Vet, format check, then all tests with the race detector against the
# sandbox. Packages run one at a time (-p 1): the end-to-end, contract and
# SIPp tests share one Asterisk and two cores, and timing-sensitive SIP
# tests should not compete with each other for them. The sandbox is stopped even when something fails; the exit
# status is the first failure's.
test: setup
	@set -euo pipefail; \
	trap '$(SANDBOX) stop' EXIT; \
	$(SANDBOX) start; \
	eval "$$($(SANDBOX) env)"; \
	scripts/make-prompts.sh "$$HOTLINE_SOUNDS_DIR/en/hotline"; \
	echo "+ go vet ./..."; \
	$(GO) vet ./...; \
	echo "+ gofmt -l"; \
	unformatted="$$($(GOFMT) -l $$(find . -name '*.go' -not -path './.git/*'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi; \
	echo "+ go test -race -count=1 -p 1 -timeout 25m ./..."; \
	$(GO) test -race -count=1 -p 1 -timeout 25m ./...

# The end-to-end demo: `hotline demo` drives real calls through Asterisk.
demo: setup
	@set -euo pipefail; \
	trap '$(SANDBOX) stop' EXIT; \
	$(SANDBOX) start; \
	eval "$$($(SANDBOX) env)"; \
	scripts/make-prompts.sh "$$HOTLINE_SOUNDS_DIR/en/hotline"; \
	$(GO) build -o .cache/hotline ./cmd/hotline; \
	.cache/hotline demo

bench:
	$(GO) test -run '^$$' -bench . ./...

# Every fuzz target in the repository, FUZZTIME each (default 30s), one
# at a time: go test runs one -fuzz target per package per invocation.
# Targets are found when the rule runs, so new ones are picked up. Not
# part of `make test`.
FUZZTIME ?= 30s
fuzz:
	@set -euo pipefail; \
	targets="$$(grep -rn --include='*_test.go' --exclude-dir=.git --exclude-dir=.cache --exclude-dir=testdata '^func Fuzz[A-Za-z0-9_]*(' . | sed -E 's#^\./(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | sort -u || true)"; \
	if [ -z "$$targets" ]; then echo "no fuzz targets found"; exit 1; fi; \
	while read -r pkg target; do \
		echo "+ go test -run '^$$' -fuzz '^$$target\$$' -fuzztime $(FUZZTIME) ./$$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "./$$pkg"; \
	done <<< "$$targets"

sandbox-start:
	$(SANDBOX) start

sandbox-stop:
	$(SANDBOX) stop

# The load comparison: the same bounded SIPp caller load through Asterisk's
# own app_queue and through hotline, at 10, 20 and 30 calls/s, 60 s each
# (`hotline load`; about 10 minutes). Uses the running sandbox if there is
# one (and leaves it running), else starts one and stops it afterwards.
.PHONY: load
load: setup
	@set -euo pipefail; \
	if ! $(SANDBOX) status >/dev/null; then trap '$(SANDBOX) stop' EXIT; $(SANDBOX) start; fi; \
	eval "$$($(SANDBOX) env)"; \
	scripts/make-prompts.sh "$$HOTLINE_SOUNDS_DIR/en/hotline"; \
	$(GO) build -o .cache/hotline ./cmd/hotline; \
	.cache/hotline load
