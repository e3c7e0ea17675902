#!/usr/bin/env bash
# Debian 13 (trixie) check: in a clean Debian 13 root (debootstrap, chroot)
# runs what a user of Debian 13 runs: scripts/deps.sh, the -Werror build, the
# unit tests, the integration tests (ctest -L integration, against Debian 13's
# own nats-server, Swift, awscli and libcurl), a short fuzz run (trixie's
# clang), scripts/demo.sh end to end, and the Debian package built for 13
# (tests/integration/test_package.sh), installed there by the install steps
# of schedules/README.md run as written (tests/integration/test_schedules_readme.sh:
# the user xorb, the units' service run as xorb, the cron job), run and
# purged. Prints what it ran with the
# versions seen inside, and exits non-zero naming every step that failed.
# The memcheck and sanitizer passes of scripts/test.sh are not run here.
#
#   scripts/debian13-check.sh [--fresh] [--rebuild-base] [--keep]
#     --fresh          install the packages again (ignore the cached root with deps installed)
#     --rebuild-base   debootstrap the minimal root again (implies --fresh)
#     --keep           leave the root in $cache/root for a look (mounts are undone anyway)
#     --only-package   only the package step (after deps): build, check, install it and
#                      run schedules/README.md's install steps (quicker, for packaging work)
#
# Needs root (debootstrap, mount, chroot) and the Debian mirror the system's
# apt is configured with (scripts/lib/mirror.sh reads it; no other host is
# contacted). Cache: $XORB_D13_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/xorb-dr/trixie-root), on a file system with
# user xattrs (Swift needs them; ext4 has them): minbase.tar.zst (the
# debootstrap --variant=minbase root) and deps-<hash of deps.sh>.tar.zst (that
# root after scripts/deps.sh), each rebuilt after $XORB_D13_MAX_AGE_DAYS
# (default 7) days. Every mount it makes under the root (/proc, /sys, /dev,
# /dev/pts, /dev/shm) is undone on every exit path, after every process still
# running inside the root has been stopped.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/mirror.sh
. "$src/scripts/lib/mirror.sh"

SUITE=trixie
cache=${XORB_D13_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xorb-dr/trixie-root}
max_age=${XORB_D13_MAX_AGE_DAYS:-7}
jobs=${XORB_D13_JOBS:-2}
fresh=0 rebuild_base=0 keep=0 only_package=0

usage() {
	sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 64
}
while [ $# -gt 0 ]; do
	case "$1" in
	--fresh) fresh=1 ;;
	--rebuild-base) rebuild_base=1 fresh=1 ;;
	--keep) keep=1 ;;
	--only-package) only_package=1 ;;
	-h | --help) usage ;;
	*)
		echo "debian13-check.sh: unknown argument \"$1\"" >&2
		usage
		;;
	esac
	shift
done

