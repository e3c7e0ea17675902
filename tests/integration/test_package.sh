#!/usr/bin/env bash
# The Debian package and the installed layouts (ctest: package/test_package).
#
#   tests/integration/test_package.sh [--build-dir DIR] [--installed-tree BUILD]
#     --build-dir DIR        where scripts/package.sh builds (default build-pkg)
#     --installed-tree BUILD also `cmake --install` this build tree (configured
#                            for the default prefix) into another prefix and run it
#
# Builds the package (scripts/package.sh), then, without installing anything
# on this machine:
#   - its control data: name, version (the project's), architecture, Depends
#     (from dpkg-shlibdeps), the conffile /etc/xorb/xorb.env, maintainer scripts;
#   - its contents (dpkg-deb -c): the programs in /usr/bin, the plugins in
#     /usr/lib/<multiarch>/xorb-dr/plugins, the wrapper, the systemd units in
#     /usr/lib/systemd/system, a man page and a bash completion per program,
#     copyright and changelog; everything owned by root; nothing in /usr/local;
#   - unpacked (dpkg-deb -x) into a temporary root: no file names /usr/local or
#     the source or build directory; the units run /usr/lib/xorb-dr/xorb-scheduled,
#     which runs /usr/bin, and pass systemd-analyze verify (pointed at the root)
#     and systemd-analyze security --offline (exposure <= 4.0: the user xorb,
#     the sandboxing); the sysusers.d file of the user xorb;
#   - every program's --help and --version from that root; the file store
#     plugin found WITHOUT XORB_PLUGIN_DIR (xorb-backup list, xorb-prune on a
#     store, xorb-verify naming a missing backup), xorb-subject-lint; an unknown
#     scheme's error listing every path looked at;
#   - each man page renders without warnings, has the sections, and documents
#     exactly the options its program's --help shows; the bash completion offers
#     exactly those options (per subcommand), and files, directories, tenants
#     and backup ids where they belong;
#   - a user's default store is $XDG_DATA_HOME/xorb/backups (as nobody);
#   - `cmake --install` of the package's tree with DESTDIR and with another
#     prefix (the plugins in lib/<multiarch>: the layout the programs could not
#     find before), and of --installed-tree into a temporary prefix: the file
#     plugin is found and the units name the prefix installed to.
# Needs: cmake, dpkg-dev (build-essential), gzip, bash; systemd-analyze, man
# and setpriv when present (their checks are skipped otherwise, saying so).
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build='build-pkg'
installed_tree=
while [ $# -gt 0 ]; do
	case "$1" in
	--build-dir) build=$2; shift ;;
	--installed-tree) installed_tree=$2; shift ;;
	*) echo "test_package.sh: unknown argument \"$1\"" >&2; exit 64 ;;
	esac
	shift
done
case "$build" in /*) ;; *) build=$src/$build ;; esac

passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	echo "FAIL: $*" >&2
}
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok; else bad "$what"; fi
}
note() { echo "-- $*"; }

t0=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xorb-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # nobody runs the unpacked programs below

unset XORB_PLUGIN_DIR XORB_STORE NATS_URL NATS_CREDS NATS_CONTEXT XDG_DATA_HOME DESTDIR
# nothing here may touch this machine's /etc (checked at the end)
etc_before=$(ls -l --time-style=full-iso /etc/xorb 2>&1)

note "scripts/package.sh --build-dir $build"
deb=$("$src/scripts/package.sh" --build-dir "$build" | tail -n1)
if [ ! -f "$deb" ]; then
	bad "scripts/package.sh made no package"
	echo "0 passed, 1 failed"
	exit 1
fi
note "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB, built in $(($(date +%s) - t0)) s"

version=$(sed -n 's/^project(xorb-dr VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
cmds=(xorb-backup xorb-restore xorb-verify xorb-prune xorb-state xorb-subject-lint)

# --- control data -------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
check "Package is xorb-dr" [ "$(field Package)" = xorb-dr ]
check "Version $(field Version) is the project's $version-<revision>" \
	test "${version}" = "$(field Version | sed 's/-.*//')"
