#!/usr/bin/env bash
# The install steps of schedules/README.md, run as they are written, in a
# scratch root (scripts/debian13-check.sh's Debian 13 root, step "package").
#
#   tests/integration/test_schedules_readme.sh DEB
#
# Refuses to run outside a chroot: it installs DEB, creates the user xorb and
# writes /etc. What it does:
#   - takes the shell blocks of schedules/README.md that an HTML comment naming
#     this script precedes ("Install (systemd)", "Install (cron)"), and checks
#     that the installed copy of the README is the same file;
#   - starts a nats-server on 127.0.0.1 (a free port) with one stream of the
#     tenant t-qa, and a syslog socket of its own (XORB_SYSLOG_SOCKET);
#   - runs the systemd block with bash -e, in the directory of DEB, with
#     $EDITOR a script that points /etc/xorb/xorb.env at that server (keeping
#     the file, its owner and mode), /var/lib/prometheus/node-exporter made
#     as prometheus-node-exporter makes it, and systemctl and journalctl
#     replaced (no systemd runs in a chroot) by shims: systemctl records its
#     calls, fails for a unit that is not installed, and `start` runs the
#     service as systemd would: User=, Group=, Environment=, EnvironmentFile=,
#     UMask=, StateDirectory= and RuntimeDirectory= (owned by User=),
#     ExecStart= with %i, exit status against SuccessExitStatus=;
#   - checks the user xorb, the modes of /etc/xorb, the backup made as xorb,
#     and its metrics; starts xorb-backup-all.service as well;
#   - runs the cron block, then each job of the installed /etc/cron.d file
#     as cron runs it (its user, SHELL, PATH; /bin/sh -c), and checks its
#     exit status, syslog lines and metrics; then a run against a closed port:
#     exit 2 and a failed run in the metrics.
set -uo pipefail

deb=${1:?usage: test_schedules_readme.sh DEB}
deb=$(readlink -f "$deb")
src=$(cd "$(dirname "$0")/../.." && pwd)
readme=$src/schedules/README.md

[ "$(id -u)" -eq 0 ] || { echo "test_schedules_readme.sh: needs root (inside a scratch root)" >&2; exit 2; }
if [ "$(stat -c %d:%i /)" = "$(stat -c %d:%i /proc/1/root/. 2>/dev/null)" ]; then
	echo "test_schedules_readme.sh: refusing to run outside a chroot: it installs a package and creates the user xorb (scripts/debian13-check.sh runs it in its Debian 13 root)" >&2
	exit 2
fi

passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	echo "FAIL: $*" >&2
}
check() {
	local what=$1
	shift
	if "$@"; then ok; else bad "$what"; fi
}
note() { echo "-- $*"; }

