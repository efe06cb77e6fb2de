#!/usr/bin/env bash
# asterisk-sandbox.sh - a throwaway Asterisk 22 for tests and the demo.
#
# Debian 12 has no Asterisk package and this project must not depend on
# Docker, so we build a minimal Debian "sid" chroot (where Asterisk 22 is
# packaged), cache it outside the clone and run Asterisk inside it, bound
# to 127.0.0.1 only.
#
# Subcommands:
#   ensure        build the chroot once (cached; a no-op afterwards)
#   start         write dialplan/ into the chroot, start Asterisk, wait for ARI
#   stop          stop Asterisk, unmount what start mounted (idempotent)
#   status        say whether Asterisk runs (exit 0 if it does, 3 if not)
#   env           print `export` lines for HOTLINE_* variables
#   cli "CMD"     run an Asterisk CLI command (asterisk -rx CMD)
#
# Environment:
#   HOTLINE_CACHE        cache dir (default $HOME/.cache/hotline)
#   HOTLINE_AGENT_COUNT  number of agentN endpoints (default 20)
#   HOTLINE_MIRROR       Debian mirror URL (default: taken from this
#                        machine's apt sources)
#   HOTLINE_START_TIMEOUT seconds to wait for ARI (default 60)
#
# The mirror is read from the machine's own apt configuration at run time;
# no registry host name is written into this repository.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${HOTLINE_CACHE:-${HOME:-/root}/.cache/hotline}"
ROOT="$CACHE/asterisk-root"
RUN="$CACHE/run"
STAMP="$ROOT/.hotline-sandbox-ready"
# Bump when the package list or root layout changes to force a rebuild.
STAMP_VERSION="1"
PACKAGES="asterisk asterisk-modules asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm sox"
AGENT_COUNT="${HOTLINE_AGENT_COUNT:-20}"
ARI_URL="http://127.0.0.1:8088"
ARI_USER="hotline"
START_TIMEOUT="${HOTLINE_START_TIMEOUT:-60}"

log() { echo "asterisk-sandbox: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need_root() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (chroot, mount); try: sudo $0 $*"
}

# --- mirror detection ------------------------------------------------------

# Prints the URI serving the main Debian archive, read from the machine's
# apt sources (one-line and deb822 formats); skips security archives.
detect_mirror() {
	if [ -n "${HOTLINE_MIRROR:-}" ]; then
		echo "$HOTLINE_MIRROR"
		return
	fi
	local f uri=""
	# deb822 *.sources: pair each stanza's URIs with its Suites.
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri="$(awk '
			function flush() {
				if (done) return
				if (uris != "" && types ~ /(^| )deb( |$)/ && suites !~ /security/) {
					n = split(uris, u, /[ \t]+/)
					for (i = 1; i <= n; i++) if (u[i] != "" && u[i] !~ /security/) { print u[i]; done = 1; exit }
				}
				uris = ""; suites = ""; types = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^#/ { next }
			tolower($1) == "uris:"   { $1 = ""; uris = $0 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 }
			tolower($1) == "types:"  { $1 = ""; types = $0 " " }
			END { flush() }
		' "$f")"
		if [ -n "$uri" ]; then
			echo "${uri%/}"
			return
		fi
	done
	# One-line format.
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri="$(awk '
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
				if ($i !~ /security/ && $(i+1) !~ /security/) { print $i; exit }
			}
		' "$f")"
		if [ -n "$uri" ]; then
			echo "${uri%/}"
			return
		fi
	done
	die "cannot find a Debian mirror in /etc/apt/sources.list*; set HOTLINE_MIRROR"
}

# --- ensure ----------------------------------------------------------------

write_hosts() {
	local root="$1"
	cat >"$root/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$(hostname)
::1	localhost ip6-localhost ip6-loopback
EOF
}