check "Architecture $(field Architecture) is $arch" [ "$(field Architecture)" = "$arch" ]
depends=$(field Depends)
for lib in libc6 libnats libcurl libssl libarchive libzstd libcjson1 libexpat1; do
	check "Depends names $lib (dpkg-shlibdeps): $depends" grep -q "$lib" <<<"$depends"
done
mkdir -p "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
check "conffiles is /etc/xorb/xorb.env" [ "$(cat "$tmp/control/conffiles" 2>/dev/null)" = /etc/xorb/xorb.env ]
for s in postinst prerm postrm; do
	check "$s is an executable sh script" sh -n "$tmp/control/$s"
	check "$s is executable" test -x "$tmp/control/$s"
done

# --- contents -----------------------------------------------------------------
dpkg-deb -c "$deb" >"$tmp/contents"
# the path column, without the leading "."
awk '{ p = $6; sub(/^\./, "", p); print p }' "$tmp/contents" >"$tmp/paths"
has() { grep -qxF "$1" "$tmp/paths"; }
for c in "${cmds[@]}"; do
	check "package has /usr/bin/$c" has "/usr/bin/$c"
	check "package has /usr/share/man/man1/$c.1.gz" has "/usr/share/man/man1/$c.1.gz"
	check "package has /usr/share/bash-completion/completions/$c" has "/usr/share/bash-completion/completions/$c"
done
for p in file s3; do
	check "package has /usr/lib/$multiarch/xorb-dr/plugins/xorb-storage-$p.so" \
		has "/usr/lib/$multiarch/xorb-dr/plugins/xorb-storage-$p.so"
done
for f in /usr/lib/xorb-dr/xorb-scheduled /usr/lib/systemd/system/xorb-backup@.service \
	/usr/lib/systemd/system/xorb-backup@.timer /usr/lib/systemd/system/xorb-backup-all.service \
	/usr/lib/systemd/system/xorb-backup-all.timer /etc/xorb/xorb.env /usr/share/doc/xorb-dr/copyright \
	/usr/share/doc/xorb-dr/changelog.Debian.gz /usr/share/doc/xorb-dr/README.md \
	/usr/share/doc/xorb-dr/examples/xorb.env /usr/share/doc/xorb-dr/examples/xorb-backup.cron \
	/usr/share/doc/xorb-dr/examples/xorb-alerts.rules.yml /usr/lib/sysusers.d/xorb-dr.conf; do
	check "package has $f" has "$f"
done
check "/etc/xorb/xorb.env is mode 0600" grep -q '^-rw------- root/root .* \./etc/xorb/xorb.env$' "$tmp/contents"
check "every file is owned by root/root" test -z "$(awk '$2 != "root/root"' "$tmp/contents")"
check "nothing in /usr/local" test -z "$(grep '^/usr/local' "$tmp/paths")"
check "only /etc and /usr at the top" test -z "$(grep -Ev '^/((etc|usr)(/.*)?)?$' "$tmp/paths")"

# --- unpacked -----------------------------------------------------------------
root=$tmp/root
dpkg-deb -x "$deb" "$root"
leaks=$(grep -rlaF /usr/local "$root" 2>/dev/null)
check "no file names /usr/local: $leaks" test -z "$leaks"
leaks=$(grep -rlaF -e "$src" -e "$build" "$root" 2>/dev/null)
check "no file names the source or build directory: $leaks" test -z "$leaks"
units=$root/usr/lib/systemd/system
check "xorb-backup@.service runs /usr/lib/xorb-dr/xorb-scheduled" \
	grep -qx 'ExecStart=/usr/lib/xorb-dr/xorb-scheduled tenant %i' "$units/xorb-backup@.service"
check "xorb-backup-all.service runs /usr/lib/xorb-dr/xorb-scheduled" \
	grep -qx 'ExecStart=/usr/lib/xorb-dr/xorb-scheduled all' "$units/xorb-backup-all.service"
check "the units' documentation is in the package" \
	grep -q 'file:///usr/share/doc/xorb-dr/README.md' "$units/xorb-backup-all.service"
check "xorb-scheduled runs the programs in /usr/bin" \
	grep -qF "bindir=\${XORB_BIN_DIR:-/usr/bin}" "$root/usr/lib/xorb-dr/xorb-scheduled"