tmp=$(mktemp -d /tmp/xorb-readme.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- the blocks of the README ---------------------------------------------------
# the ```sh block after each line "<!-- tests/integration/test_schedules_readme.sh ... -->"
awk -v dir="$tmp" '
	/^<!-- tests\/integration\/test_schedules_readme\.sh / { want = 1; next }
	want && /^```sh$/ { n++; out = dir "/block" n ".sh"; inblock = 1; want = 0; next }
	inblock && /^```$/ { inblock = 0; close(out); next }
	inblock { print > out }
' "$readme"
check "schedules/README.md has the systemd block and the cron block" test -s "$tmp/block1.sh" -a -s "$tmp/block2.sh"
check "the systemd block installs the package" grep -q '^apt install \./xorb-dr_\*\.deb' "$tmp/block1.sh"
check "the cron block installs /etc/cron.d/xorb-backup" grep -q '/etc/cron.d/xorb-backup' "$tmp/block2.sh"

# --- a NATS server with a stream of t-qa, a syslog socket -------------------------
nats=$(command -v nats-server || true)
[ -n "$nats" ] || { bad "nats-server is not installed in this root"; echo "$passed passed, $failed failed"; exit 1; }
"$nats" -a 127.0.0.1 -p -1 -js -sd "$tmp/js" >"$tmp/nats.log" 2>&1 &
pids+=($!)
port=
for _ in $(seq 50); do
	port=$(sed -n 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/nats.log")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { bad "nats-server did not start: $(cat "$tmp/nats.log")"; echo "$passed passed, $failed failed"; exit 1; }
# the NATS protocol by hand: a stream of t-qa and one message
js='{"name":"xorb-t-qa-scan-events","subjects":["xorb.t-qa.scan.>"],"storage":"file"}'
exec 3<>"/dev/tcp/127.0.0.1/$port"
read -r _ <&3
printf 'CONNECT {"verbose":false}\r\nPUB $JS.API.STREAM.CREATE.xorb-t-qa-scan-events %d\r\n%s\r\nPUB xorb.t-qa.scan.scanner.completed 5\r\nhello\r\nPING\r\n' \
	${#js} "$js" >&3
pong=$(timeout 5 sh -c 'while read -r l; do case $l in PONG*) echo PONG; break ;; -ERR*) echo "$l"; break ;; esac; done' <&3)
exec 3>&-
check "a stream of t-qa on nats://127.0.0.1:$port ($pong)" [ "$pong" = PONG ]

sock=$tmp/syslog.sock
python3 - "$sock" "$tmp/syslog.txt" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
import os
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
EOF
pids+=($!)
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
check "a syslog socket at $sock" test -S "$sock"

# --- shims: $EDITOR, systemctl, journalctl ----------------------------------------
mkdir -p "$tmp/bin"
# the editor: the settings of this test, written into the file (owner and mode kept)
cat >"$tmp/bin/editor" <<EOF
#!/bin/sh
set -e
f=\$1
sed -e 's|^NATS_URL=.*|NATS_URL=nats://127.0.0.1:$port|' -e 's|^XORB_CREDS_DIR=|#XORB_CREDS_DIR=|' \\
	-e 's|^XORB_ENV=|#XORB_ENV=|' -e 's|^#XORB_TENANTS=.*|XORB_TENANTS=t-qa|' "\$f" >$tmp/xorb.env.new
echo "XORB_SYSLOG_SOCKET=$sock" >>$tmp/xorb.env.new
cat $tmp/xorb.env.new >"\$f"
EOF
# systemctl: records every call; `start UNIT` runs the service as systemd would
cat >"$tmp/bin/systemctl" <<'EOF'
#!/bin/bash
echo "systemctl $*" >>"$XT_TMP/systemctl.calls"
unitdir=/usr/lib/systemd/system
unit_file() { # UNIT -> the file (xorb-backup@t-qa.timer -> xorb-backup@.timer)
	local u=$1
	case "$u" in *@?*.*) u="${u%%@*}@.${u##*.}" ;; esac
	[ -f "$unitdir/$u" ] && echo "$unitdir/$u"
}
case "$1" in
daemon-reload) exit 0 ;;
enable)
	shift
	[ "$1" = --now ] && shift
	for u; do unit_file "$u" >/dev/null || { echo "systemctl: Unit $u does not exist" >&2; exit 5; }; done
	exit 0
	;;