die() {
	echo "debian13-check.sh: error: $*" >&2
	exit 2
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
now() { date +%s; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mount and chroot): run it as root"
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 ||
	die "$src is not a git work tree: the files to copy into the root are taken from git ls-files"

t_start=$(now)
say "host packages (scripts/deps.sh: debootstrap, zstd)"
"$src/scripts/deps.sh" || die "scripts/deps.sh failed on the host; fix that first"
for tool in debootstrap zstd chroot mount umount; do
	command -v "$tool" >/dev/null || die "$tool is not installed on the host (scripts/deps.sh installs debootstrap and zstd)"
done

mirror=$(xorb_debian_mirror) ||
	die "no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d: configure apt first (the root is built from the system's mirror)"
security=$(xorb_debian_mirror debian-security || true)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring is missing: apt-get install debian-archive-keyring"

mkdir -p "$cache"
root=$cache/root
base_tar=$cache/minbase.tar.zst
deps_key=$(sha256sum "$src/scripts/deps.sh" | cut -c1-12)
deps_tar=$cache/deps-$deps_key.tar.zst

# --- mounts, leftovers, cleanup ---------------------------------------------

# Mount points at or below $1, deepest first (mountinfo escapes blanks as \040).
mounts_under() {
	awk -v d="$1" '{ gsub(/\\040/, " ", $5); if ($5 == d || index($5, d "/") == 1) print $5 }' \
		/proc/self/mountinfo | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}

# Stops every process whose root directory is $1 (what the tests, the demo
# or a failed step left running: nats-server, Swift, memcached), TERM then KILL.
kill_inside() {
	local dir=$1 p pids=() i
	dir=$(readlink -f "$dir")
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null || true)" = "$dir" ] && pids+=("${p#/proc/}")
	done
	[ ${#pids[@]} -eq 0 ] && return 0
	echo "debian13-check.sh: stopping ${#pids[@]} process(es) left inside $dir:" >&2
	for p in "${pids[@]}"; do
		echo "    $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)" >&2
	done
	kill -TERM "${pids[@]}" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && return 0
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null || true
	sleep 0.5
}

# Undoes every mount under $1; fails naming what stays mounted.
unmount_under() {
	local dir=$1 m left
	[ -d "$dir" ] || return 0
	dir=$(readlink -f "$dir")
	kill_inside "$dir"
	while read -r m; do
		[ -n "$m" ] || continue
		umount "$m" 2>/dev/null || umount "$m" || {
			echo "debian13-check.sh: $m is busy; detaching it lazily" >&2
			umount -l "$m" || true
		}
	done < <(mounts_under "$dir")
	left=$(mounts_under "$dir")
	if [ -n "$left" ]; then
		echo "debian13-check.sh: error: still mounted under $dir: $left; unmount them by hand (umount -l PATH)" >&2
		return 1
	fi
}

# Deletes a root only when nothing is mounted under it (never through /dev).
remove_root() {
	local dir=$1
	[ -e "$dir" ] || return 0
	if ! unmount_under "$dir"; then
		echo "debian13-check.sh: error: not deleting $dir: something is still mounted under it" >&2
		return 1
	fi
	rm -rf --one-file-system "$dir"
}

build_tmp=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	rm -f "$base_tar.tmp" "$deps_tar.tmp"
	if [ -n "$build_tmp" ]; then remove_root "$build_tmp" || rc=2; fi
	if [ -d "$root" ]; then
		unmount_under "$root" || rc=2
		if [ "$keep" = 1 ]; then
			echo "debian13-check.sh: root kept in $root (nothing mounted)" >&2
		else
			rm -rf --one-file-system "$root" || rc=2
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_all() {
	local r=$1
	mount -t proc proc "$r/proc"
	mount -t sysfs sysfs "$r/sys"
	mount --bind /dev "$r/dev"
	mount --bind /dev/pts "$r/dev/pts"
	mount -t tmpfs -o mode=1777,size=512m shm "$r/dev/shm"
}

# older than $max_age days, or missing
stale() { [ ! -e "$1" ] || [ -n "$(find "$1" -mtime +"$max_age" 2>/dev/null)" ]; }

# --- the minimal root (created once, kept as a tarball) -----------------------

remove_root "$root" || die "a previous run left $root mounted; unmount it by hand"
if [ "$rebuild_base" = 1 ] || stale "$base_tar"; then
	say "debootstrap --variant=minbase $SUITE from $mirror (cached in $base_tar)"
	t0=$(now)
	rm -f "$cache"/deps-*.tar.zst
	build_tmp=$(mktemp -d "$cache/base.XXXXXX")
	debootstrap --variant=minbase --keyring="$keyring" --include=ca-certificates \
		"$SUITE" "$build_tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
		tail -n 30 "$cache/debootstrap.log" >&2
		die "debootstrap of $SUITE from $mirror into $build_tmp failed (log: $cache/debootstrap.log; network? mirror?)"
	}
	unmount_under "$build_tmp" || die "debootstrap left mounts under $build_tmp"
	chmod 755 "$build_tmp" # mktemp's 0700 would lock out _apt, nobody (memcached) and the daemons
	tar -C "$build_tmp" --numeric-owner --xattrs -I 'zstd -T0 -3' -cf "$base_tar.tmp" . ||
		die "cannot write $base_tar.tmp (disk full?)"
	mv "$base_tar.tmp" "$base_tar"
	remove_root "$build_tmp" || die "cannot delete $build_tmp"
	build_tmp=
	echo "minimal root: $(du -h "$base_tar" | cut -f1) in $(($(now) - t0)) s"
fi

from=$base_tar
if [ "$fresh" = 0 ] && ! stale "$deps_tar"; then from=$deps_tar; fi
say "root from $(basename "$from")"
mkdir -p "$root"
tar -C "$root" --numeric-owner --xattrs -I zstd -xf "$from" || die "cannot unpack $from into $root; delete $from and rerun"
chmod 755 "$root"
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
chmod 1777 "$root/tmp"

# apt sources of the root: the system's mirror, trixie with its updates and security
{
	echo "deb [signed-by=$keyring] $mirror $SUITE main"
	echo "deb [signed-by=$keyring] $mirror $SUITE-updates main"
	if [ -n "$security" ]; then echo "deb [signed-by=$keyring] $security $SUITE-security main"; fi
} >"$root/etc/apt/sources.list"
mkdir -p "$root$(dirname "$keyring")"
cp "$keyring" "$root$keyring"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
grep -q '^127\.0\.0\.1' "$root/etc/hosts" 2>/dev/null || echo "127.0.0.1 localhost" >>"$root/etc/hosts"

say "working tree of $src -> /src/xorb-dr (git ls-files, untracked files that are not ignored)"
mkdir -p "$root/src/xorb-dr"
(cd "$src" && git ls-files -z --cached --others --exclude-standard | sort -zu |
	while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -C "$root/src/xorb-dr" -xf - || die "copying the working tree of $src into $root failed"
echo "$(find "$root/src/xorb-dr" -type f | wc -l) files"

mount_all "$root" || die "mounting /proc, /sys, /dev, /dev/pts, /dev/shm under $root failed"

# Runs a shell command inside the root, in /src/xorb-dr, with a clean environment.
inside() {
	chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 TERM=dumb TMPDIR=/tmp DEBIAN_FRONTEND=noninteractive \
		/bin/bash -c "cd /src/xorb-dr && $1"
}

failed=()
summary=()
# step NAME COMMAND: runs it inside the root, records the result and the time
step() {
	local name=$1 cmd=$2 t0 rc=0
	say "$name: $cmd"
	t0=$(now)
	inside "$cmd" || rc=$?
	kill_inside "$root" # what a failed step may have left running
	summary+=("$(printf '%-22s %-6s %4d s   %s' "$name" "$([ "$rc" = 0 ] && echo ok || echo "FAILED($rc)")" "$(($(now) - t0))" "$cmd")")
	[ "$rc" = 0 ] || failed+=("$name")
	return "$rc"
}

ok=1
if step deps "scripts/deps.sh"; then
	if [ "$from" = "$base_tar" ]; then
		inside "apt-get clean" || true
		rm -f "$cache"/deps-*.tar.zst
		# the mount points themselves are left out (recreated when unpacked)
		if tar -C "$root" --numeric-owner --xattrs --one-file-system -I 'zstd -T0 -3' \
			--exclude=./src --exclude=./tmp --exclude=./proc --exclude=./sys --exclude=./dev \
			-cf "$deps_tar.tmp" .; then
			mv "$deps_tar.tmp" "$deps_tar"
		else
			rm -f "$deps_tar.tmp"
			echo "debian13-check.sh: warning: could not cache the root with packages in $deps_tar (next run installs them again)" >&2
		fi
	fi
else
	ok=0
fi

say "versions inside the root"
inside '. /etc/os-release; echo "os-release:  $PRETTY_NAME (VERSION_ID $VERSION_ID)"
	echo "nats-server: $(nats-server --version 2>&1)"
	echo "libcurl:     $(curl-config --version 2>&1) ($(dpkg-query -W -f="\${Version}" libcurl4t64 2>/dev/null || true))"
	echo "awscli:      $(aws --version 2>&1)"
	echo "swift:       $(dpkg-query -W -f="\${Version}" python3-swift 2>&1)"
	echo "gcc:         $(gcc --version | head -n1)"
	echo "clang:       $(clang --version | head -n1)"
	echo "libnats:     $(dpkg-query -W -f="\${Version}" libnats-dev 2>&1)"
	echo "cmake:       $(cmake --version | head -n1)"' || true

if [ "$ok" = 1 ] && [ "$only_package" = 1 ]; then
	:
elif [ "$ok" = 1 ] && step build "cmake -S . -B build -DXORB_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build -j$jobs"; then
	step "unit tests" "cd build && ctest --output-on-failure -j$jobs --timeout 300 -L unit" || true
	step "integration tests" "cd build && ctest --output-on-failure -j$jobs --timeout 900 -L integration -LE memcheck" || true
	step "fuzz smoke (clang)" "scripts/fuzz.sh --build-dir build-fuzz 5 fuzz_subject" || true
	step demo "scripts/demo.sh" || true
fi
if [ "$ok" = 1 ]; then
	# the Debian package built for 13, checked unpacked (package/test_package), then
	# installed in this root (never on the host) by schedules/README.md's install
	# steps as written (test_schedules_readme.sh), run, and purged: the user xorb,
	# the credentials and the backups stay, /etc/xorb goes
	step "package (README install)" 'tests/integration/test_package.sh --build-dir build-pkg && tests/integration/test_schedules_readme.sh build-pkg/package/xorb-dr_*~deb13_*.deb && env -u XORB_PLUGIN_DIR sh -ec "d=\$(mktemp -d); xorb-backup --version; xorb-backup --store \$d list; xorb-prune --store \$d --all --keep-last 1; xorb-subject-lint xorb.t-qa.scan.scanner.completed; man -w xorb-backup; test -f /etc/xorb/xorb.env; rm -rf \$d" && dpkg -P xorb-dr && test ! -e /usr/bin/xorb-backup && test ! -e /etc/xorb && id xorb && test -d /var/lib/xorb/backups/t-qa' || true
fi

say "summary (Debian 13 root, $(($(now) - t_start)) s in all)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "debian13-check.sh: FAILED steps: ${failed[*]} (their output is above)" >&2
	exit 1
fi
echo "debian13-check.sh: every step passed on Debian 13"