# fixup ROOT: cheap adjustments applied on every ensure.
fixup() {
	local root="$1" l t
	write_hosts "$root" # the host name may differ from the build machine
	# The prompt directories are absolute symlinks through
	# /etc/alternatives, which the host cannot follow; make them relative
	# so HOTLINE_SOUNDS_DIR works from outside the chroot too.
	for l in en en_US; do
		[ -L "$root/usr/share/asterisk/sounds/$l" ] || continue
		t="$(chroot "$root" readlink -f "/usr/share/asterisk/sounds/$l")"
		case "$t" in
		/usr/share/asterisk/sounds/*)
			ln -sfn "${t#/usr/share/asterisk/sounds/}" "$root/usr/share/asterisk/sounds/$l" ;;
		esac
	done
	mkdir -p "$root/var/spool/asterisk/recording"
	chmod 755 "$root/var/spool/asterisk" "$root/var/spool/asterisk/recording"
}

cmd_ensure() {
	need_root ensure
	if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_VERSION" ]; then
		fixup "$ROOT"
		return 0
	fi
	if ! command -v debootstrap >/dev/null 2>&1; then
		log "installing debootstrap on the host"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
	fi
	local mirror tmp
	mirror="$(detect_mirror)"
	mkdir -p "$CACHE"
	# Leftovers of an interrupted build are never reused.
	for tmp in "$CACHE"/asterisk-root.tmp.*; do
		[ -d "$tmp" ] || continue
		umount_all "$tmp"
		rm -rf --one-file-system "$tmp"
	done
	if [ -d "$ROOT" ]; then
		log "removing stale root $ROOT (no or old stamp)"
		cmd_stop || true
		rm -rf --one-file-system "$ROOT"
	fi
	tmp="$CACHE/asterisk-root.tmp.$$"
	trap 'umount_all "'"$tmp"'"; rm -rf --one-file-system "'"$tmp"'"' EXIT
	local include=""
	case "$mirror" in https:*) include="--include=ca-certificates" ;; esac
	log "debootstrap sid from the machine's Debian mirror into $tmp (~30 s)"
	if ! debootstrap --variant=minbase $include sid "$tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
		tail -n 30 "$CACHE/debootstrap.log" >&2
		die "debootstrap failed (full log: $CACHE/debootstrap.log)"
	fi
	# No daemons may start inside the chroot during installation.
	printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
	chmod 755 "$tmp/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
	write_hosts "$tmp"
	mount -t proc proc "$tmp/proc"
	log "installing Asterisk in the chroot (~30-60 s)"
	if ! {
		chroot "$tmp" apt-get -q -o Acquire::Check-Valid-Until=false update &&
			chroot "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				--no-install-recommends -o Dpkg::Options::=--force-confdef \
				-o Dpkg::Options::=--force-confold $PACKAGES &&
			chroot "$tmp" apt-get clean
	} >"$CACHE/apt.log" 2>&1; then
		tail -n 30 "$CACHE/apt.log" >&2
		die "installing Asterisk failed (full log: $CACHE/apt.log)"
	fi
	umount_all "$tmp"
	fixup "$tmp"
	chroot "$tmp" asterisk -V >&2
	echo "$STAMP_VERSION" >"$tmp/.hotline-sandbox-ready"
	mv -T "$tmp" "$ROOT"
	trap - EXIT
	log "sandbox root ready at $ROOT"
}

# --- mounts ----------------------------------------------------------------

umount_all() {
	local root="$1" m
	# Deepest first.
	for m in dev/pts dev proc; do
		if mountpoint -q "$root/$m" 2>/dev/null; then
			umount "$root/$m" 2>/dev/null || umount -l "$root/$m" 2>/dev/null || true
		fi
	done
}

mount_all() {
	mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
	# Asterisk needs /dev/null, /dev/urandom; bind the host's /dev when the
	# root's own device nodes are missing or unusable.
	if ! [ -c "$ROOT/dev/null" ] || ! (: >"$ROOT/dev/null") 2>/dev/null ||
		! [ -c "$ROOT/dev/urandom" ]; then
		mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
	fi
}

# --- configs ---------------------------------------------------------------

# render SRC DST: copies a template, filling @PLACEHOLDERS@.
render() {
	sed -e "s|@ARI_PASSWORD@|$ARI_PASSWORD|g" \
		-e "s|@ARI_USER@|$ARI_USER|g" \
		-e "s|@AGENT_COUNT@|$AGENT_COUNT|g" \
		"$1" >"$2"
}

write_configs() {
	local src="$REPO_DIR/dialplan" dst="$ROOT/etc/asterisk" f n
	[ -d "$src" ] || die "missing $src"
	mkdir -p "$dst"
	find "$dst" -mindepth 1 -delete
	for f in "$src"/*.conf; do
		render "$f" "$dst/$(basename "$f")"
	done
	# Per-agent pieces generated from templates.
	: >"$dst/pjsip_agents.conf"
	: >"$dst/queue_members.conf"
	for n in $(seq 1 "$AGENT_COUNT"); do
		sed -e "s|@N@|$n|g" -e "s|@PORT@|$((5100 + n))|g" \
			"$src/pjsip_agent.conf.tmpl" >>"$dst/pjsip_agents.conf"
		echo "member => PJSIP/agent$n" >>"$dst/queue_members.conf"
	done
	chmod 640 "$dst"/*
	mkdir -p "$ROOT/var/spool/asterisk/recording" "$ROOT/var/run/asterisk" \
		"$ROOT/var/log/asterisk" "$ROOT/var/lib/asterisk"
}

# --- start / stop ----------------------------------------------------------

asterisk_pid() {
	local pid
	[ -f "$RUN/asterisk.pid" ] || return 1
	pid="$(cat "$RUN/asterisk.pid")"
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	# Guard against a reused pid.
	grep -q asterisk "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

# Processes whose root directory is the sandbox root (e.g. a leftover
# asterisk whose pid file was lost). Only our own chroot can match.
chroot_pids() {
	local p r
	for p in /proc/[0-9]*; do
		r="$(readlink "$p/root" 2>/dev/null)" || continue
		[ "$r" = "$ROOT" ] && echo "${p#/proc/}"
	done
	return 0
}

ari_status() {
	curl -s -o /dev/null -m 2 -w '%{http_code}' -u "$ARI_USER:$1" \
		"$ARI_URL/ari/asterisk/info" 2>/dev/null || true
}

cmd_start() {
	need_root start
	[ -f "$STAMP" ] || die "sandbox root missing; run: $0 ensure"
	cmd_stop
	mkdir -p "$RUN"
	chmod 700 "$RUN"
	ARI_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 24)"
	(umask 077 && echo "$ARI_PASSWORD" >"$RUN/ari-password")
	chmod 600 "$RUN/ari-password"
	write_hosts "$ROOT"
	write_configs
	mount_all
	rm -f "$ROOT/var/run/asterisk/asterisk.ctl" "$ROOT/var/run/asterisk/asterisk.pid"
	: >"$RUN/asterisk.log"
	# -f: no fork; setsid detaches it from the caller's process group so a
	# Ctrl-C in make does not leave a half-dead switch behind.
	setsid chroot "$ROOT" /usr/sbin/asterisk -f -n -g </dev/null >>"$RUN/asterisk.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$RUN/asterisk.pid"
	log "asterisk started (pid $pid), waiting for ARI on $ARI_URL"
	local deadline=$((SECONDS + START_TIMEOUT)) code=""
	while [ $SECONDS -lt $deadline ]; do
		if ! [ -d "/proc/$pid" ]; then
			break
		fi
		code="$(ari_status "$ARI_PASSWORD")"
		if [ "$code" = "200" ]; then
			log "ready: $(chroot "$ROOT" asterisk -rx 'core show version' 2>/dev/null | head -1)"
			return 0
		fi
		sleep 0.3
	done
	log "Asterisk did not answer ARI within ${START_TIMEOUT}s (last HTTP status: ${code:-none}; process $([ -d "/proc/$pid" ] && echo alive || echo exited))"
	log "--- tail of $RUN/asterisk.log"
	tail -n 40 "$RUN/asterisk.log" >&2 || true
	if [ -f "$ROOT/var/log/asterisk/messages" ]; then
		log "--- tail of $ROOT/var/log/asterisk/messages"
		tail -n 40 "$ROOT/var/log/asterisk/messages" >&2 || true
	fi
	cmd_stop
	exit 1
}

cmd_stop() {
	need_root stop
	local pids p i
	pids="$(asterisk_pid || true) $([ -d "$ROOT" ] && chroot_pids)"
	pids="$(echo $pids | tr ' ' '\n' | sort -u | tr '\n' ' ')"
	if [ -n "${pids// /}" ]; then
		for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
		for i in $(seq 1 50); do
			local alive=""
			for p in $pids; do [ -d "/proc/$p" ] && alive="$alive $p"; done
			[ -z "$alive" ] && break
			sleep 0.1
		done
		for p in $pids; do
			if [ -d "/proc/$p" ]; then
				log "asterisk pid $p ignored TERM; killing"
				kill -KILL "$p" 2>/dev/null || true
			fi
		done
		for i in $(seq 1 30); do
			local alive=""
			for p in $pids; do [ -d "/proc/$p" ] && alive="$alive $p"; done
			[ -z "$alive" ] && break
			sleep 0.1
		done
	fi
	rm -f "$RUN/asterisk.pid"
	[ -d "$ROOT" ] && umount_all "$ROOT"
	return 0
}

cmd_status() {
	local pid
	if pid="$(asterisk_pid)"; then
		echo "asterisk running (pid $pid), root $ROOT"
		return 0
	fi
	echo "asterisk not running (root $ROOT $([ -f "$STAMP" ] && echo ready || echo missing))"
	return 3
}

cmd_env() {
	[ -f "$RUN/ari-password" ] || die "no ARI password yet; run: $0 start"
	printf 'export HOTLINE_ARI_URL=%q\n' "$ARI_URL"
	printf 'export HOTLINE_ARI_USER=%q\n' "$ARI_USER"
	printf 'export HOTLINE_ARI_PASSWORD=%q\n' "$(cat "$RUN/ari-password")"
	printf 'export HOTLINE_RECORDING_DIR=%q\n' "$ROOT/var/spool/asterisk/recording"
	printf 'export HOTLINE_SOUNDS_DIR=%q\n' "$ROOT/usr/share/asterisk/sounds"
	printf 'export HOTLINE_ASTERISK_ROOT=%q\n' "$ROOT"
}

cmd_cli() {
	need_root cli
	[ $# -ge 1 ] || die "usage: $0 cli \"core show channels\""
	exec chroot "$ROOT" /usr/sbin/asterisk -rx "$*"
}

case "${1:-}" in
ensure) cmd_ensure ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
cli) shift; cmd_cli "$@" ;;
mirror) detect_mirror ;;
*)
	echo "usage: $0 ensure|start|stop|status|env|cli \"CMD\"" >&2
	exit 2
	;;
esac
