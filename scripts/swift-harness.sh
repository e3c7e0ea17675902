#!/usr/bin/env bash
# A throwaway S3 server for tests: OpenStack Swift with the s3api middleware,
# entirely inside one directory, on 127.0.0.1 only.
#
#   swift-harness.sh start DIR        start everything, wait until it serves S3
#   swift-harness.sh stop DIR         stop every process started in DIR, by PID
#   swift-harness.sh proxy-stop DIR   stop only the proxy (fault tests)
#   swift-harness.sh proxy-start DIR  start the proxy again and wait for it
#
# With SWIFT_HARNESS_OWNER=PID in the environment, start also leaves a
# watchdog that stops everything once that process is gone (a test killed by
# its runner must not leave Swift behind).
#
# start writes DIR/env (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION: source it or parse its KEY=VALUE lines), DIR/pids ("NAME PID"
# lines), DIR/ready-seconds, and logs each daemon's output to DIR/logs/.
# Needs the Debian packages swift swift-proxy swift-account swift-container
# swift-object python3-swift memcached (scripts/deps.sh), and a file system
# with user xattrs under DIR (ext4 has them; tmpfs may not). Runs as root or
# not; no systemd. Nothing is left running after stop. See shared notes s3.md
# for why these settings.
set -euo pipefail

PY=/usr/bin/python3 # another python3 earlier on PATH may not see Debian's swift
READY_TIMEOUT=${SWIFT_READY_TIMEOUT:-60}
SERVERS=(account container object)

die() {
	echo "swift-harness: $*" >&2
	exit 1
}

usage() {
	echo "usage: swift-harness.sh start|stop|proxy-start|proxy-stop DIR" >&2
	exit 64
}

# Prints N distinct free loopback TCP ports (held open together while chosen).
free_ports() {
	"$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

check_xattr() {
	"$PY" - "$1" <<'EOF' || die "the file system of $1 has no user xattrs (Swift needs them): use a directory on ext4/xfs, not tmpfs"
import os, sys
p = os.path.join(sys.argv[1], ".xattr-probe")
open(p, "w").close()
try:
    os.setxattr(p, "user.swift.probe", b"1")
finally:
    os.unlink(p)
EOF
}

build_rings() {
	local dir=$1 aport=$2 cport=$3 oport=$4
	"$PY" - "$dir" "$aport" "$cport" "$oport" <<'EOF'
import sys
from swift.common.ring import RingBuilder
d, ports = sys.argv[1], {"account": int(sys.argv[2]), "container": int(sys.argv[3]),
                         "object": int(sys.argv[4])}
for name, port in ports.items():
    b = RingBuilder(6, 1, 0)  # 64 partitions, 1 replica, no min_part_hours
    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port,
               "replication_ip": "127.0.0.1", "replication_port": port,
               "device": "d1", "weight": 100, "meta": ""})
    b.rebalance()
    b.get_ring().save("%s/%s.ring.gz" % (d, name))
EOF
}

# The [DEFAULT] section of a storage server's config.
server_defaults() {
	cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
workers = 0
swift_dir = $1
devices = $1/devices
mount_check = false
disable_fallocate = true
log_level = INFO
log_name = swift-$2
EOF
}