start)
	u=$2
	f=$(unit_file "$u") || { echo "systemctl: Unit $u not found" >&2; exit 5; }
	inst=
	case "$u" in *@?*.*) inst=${u#*@}; inst=${inst%.*} ;; esac
	val() { sed -n "s/^$1=//p" "$f"; }
	user=$(val User | tail -n1) group=$(val Group | tail -n1)
	# as systemd: a state directory owned by another user is handed over,
	# recursively (systemd.exec(5), StateDirectory=)
	for d in $(val StateDirectory); do
		if [ -d "/var/lib/$d" ] && [ "$(stat -c %U:%G "/var/lib/$d")" != "$user:$group" ]; then
			chown -R "$user:$group" "/var/lib/$d"
		fi
		install -d -o "$user" -g "$group" -m "$(val StateDirectoryMode | tail -n1)" "/var/lib/$d"
	done
	for d in $(val RuntimeDirectory); do install -d -o "$user" -g "$group" -m "$(val RuntimeDirectoryMode | tail -n1)" "/run/$d"; done
	envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin LANG=C.UTF-8 "HOME=$(getent passwd "$user" | cut -d: -f6)"
		"USER=$user" "LOGNAME=$user" INVOCATION_ID=0123456789abcdef)
	while IFS= read -r e; do envs+=("$e"); done < <(val Environment)
	# EnvironmentFile=: read by systemd (root), VAR=value lines, quotes removed
	for ef in $(val EnvironmentFile); do
		ef=${ef#-}
		while IFS= read -r l; do
			case "$l" in '#'* | '') continue ;; esac
			k=${l%%=*} v=${l#*=}
			v=${v#\"} v=${v%\"}
			envs+=("$k=$v")
		done <"$ef"
	done
	cmd=$(val ExecStart | tail -n1)
	cmd=${cmd//%i/$inst}
	echo "systemctl shim: $u: as $user:$group: $cmd" >&2
	(umask "$(val UMask | tail -n1)" && cd / &&
		exec setpriv --reuid="$user" --regid="$group" --init-groups env -i "${envs[@]}" $cmd)
	rc=$?
	echo "$rc" >"$XT_TMP/last-rc.$u"
	for s in 0 $(val SuccessExitStatus); do [ "$rc" = "$s" ] && exit 0; done
	echo "systemctl: $u failed (exit $rc)" >&2
	exit 3
	;;
*) echo "systemctl shim: $* is not simulated" >&2; exit 1 ;;
esac
EOF
printf '#!/bin/sh\necho "journalctl $*" >>"$XT_TMP/systemctl.calls"\n' >"$tmp/bin/journalctl"
chmod 755 "$tmp/bin"/*

# what prometheus-node-exporter makes (the README's setfacl needs it)
install -d -m 0755 /var/lib/prometheus/node-exporter
# apt without questions (what an admin answers)
echo 'APT::Get::Assume-Yes "true";' >/etc/apt/apt.conf.d/99xorb-readme-test

run_block() { # BLOCK: in the directory of the package, shims first on PATH
	(cd "$(dirname "$deb")" && XT_TMP=$tmp EDITOR=$tmp/bin/editor PATH="$tmp/bin:$PATH" bash -e -x "$1")
}

# --- Install (systemd) ----------------------------------------------------------------
# (one package in the directory: the README's ./xorb-dr_*.deb)
pkgdir=$tmp/pkg
mkdir -p "$pkgdir"
cp "$deb" "$pkgdir/"
deb=$pkgdir/$(basename "$deb")
note "schedules/README.md, Install (systemd):"
cat "$tmp/block1.sh"
# an earlier run as root (scripts/demo.sh, or units of a version that ran as
# root) left the default store owned by root: the schedules must still work
install -d -m 0700 /var/lib/xorb/backups
chown root:root /var/lib/xorb /var/lib/xorb/backups
run_block "$tmp/block1.sh" >"$tmp/block1.log" 2>&1
rc=$?
check "the systemd block runs (exit $rc): $(tail -n 20 "$tmp/block1.log")" [ "$rc" = 0 ]
check "the installed README is schedules/README.md" cmp -s "$readme" /usr/share/doc/xorb-dr/examples/README.md
check "the user xorb exists (system user)" test "$(id -u xorb 2>/dev/null || echo 0)" -lt 1000 -a "$(id -u xorb 2>/dev/null || echo 0)" -gt 0
check "the group xorb exists" getent group xorb
check "/etc/xorb is 0750 root:xorb ($(stat -c '%a %U:%G' /etc/xorb))" [ "$(stat -c '%a %U:%G' /etc/xorb)" = "750 root:xorb" ]
check "/etc/xorb/xorb.env is 0640 root:xorb ($(stat -c '%a %U:%G' /etc/xorb/xorb.env))" \
	[ "$(stat -c '%a %U:%G' /etc/xorb/xorb.env)" = "640 root:xorb" ]
check "/etc/xorb/creds is 0750 root:xorb" [ "$(stat -c '%a %U:%G' /etc/xorb/creds)" = "750 root:xorb" ]
check "the root-owned store was handed to xorb ($(stat -c '%U:%G' /var/lib/xorb/backups))" \
	[ "$(stat -c '%U:%G' /var/lib/xorb/backups)" = xorb:xorb ]
# the package's own part of that (cron has no StateDirectory=): postinst
# configure hands a root-owned /var/lib/xorb to xorb
chown -R root:root /var/lib/xorb
/var/lib/dpkg/info/xorb-dr.postinst configure >/dev/null 2>&1
check "postinst hands a root-owned /var/lib/xorb to xorb ($(stat -c '%a %U:%G' /var/lib/xorb), backups $(stat -c '%U:%G' /var/lib/xorb/backups))" \
	[ "$(stat -c '%a %U:%G' /var/lib/xorb)" = "750 xorb:xorb" -a "$(stat -c '%U:%G' /var/lib/xorb/backups)" = xorb:xorb ]
check "the settings point at the test server" grep -qx "NATS_URL=nats://127.0.0.1:$port" /etc/xorb/xorb.env
for c in "systemctl enable --now xorb-backup-all.timer" "systemctl enable --now xorb-backup@t-qa.timer" \
	"systemctl start xorb-backup@t-qa.service"; do
	check "the block ran: $c" grep -qx "$c" "$tmp/systemctl.calls"
done
check "xorb-backup@t-qa.service exited 0 ($(cat "$tmp/last-rc.xorb-backup@t-qa.service" 2>/dev/null))" \
	[ "$(cat "$tmp/last-rc.xorb-backup@t-qa.service" 2>/dev/null)" = 0 ]
n=$(find /var/lib/xorb/backups/t-qa -name '*.tar.zst' -user xorb 2>/dev/null | wc -l)
check "a backup of t-qa in /var/lib/xorb/backups, owned by xorb ($n)" [ "$n" -ge 1 ]
check "no backup readable by others (UMask=0077)" test -z "$(find /var/lib/xorb/backups -type f -perm /044)"
prom=/var/lib/prometheus/node-exporter/xorb.prom
check "the metrics file is written by xorb" test "$(stat -c %U "$prom" 2>/dev/null)" = xorb
check "the metrics say t-qa's run was ok" grep -qx 'xorb_backup_runs_total{tenant="t-qa",result="ok"} 1' "$prom"
check "... and last_run_success 1" grep -qx 'xorb_backup_last_run_success{tenant="t-qa"} 1' "$prom"
XT_TMP=$tmp PATH="$tmp/bin:$PATH" systemctl start xorb-backup-all.service >"$tmp/all.log" 2>&1
check "xorb-backup-all.service as xorb exits 0: $(tail -n 5 "$tmp/all.log")" [ $? -eq 0 ]
check "the metrics count two ok runs of t-qa" grep -qx 'xorb_backup_runs_total{tenant="t-qa",result="ok"} 2' "$prom"

# --- Install (cron) ---------------------------------------------------------------------
note "schedules/README.md, Install (cron):"
cat "$tmp/block2.sh"
run_block "$tmp/block2.sh" >"$tmp/block2.log" 2>&1
check "the cron block runs: $(tail -n 5 "$tmp/block2.log")" [ $? -eq 0 ]
cron=/etc/cron.d/xorb-backup
check "$cron is installed, 0644" [ "$(stat -c %a "$cron" 2>/dev/null)" = 644 ]
cron_shell=$(sed -n 's/^SHELL=//p' "$cron")
cron_path=$(sed -n 's/^PATH=//p' "$cron")
jobs=0
while read -r m h dom mon dow user cmd; do
	case "$m" in '' | '#'* | *=*) continue ;; esac
	jobs=$((jobs + 1))
	check "the cron job runs as xorb ($user)" [ "$user" = xorb ]
	: >"$tmp/syslog.txt"
	# as cron runs it: the user's uid, gids and home, SHELL and PATH from the file
	setpriv --reuid="$user" --regid="$user" --init-groups env -i "SHELL=$cron_shell" "PATH=$cron_path" \
		"HOME=$(getent passwd "$user" | cut -d: -f6)" "LOGNAME=$user" "XORB_SYSLOG_SOCKET=$sock" \
		"$cron_shell" -c "$cmd" >"$tmp/cron.out" 2>&1
	rc=$?
	sleep 0.5
	check "the cron job exits 0 ($rc): $(cat "$tmp/cron.out") $(tail -n 5 "$tmp/syslog.txt")" [ "$rc" = 0 ]
	check "the cron job logs its end to syslog, tagged xorb-backup" grep -q 'xorb-backup: xorb-scheduled: all: exit 0 (ok)' "$tmp/syslog.txt"
	check "the metrics count a third ok run of t-qa" grep -qx 'xorb_backup_runs_total{tenant="t-qa",result="ok"} 3' "$prom"
	# the same job against a closed port: exit 2, a failed run in the metrics
	cp -p /etc/xorb/xorb.env "$tmp/xorb.env.good"
	sed -i "s|^NATS_URL=.*|NATS_URL=nats://127.0.0.1:1|" /etc/xorb/xorb.env
	: >"$tmp/syslog.txt"
	setpriv --reuid="$user" --regid="$user" --init-groups env -i "SHELL=$cron_shell" "PATH=$cron_path" \
		"HOME=$(getent passwd "$user" | cut -d: -f6)" "LOGNAME=$user" "$cron_shell" -c "$cmd" >"$tmp/cron.out" 2>&1
	rc=$?
	sleep 0.5
	cp -p "$tmp/xorb.env.good" /etc/xorb/xorb.env
	check "the cron job against a closed port exits 2 ($rc)" [ "$rc" = 2 ]
	check "... its syslog says FAILED" grep -q 'xorb-backup: xorb-scheduled: all: exit 2 (FAILED)' "$tmp/syslog.txt"
	check "... the metrics count a failed run of t-qa" grep -qx 'xorb_backup_runs_total{tenant="t-qa",result="failed"} 1' "$prom"
	check "... and last_run_success 0" grep -qx 'xorb_backup_last_run_success{tenant="t-qa"} 0' "$prom"
done <"$cron"
check "the cron file has a job" [ "$jobs" -ge 1 ]

rm -f /etc/apt/apt.conf.d/99xorb-readme-test
echo "test_schedules_readme: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
