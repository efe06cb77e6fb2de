#!/usr/bin/env bash
# setup.sh - install what a fresh Debian 12 machine lacks to build and
# test hotline. Idempotent: a second run only checks and takes seconds.
#
#   scripts/setup.sh          install/check everything (needs root)
#   scripts/setup.sh go-path  print the go binary to use (no installing)
#
# What it does:
#  1. apt packages: sip-tester (SIPp), debootstrap, postgresql, sox,
#     espeak-ng, make, gcc + libc6-dev (go test -race needs cgo),
#     ca-certificates, curl.
#  2. PostgreSQL: starts the local cluster if it is not running
#     (pg_ctlcluster --skip-systemctl-redirect VER main start; no systemd
#     needed), makes TCP connections from 127.0.0.1 use `trust` auth (a
#     line at the top of pg_hba.conf; loopback-only, for a test machine)
#     and creates the database `test` owned by the `postgres` role. Tests
#     connect as postgres://postgres@127.0.0.1:5432/test.
#  3. Go: if `go` is missing or older than the `go` line of go.mod, installs
#     Debian's golang-go and uses it to download the exact toolchain
#     (module golang.org/toolchain@v0.0.1-go<VERSION>.linux-<arch> from the
#     configured Go module proxy), whose bin/go is then used. The path is
#     remembered in $HOTLINE_CACHE/go-bin and printed.
#  4. scripts/asterisk-sandbox.sh ensure (the Asterisk 22 chroot).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${HOTLINE_CACHE:-${HOME:-/root}/.cache/hotline}"
GO_BIN_FILE="$CACHE/go-bin"

log() { echo "setup: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

required_go() {
	awk '$1 == "go" { print $2; exit }' "$REPO_DIR/go.mod"
}

# version_ge A B: A >= B (dotted versions).
version_ge() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

go_version_of() {
	"$1" env GOVERSION 2>/dev/null | sed 's/^go//'
}

# Prints a go binary at least as new as go.mod asks for, or fails.
find_go() {
	local want cand v
	want="$(required_go)"
	for cand in "$(cat "$GO_BIN_FILE" 2>/dev/null || true)" "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go; do
		[ -n "$cand" ] && [ -x "$cand" ] || continue
		v="$(GOTOOLCHAIN=local go_version_of "$cand")" || continue
		if [ -n "$v" ] && version_ge "$v" "$want"; then
			echo "$cand"
			return 0
		fi
	done
	return 1
}

install_apt() {
	local missing=() p
	for p in sip-tester debootstrap postgresql sox espeak-ng graphviz make gcc libc6-dev ca-certificates curl; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing apt packages: ${missing[*]}"
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

setup_postgres() {
	local ver hba
	if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
		ver="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
		[ -n "$ver" ] || die "postgresql is installed but no server version found"
		log "creating PostgreSQL cluster $ver/main"
		pg_createcluster "$ver" main >/dev/null
	fi
	ver="$(pg_lsclusters -h | awk '$2 == "main" { print $1; exit }')"
	[ -n "$ver" ] || ver="$(pg_lsclusters -h | awk '{ print $1; exit }')"
	if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main"' | grep -q online; then
		log "starting PostgreSQL $ver/main"
		pg_ctlcluster --skip-systemctl-redirect "$ver" main start
	fi
	hba="/etc/postgresql/$ver/main/pg_hba.conf"
	if [ -f "$hba" ] && ! grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
		log "allowing trust auth from 127.0.0.1 in $hba (test machine only)"
		sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
		pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
	fi
	local i
	for i in $(seq 1 50); do
		pg_isready -q -h 127.0.0.1 -p 5432 && break
		sleep 0.2
	done
	pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL does not answer on 127.0.0.1:5432"
	if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
		log "creating database test"
		psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test" >/dev/null
	fi
}

setup_go() {
	local want arch boot dir gobin
	if gobin="$(find_go)"; then
		log "go: $gobin ($(GOTOOLCHAIN=local go_version_of "$gobin"))"
		return 0
	fi
	want="$(required_go)"
	arch="$(dpkg --print-architecture)"
	log "go $want not found; bootstrapping with Debian's golang-go"
	if ! [ -x /usr/lib/go/bin/go ]; then
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends golang-go >/dev/null
	fi
	boot=/usr/lib/go/bin/go
	dir="$(cd "$(mktemp -d)" && GO111MODULE=on GOTOOLCHAIN=local GOFLAGS=-mod=mod \
		"$boot" mod download -json "golang.org/toolchain@v0.0.1-go${want}.linux-${arch}" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
	[ -n "$dir" ] && [ -f "$dir/bin/go" ] || die "could not download the Go $want toolchain"
	# Module zips do not keep file modes; the go command's own toolchain
	# switch marks these executable the same way.
	chmod 0555 "$dir"/bin/* "$dir"/pkg/tool/*/*
	mkdir -p "$CACHE"
	echo "$dir/bin/go" >"$GO_BIN_FILE"
	log "go: $dir/bin/go ($(GOTOOLCHAIN=local go_version_of "$dir/bin/go"))"
}

case "${1:-}" in
go-path)
	find_go || die "no suitable go; run scripts/setup.sh"
	exit 0
	;;
"") ;;
*)
	echo "usage: $0 [go-path]" >&2
	exit 2
	;;
esac

[ "$(id -u)" -eq 0 ] || die "run as root (apt-get, PostgreSQL, the Asterisk chroot)"
install_apt
setup_postgres
setup_go
"$REPO_DIR/scripts/asterisk-sandbox.sh" ensure
log "ok"