check "the cron example runs /usr/lib/xorb-dr/xorb-scheduled" \
	grep -q 'xorb /usr/lib/xorb-dr/xorb-scheduled --syslog xorb-backup all' "$root/usr/share/doc/xorb-dr/examples/xorb-backup.cron"
check "the example settings name /usr/bin" grep -qx 'XORB_BIN_DIR=/usr/bin' "$root/etc/xorb/xorb.env"
if command -v systemd-analyze >/dev/null; then
	# the units as installed, pointed at the unpacked root (as test_operations does with schedules/)
	mkdir -p "$tmp/units"
	for f in "$units"/*; do
		sed -e "s|/usr/lib/xorb-dr/xorb-scheduled|$root/usr/lib/xorb-dr/xorb-scheduled|" \
			-e "s|/etc/xorb/xorb.env|$root/etc/xorb/xorb.env|" "$f" >"$tmp/units/$(basename "$f")"
	done
	cp "$tmp/units/xorb-backup@.service" "$tmp/units/xorb-backup@t-qa.service"
	cp "$tmp/units/xorb-backup@.timer" "$tmp/units/xorb-backup@t-qa.timer"
	out=$(cd "$tmp/units" && systemd-analyze verify --man=no xorb-backup-all.service xorb-backup-all.timer \
		xorb-backup@t-qa.service xorb-backup@t-qa.timer 2>&1)
	check "systemd-analyze verify of the units: $out" test -z "$out"
	# hardening: exposure at most 4.0 (systemd-analyze security's "OK"); before
	# the units ran as root with ProtectSystem=full: 9.1 UNSAFE
	for u in xorb-backup-all.service xorb-backup@t-qa.service; do
		out=$(cd "$tmp/units" && systemd-analyze security --offline=yes --threshold=40 --no-pager "$u" 2>&1)
		rc=$?
		score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
		note "systemd-analyze security $u: exposure ${score:-unknown}"
		check "systemd-analyze security $u: exposure ${score:-unknown} <= 4.0 (--threshold=40 exit $rc)" \
			test "$rc" = 0 -a -n "$score" -a "$(awk -v s="${score:-99}" 'BEGIN { print (s <= 4.0) ? "yes" : "no" }')" = yes
		# what the hardening needs to still work: the user, its state and lock
		# directories, a start timeout
		for want in User=xorb Group=xorb StateDirectory=xorb RuntimeDirectory=xorb \
			Environment=XORB_LOCK_DIR=/run/xorb TimeoutStartSec=6h ProtectSystem=strict \
			ReadWritePaths=-/var/lib/prometheus/node-exporter; do
			check "$u has $want" grep -qx "$want" "$tmp/units/$u"
		done
	done
else
	note "systemd-analyze missing: units not verified"
fi
check "the package has the sysusers.d file of the user xorb" \
	grep -q '^u xorb - ' "$root/usr/lib/sysusers.d/xorb-dr.conf"
check "postinst creates the user xorb (systemd-sysusers, else useradd --system)" \
	grep -q 'systemd-sysusers xorb-dr.conf' "$tmp/control/postinst"
check "the cron example runs as xorb" \
	grep -q '^17 .* xorb /usr/lib/xorb-dr/xorb-scheduled' "$root/usr/share/doc/xorb-dr/examples/xorb-backup.cron"

# --- the programs, from the unpacked root, without XORB_PLUGIN_DIR -------------
bin=$root/usr/bin
for c in "${cmds[@]}"; do
	"$bin/$c" --help >"$tmp/$c.help" 2>"$tmp/$c.err"
	rc=$?
	check "$c --help exits 0 ($(head -c 300 "$tmp/$c.err"))" [ "$rc" -eq 0 ]
	check "$c --help prints its usage" grep -q "^Usage: $c" "$tmp/$c.help"
	check "$c --version is $version" [ "$("$bin/$c" --version 2>&1)" = "$c (xorb-dr) $version" ]
	check "$c -V is $version" [ "$("$bin/$c" -V 2>&1)" = "$c (xorb-dr) $version" ]
	# a command with subcommands: its options are those of every
	# subcommand's --help (the man page and the completion cover them all)
	case "$c" in
	xorb-backup) subs='tenant all list check copy show stats diff' ;;
	xorb-state) subs='init plan apply creds age-key export import destroy' ;;
	*) subs= ;;
	esac
	for s in $subs; do
		"$bin/$c" "$s" --help >>"$tmp/$c.help" 2>>"$tmp/$c.err"
		check "$c $s --help exits 0" [ $? -eq 0 ]
	done
done
mkdir -p "$tmp/store"
out=$("$bin/xorb-backup" --store "file://$tmp/store" list 2>&1)
check "xorb-backup list on an empty store finds the file plugin: $out" [ $? -eq 0 ]
out=$("$bin/xorb-prune" --store "$tmp/store" --all --keep-last 1 --dry-run 2>&1)
check "xorb-prune on the store: $out" [ $? -eq 0 ]
out=$("$bin/xorb-verify" --store "$tmp/store" t-qa latest 2>&1)
rc=$?
check "xorb-verify of a missing backup: exit 2, naming the tenant, not the plugin: $out" \
	test "$rc" = 2 -a -n "$(grep -F t-qa <<<"$out")" -a -z "$(grep -F 'no storage plugin' <<<"$out")"
out=$("$bin/xorb-backup" --store "gopher://x" list 2>&1)
rc=$?
check "an unknown scheme is exit 2 listing where it looked: $out" \
	test "$rc" = 2 -a -n "$(grep -F "looked for $bin/plugins/xorb-storage-gopher.so, $root/usr/lib/$multiarch/xorb-dr/plugins/xorb-storage-gopher.so" <<<"$out")"
check "the unknown scheme's message names the configured directory" \
	grep -qF "/usr/lib/$multiarch/xorb-dr/plugins/xorb-storage-gopher.so;" <<<"$out"
"$bin/xorb-subject-lint" xorb.t-qa.scan.scanner.completed >/dev/null 2>&1
check "xorb-subject-lint accepts a good subject" [ $? -eq 0 ]
"$bin/xorb-subject-lint" xorb.t-qa.bogus.scanner.completed >/dev/null 2>&1
check "xorb-subject-lint refuses a bad one (exit 1)" [ $? -eq 1 ]

# --- XDG_DATA_HOME: a user's default store --------------------------------------
xdg_run() { env -u XORB_STORE HOME=/nonexistent XDG_DATA_HOME="$tmp/xdg" "$@" "$bin/xorb-backup" list 2>&1; }
if [ "$(id -u)" -ne 0 ]; then
	out=$(xdg_run)
elif command -v setpriv >/dev/null; then
	out=$(xdg_run setpriv --reuid=65534 --regid=65534 --clear-groups)
else
	out="setpriv missing"
fi
check "a user's default store is \$XDG_DATA_HOME/xorb/backups: $out" grep -qF "$tmp/xdg/xorb/backups" <<<"$out"

# --- man pages ------------------------------------------------------------------
# the options a --help shows (prose-only words excepted, see below)
# (not a prefix like --s3 of "--s3-* options")
option_words() { grep -oP -- '--[a-z0-9][a-z0-9-]*[a-z0-9](?![-a-z0-9*])' | sort -u; }
help_options() { option_words <"$tmp/$1.help"; }
# words written like options in --help that are no option: "no --keep rule keeps it"
prose_only() { case "$1" in xorb-prune) echo --keep ;; esac; }
for c in "${cmds[@]}"; do
	page=$root/usr/share/man/man1/$c.1.gz
	zcat "$page" >"$tmp/$c.1"
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS '"EXIT STATUS"' ENVIRONMENT FILES EXAMPLES '"SEE ALSO"'; do
		check "man page $c(1) has the section $s" grep -qx ".SH $s" "$tmp/$c.1"
	done
	# the options the page documents: \-\-name in the troff source, before EXAMPLES
	sed -e '/^\.SH EXAMPLES/,$d' -e 's/\\-/-/g' "$tmp/$c.1" | option_words >"$tmp/$c.man-options"
	help_options "$c" >"$tmp/$c.help-options"
	missing=$(comm -23 "$tmp/$c.help-options" "$tmp/$c.man-options" | tr '\n' ' ')
	check "man page $c(1) documents every option of --help (missing: $missing)" test -z "$missing"
	extra=$(comm -13 "$tmp/$c.help-options" "$tmp/$c.man-options" | tr '\n' ' ')
	check "man page $c(1) documents no option --help lacks (extra: $extra)" test -z "$extra"
	check "man page $c(1) names version $version" grep -q "^\.TH .*xorb\\\\-dr $version" "$tmp/$c.1"
	if command -v man >/dev/null; then
		warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
		check "man page $c(1) renders without warnings: $warn" test -z "$warn"
	fi
done
if ! command -v man >/dev/null; then note "man missing: pages not rendered"; fi

# --- bash completion ------------------------------------------------------------
mkdir -p "$tmp/cstore/t-qa" "$tmp/cstore/t-demo" "$tmp/cfiles/dir"
touch "$tmp/cstore/t-qa/20261127T170508Z-3fa9c1.json" "$tmp/cfiles/user.creds"
# completes COMP_WORDS=("$@") in a bash that sourced the installed file (through
# the symlink named after the command, as bash-completion loads it)
complete_words() {
	local cmd=$1
	bash --norc --noprofile -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		_xorb_dr "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$root/usr/share/bash-completion/completions/$cmd" "$@"
}
check "completion file loads for every command" \
	bash --norc --noprofile -c ". '$root/usr/share/bash-completion/completions/xorb-verify' && complete -p ${cmds[*]} >/dev/null"
for c in "${cmds[@]}"; do
	case "$c" in
	xorb-backup) subs=(tenant all list check copy show stats diff) ;;
	*) subs=("") ;;
	esac
	: >"$tmp/$c.comp-options"
	for s in "${subs[@]}"; do
		if [ -n "$s" ]; then complete_words "$c" "$s" --; else complete_words "$c" --; fi >>"$tmp/$c.comp-options"
		# the short options are offered with -
		if [ -n "$s" ]; then complete_words "$c" "$s" -; else complete_words "$c" -; fi | grep -E '^-[a-zA-Z]$' >>"$tmp/$c.comp-options"
	done
	sort -u -o "$tmp/$c.comp-options" "$tmp/$c.comp-options"
	grep -E -- '^--' "$tmp/$c.comp-options" >"$tmp/$c.comp-long"
	# xorb-state refuses --context: not offered
	{ comm -23 "$tmp/$c.help-options" <(prose_only "$c"); } | { if [ "$c" = xorb-state ]; then grep -vx -- --context; else cat; fi; } >"$tmp/$c.want"
	missing=$(comm -23 "$tmp/$c.want" "$tmp/$c.comp-long" | tr '\n' ' ')
	check "completion of $c offers every option of --help (missing: $missing)" test -z "$missing"
	extra=$(comm -13 "$tmp/$c.want" "$tmp/$c.comp-long" | tr '\n' ' ')
	check "completion of $c offers no option --help lacks (extra: $extra)" test -z "$extra"
	shorts=$(grep -oE '^ +-[a-zA-Z],' "$tmp/$c.help" | tr -d ' ,' | sort -u | tr '\n' ' ')
	offered=$(grep -E '^-[a-zA-Z]$' "$tmp/$c.comp-options" | sort -u | tr '\n' ' ')
	check "completion of $c offers the short options of --help ($shorts; offered: $offered)" [ "$shorts" = "$offered" ]
done
# per subcommand: `check` takes --max-age, `tenant` does not (xorb-backup refuses it)
check "completion: xorb-backup check --m offers --max-age" grep -qx -- --max-age <(complete_words xorb-backup check --m)
check "completion: xorb-backup tenant --m offers only --metrics-file" \
	[ "$(complete_words xorb-backup tenant --m | tr '\n' ' ')" = "--metrics-file " ]
backup_subs=$("$root/usr/bin/xorb-backup" 2>&1 | sed -n 's/.*missing command: //p' | sed 's/,//g; s/ or / /' | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
check "completion: xorb-backup offers its subcommands ($backup_subs)" \
	[ "$(complete_words xorb-backup '' | sort | tr '\n' ' ')" = "${backup_subs:-none found}" ]
# the subcommands xorb-state itself names when none is given
state_subs=$("$root/usr/bin/xorb-state" 2>&1 | sed -n 's/.*missing command: //p' | sed 's/,//g; s/ or / /' | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
check "completion: xorb-state offers its subcommands ($state_subs)" \
	[ "$(complete_words xorb-state '' | sort | tr '\n' ' ')" = "${state_subs:-none found}" ]
check "completion: --creds completes files" grep -qx "$tmp/cfiles/user.creds" <(complete_words xorb-backup --creds "$tmp/cfiles/u")
check "completion: --store completes directories" \
	[ "$(complete_words xorb-verify --store "$tmp/cf" | tr '\n' ' ')" = "$tmp/cfiles " ]
check "completion: --store= completes directories" \
	[ "$(complete_words xorb-verify --store = "$tmp/cfiles/d" | tr '\n' ' ')" = "$tmp/cfiles/dir " ]
check "completion: tenants from the store" \
	[ "$(complete_words xorb-restore --store "$tmp/cstore" '' | sort | tr '\n' ' ')" = "t-demo t-qa " ]
check "completion: backup ids from the store" \
	[ "$(XORB_STORE=$tmp/cstore complete_words xorb-verify t-qa '' | sort | tr '\n' ' ')" = "20261127T170508Z-3fa9c1 latest " ]
check "completion: --log-format values" [ "$(complete_words xorb-prune --log-format '' | tr '\n' ' ')" = "text json " ]

# --- cmake --install: other prefixes and DESTDIR --------------------------------
# The package's tree (prefix /usr, plugins in lib/<multiarch>) staged with
# DESTDIR: before the plugin lookup looked relative to the program in that
# layout, even the file store failed here.
DESTDIR=$tmp/destdir cmake --install "$build" >/dev/null
out=$("$tmp/destdir/usr/bin/xorb-backup" --store "file://$tmp/store" list 2>&1)
check "DESTDIR=<tmp> install of the /usr tree: xorb-backup list finds the file plugin: $out" [ $? -eq 0 ]
check "DESTDIR=<tmp> install of the /usr tree stages /etc/xorb/xorb.env" test -f "$tmp/destdir/etc/xorb/xorb.env"
# ... and installed to another prefix at install time: units rewritten for it
# (no DESTDIR: the package's tree writes no /etc then)
cmake --install "$build" --prefix "$tmp/opt" >/dev/null
check "install --prefix <tmp>/opt writes no xorb.env (no DESTDIR)" test ! -e "$tmp/opt/etc/xorb/xorb.env"
out=$("$tmp/opt/bin/xorb-backup" --store "file://$tmp/store" list 2>&1)
check "install --prefix <tmp>/opt: xorb-backup list finds the file plugin: $out" [ $? -eq 0 ]
check "install --prefix <tmp>/opt: the unit runs <tmp>/opt/lib/xorb-dr/xorb-scheduled" \
	grep -qx "ExecStart=$tmp/opt/lib/xorb-dr/xorb-scheduled all" "$tmp/opt/lib/systemd/system/xorb-backup-all.service"
check "install --prefix <tmp>/opt: xorb-scheduled runs <tmp>/opt/bin" \
	grep -qF "bindir=\${XORB_BIN_DIR:-$tmp/opt/bin}" "$tmp/opt/lib/xorb-dr/xorb-scheduled"
if [ -n "$installed_tree" ]; then
	# the developers' tree (default prefix /usr/local) installed under <tmp>/usr
	cmake --install "$installed_tree" --prefix "$tmp/usr" >/dev/null
	out=$("$tmp/usr/bin/xorb-backup" --store "file://$tmp/store" list 2>&1)
	check "install of $installed_tree --prefix <tmp>/usr: xorb-backup list finds the file plugin: $out" [ $? -eq 0 ]
	check "install of $installed_tree --prefix <tmp>/usr: the unit runs <tmp>/usr/lib/xorb-dr/xorb-scheduled" \
		grep -qx "ExecStart=$tmp/usr/lib/xorb-dr/xorb-scheduled tenant %i" "$tmp/usr/lib/systemd/system/xorb-backup@.service"
	check "install of $installed_tree: no /etc/xorb/xorb.env outside the package" test ! -e "$tmp/usr/etc/xorb/xorb.env"
fi

check "this machine's /etc/xorb is untouched" [ "$(ls -l --time-style=full-iso /etc/xorb 2>&1)" = "$etc_before" ]

echo "test_package: $(basename "$deb"), $(($(date +%s) - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
