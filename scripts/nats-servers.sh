#!/usr/bin/env bash
# Fetches the nats-server of each Debian suite of the test matrix into a cache,
# without touching the system's apt configuration or its installed nats-server:
# a private sources list that reuses the Debian mirror the system is already
# configured with, `apt-get download` and `dpkg-deb -x`. Debian's nats-server
# is a static Go program (needs only libc6 >= 2.34), so every suite's binary
# runs on Debian 12 and 13.
#
#   scripts/nats-servers.sh            fetch what is missing, then print the matrix
#   scripts/nats-servers.sh --list     print the matrix lines only (no network)
#
# Output: one line per suite, "SUITE VERSION PATH", e.g.
#   bookworm 2.9.10 /root/.cache/xorb-dr/nats-servers/bookworm/usr/sbin/nats-server
# Cache: $XORB_NATS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/xorb-dr/nats-servers).
# Suites: $XORB_NATS_SUITES (default "bookworm trixie forky": Debian 12, 13, testing).
# Testing moves: whatever version forky has is taken, and printed.
# A suite's cached binary is refetched after $XORB_NATS_MAX_AGE_DAYS (default 7) days.
set -euo pipefail

suites=${XORB_NATS_SUITES:-bookworm trixie forky}
cache=${XORB_NATS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xorb-dr/nats-servers}
max_age=${XORB_NATS_MAX_AGE_DAYS:-7}
list_only=0
[ "${1:-}" = --list ] && list_only=1

die() {
	echo "nats-servers.sh: error: $*" >&2
	exit 2
}

# The Debian mirror the system already uses (shared with debian13-check.sh).
# shellcheck source=lib/mirror.sh
. "$(dirname "$0")/lib/mirror.sh"
mirror() { xorb_debian_mirror debian; }

# the binary a suite's package installed (usr/sbin in Debian's packages)
binary() {
	local d
	for d in usr/sbin usr/bin; do
		[ -x "$cache/$1/$d/nats-server" ] && { echo "$cache/$1/$d/nats-server"; return; }
	done
	return 1
}

print_matrix() {
	local s bin ver
	for s in $suites; do
		bin=$(binary "$s") || continue
		ver=$("$bin" --version 2>/dev/null | sed -n 's/^nats-server: v\{0,1\}//p')
		[ -n "$ver" ] || die "$bin does not run (--version printed no version); delete $cache/$s and rerun"
		echo "$s $ver $bin"
	done
}

if [ "$list_only" = 1 ]; then
	print_matrix
	exit 0
fi

need=()
for s in $suites; do
	if ! bin=$(binary "$s") || [ -n "$(find "$bin" -mtime +"$max_age" 2>/dev/null)" ]; then
		need+=("$s")
	fi
done

if [ ${#need[@]} -gt 0 ]; then
	uri=$(mirror) || die "no Debian mirror found in /etc/apt/sources.list{,.d}; cannot fetch the nats-server of ${need[*]}"
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -r "$keyring" ] || die "$keyring is missing (install debian-archive-keyring)"
	work="$cache/.apt"
	mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb" "$work/empty"
	: >"$work/sources.list"
	for s in "${need[@]}"; do
		echo "deb [signed-by=$keyring] $uri $s main" >>"$work/sources.list"
	done
	apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=$work/empty"
		-o "Dir::State::lists=$work/lists" -o "Dir::Cache=$work/cache"
		-o "Dir::Etc::preferences=$work/empty/none" -o "Dir::Etc::preferencesparts=$work/empty"
		-o APT::Sandbox::User=root -qq)
	apt-get "${apt_opts[@]}" update ||
		die "apt-get update of the suites ${need[*]} from $uri failed (network? mirror?)"
	for s in "${need[@]}"; do
		rm -f "$work/deb"/*.deb
		(cd "$work/deb" && apt-get "${apt_opts[@]}" download "nats-server/$s") ||
			die "apt-get download nats-server/$s failed"
		deb=$(ls "$work/deb"/nats-server_*.deb 2>/dev/null | head -n1)
		[ -n "$deb" ] || die "apt-get download nats-server/$s left no .deb in $work/deb"
		rm -rf "$cache/$s.new"
		mkdir -p "$cache/$s.new"
		dpkg-deb -x "$deb" "$cache/$s.new" || die "dpkg-deb -x $deb failed"
		rm -rf "$cache/$s"
		mv "$cache/$s.new" "$cache/$s"
		bin=$(binary "$s") || die "$deb holds no usr/sbin/nats-server nor usr/bin/nats-server"
		touch "$bin"
	done
	rm -rf "$work"
fi

print_matrix