write_configs() {
	local dir=$1 pport=$2 aport=$3 cport=$4 oport=$5 mport=$6 secret=$7
	server_defaults "$dir" account >"$dir/account-server.conf"
	cat >>"$dir/account-server.conf" <<EOF
bind_port = $aport

[pipeline:main]
pipeline = healthcheck account-server

[app:account-server]
use = egg:swift#account

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
	server_defaults "$dir" container >"$dir/container-server.conf"
	cat >>"$dir/container-server.conf" <<EOF
bind_port = $cport

[pipeline:main]
pipeline = healthcheck container-server

[app:container-server]
use = egg:swift#container

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
	server_defaults "$dir" object >"$dir/object-server.conf"
	cat >>"$dir/object-server.conf" <<EOF
bind_port = $oport

[pipeline:main]
pipeline = healthcheck object-server

[app:object-server]
use = egg:swift#object
# wait for the container listing update instead of queueing it for an
# updater daemon that does not run here (listings would lag)
container_update_timeout = 60

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
	cat >"$dir/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $pport
workers = 0
swift_dir = $dir
log_level = INFO
log_name = swift-proxy

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
node_timeout = 60
conn_timeout = 5
client_timeout = 120

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
max_upload_part_num = 10000
# pages of 100 keys (AWS: 1000), so that tests reach continuation tokens cheaply
max_bucket_listing = 100

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $secret .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$mport

[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
EOF
}

# Starts a daemon in its own session with its output in DIR/logs/NAME.log and
# records "NAME PID". setsid does not fork here (a background job of a script
# is no process group leader), so $! is the daemon itself; checked anyway.
spawn() {
	local dir=$1 name=$2
	shift 2
	setsid "$@" </dev/null >>"$dir/logs/$name.log" 2>&1 &
	local pid=$!
	echo "$name $pid" >>"$dir/pids"
}

# Waits until every URL answers 200 (and tempauth hands out a token).
wait_ready() {
	local dir=$1 pport=$2 secret=$3
	shift 3
	"$PY" - "$READY_TIMEOUT" "$dir/pids" "$pport" "$secret" "$@" <<'EOF'
import os, sys, time, urllib.request
timeout, pidfile, pport, secret, ports = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
deadline = time.time() + timeout
def alive():
    for line in open(pidfile):
        name, pid = line.split()
        if not os.path.exists("/proc/%s" % pid):
            sys.exit("%s (pid %s) exited during start: see its log" % (name, pid))
def ok(url, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as r:
            return r.status == 200
    except Exception:
        return False
pending = ["http://127.0.0.1:%s/healthcheck" % p for p in ports]
while pending:
    alive()
    if ok(pending[0]):
        pending.pop(0)
        continue
    if time.time() > deadline:
        sys.exit("no answer from %s after %.0f s" % (pending[0], timeout))
    time.sleep(0.1)
if pport:
    auth = {"X-Auth-User": "test:tester", "X-Auth-Key": secret}
    while not ok("http://127.0.0.1:%s/auth/v1.0" % pport, auth):
        alive()
        if time.time() > deadline:
            sys.exit("tempauth on port %s does not answer" % pport)
        time.sleep(0.1)
EOF
}

start_proxy() {
	local dir=$1
	spawn "$dir" proxy /usr/bin/swift-proxy-server "$dir/proxy-server.conf" -v
}

env_value() {
	sed -n "s/^$2=//p" "$1/env"
}

cmd_start() {
	local dir=$1 t0 pport aport cport oport mport secret memuser=()
	command -v memcached >/dev/null || die "memcached is not installed (scripts/deps.sh)"
	[ -x /usr/bin/swift-proxy-server ] || die "swift-proxy is not installed (scripts/deps.sh)"
	"$PY" -c 'import swift.common.ring' 2>/dev/null || die "python3-swift is not installed (scripts/deps.sh)"
	umask 077 # the configs and env hold the secret
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ -e "$dir/pids" ] && die "$dir/pids exists: stop the running instance first"
	t0=$(date +%s.%N)
	check_xattr "$dir"
	mkdir -p "$dir/devices/d1" "$dir/logs"
	read -r pport aport cport oport mport <<<"$(free_ports 5)"
	secret=$("$PY" -c 'import secrets; print(secrets.token_hex(20))')
	write_configs "$dir" "$pport" "$aport" "$cport" "$oport" "$mport" "$secret"
	: >"$dir/pids"
	[ "$(id -u)" -eq 0 ] && memuser=(-u nobody)
	spawn "$dir" memcached memcached -l 127.0.0.1 -p "$mport" -U 0 -m 64 "${memuser[@]}"
	# the storage servers need no rings: build them while those start
	for s in "${SERVERS[@]}"; do
		spawn "$dir" "$s" "/usr/bin/swift-$s-server" "$dir/$s-server.conf" -v
	done
	if ! build_rings "$dir" "$aport" "$cport" "$oport"; then
		cmd_stop "$dir"
		die "cannot build the rings in $dir"
	fi
	start_proxy "$dir"
	cat >"$dir/env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$pport
AWS_ACCESS_KEY_ID=test:tester
AWS_SECRET_ACCESS_KEY=$secret
AWS_REGION=us-east-1
EOF
	if [ -n "${SWIFT_HARNESS_OWNER:-}" ]; then
		spawn "$dir" watchdog "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" watch "$dir" "$SWIFT_HARNESS_OWNER"
	fi
	if ! wait_ready "$dir" "$pport" "$secret" "$aport" "$cport" "$oport" "$pport"; then
		tail -n 20 "$dir"/logs/*.log >&2 || true
		cmd_stop "$dir"
		die "Swift did not start in $dir"
	fi
	"$PY" -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
		"$t0" "$(date +%s.%N)" >"$dir/ready-seconds"
	echo "swift-harness: S3 at http://127.0.0.1:$pport ready in $(cat "$dir/ready-seconds") s (dir $dir)" >&2
}

# TERM, up to 10 s, then KILL; waits until each PID is gone.
kill_pids() {
	local pid i
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "$@"; do
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			# a zombie of ours would never vanish: it is reaped by its parent
			[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
}

# PIDs recorded for NAME (all when NAME is empty) that still run the program
# we started (the PID was not reused).
live_pids() {
	local dir=$1 want=$2 name pid
	[ -f "$dir/pids" ] || return 0
	while read -r name pid; do
		[ -n "$want" ] && [ "$name" != "$want" ] && continue
		[ -r "/proc/$pid/cmdline" ] || continue
		if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$dir"; then
			echo "$pid"
		elif [ "$name" = memcached ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q '^memcached '; then
			echo "$pid"
		fi
	done <"$dir/pids"
}

cmd_stop() {
	local dir=$1 pids=() pid
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd)
	for pid in $(live_pids "$dir" ""); do
		[ "$pid" = "$$" ] || pids+=("$pid") # the watchdog stopping us
	done
	kill_pids "${pids[@]}"
	rm -f "$dir/pids"
}

# Stops the instance in DIR once process OWNER has gone.
cmd_watch() {
	local dir=$1 owner=$2
	while kill -0 "$owner" 2>/dev/null && [ -f "$dir/pids" ]; do
		sleep 1
	done
	[ -f "$dir/pids" ] && echo "swift-harness: owner $owner is gone: stopping $dir" >&2
	cmd_stop "$dir"
}

cmd_proxy_stop() {
	local dir
	dir=$(cd "$1" && pwd)
	# shellcheck disable=SC2046
	kill_pids $(live_pids "$dir" proxy)
	sed -i '/^proxy /d' "$dir/pids"
}

cmd_proxy_start() {
	local dir pport
	dir=$(cd "$1" && pwd)
	[ -n "$(live_pids "$dir" proxy)" ] && die "the proxy in $dir is running"
	sed -i '/^proxy /d' "$dir/pids"
	start_proxy "$dir"
	pport=$(env_value "$dir" S3_ENDPOINT)
	pport=${pport##*:}
	wait_ready "$dir" "$pport" "$(env_value "$dir" AWS_SECRET_ACCESS_KEY)" "$pport" ||
		die "the proxy in $dir did not come back"
}

[ "${1:-}" = watch ] && [ $# -eq 3 ] && {
	cmd_watch "$2" "$3"
	exit 0
}
[ $# -eq 2 ] || usage
case $1 in
start) cmd_start "$2" ;;
stop) cmd_stop "$2" ;;
proxy-start) cmd_proxy_start "$2" ;;
proxy-stop) cmd_proxy_stop "$2" ;;
*) usage ;;
esac
