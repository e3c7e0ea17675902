#!/usr/bin/env bash
# Benchmarks against the physical baselines, run against each nats-server of the matrix in turn
# (scripts/nats-servers.sh: Debian 12's 2.9.10, Debian 13's 2.10.27, testing's 2.15.1):
#   backup:  xorb-backup of a stream into the file store  vs  raw-snapshot (server snapshot -> file)
#   restore: xorb-restore of that backup                  vs  raw-restore (pipelined, same snapshot)
# for 1,000,000 x 256 B messages and a 1 GiB stream of 64 KiB messages, plus S3 rows (upload,
# copy, slow store, download). Every row: wall time of baseline and xorb (best of the runs), the
# ratio, CPU seconds (user + sys of the process) per GiB of stream data for both, xorb's peak RSS.
# Prints the table and writes bench/RESULTS.md: one section per server version, with the date,
# CPU model, nproc and how busy the machine was (other processes' CPU while the section ran).
# Not part of the tests (scripts/test.sh does not run it).
#
#   scripts/bench.sh [--servers "2.9.10 2.15.1"]
#   XORB_BENCH_SERVERS="2.9.10 2.15.1" (same as --servers; default: every version
#                                        `scripts/nats-servers.sh --list` prints; a version not
#                                        cached yet is fetched with scripts/nats-servers.sh)
#   BENCH_RUNS=3 (runs per measurement; the best wall time is reported, the lowest CPU, the highest RSS)
#   BENCH_SETS="small large" (which streams)
#   BENCH_S3=1 (also S3 upload/download through local Swift against `aws s3 cp`; 0 to skip)
#   BENCH_AGE=1 (also the backup and restore encrypted with age, issue 15; 0 to skip)
#   BENCH_PROFILE=1 (a perf cpu-clock profile of one backup and one restore per set: the top DSOs)
set -euo pipefail
cd "$(dirname "$0")/.."

servers=${XORB_BENCH_SERVERS:-}
while [ $# -gt 0 ]; do
	case $1 in
	--servers) [ $# -ge 2 ] || { echo "usage: bench.sh [--servers \"VERSION ...\"]" >&2; exit 64; }
		servers=$2; shift 2 ;;
	--servers=*) servers=${1#--servers=}; shift ;;
	*) echo "usage: bench.sh [--servers \"VERSION ...\"]" >&2; exit 64 ;;
	esac
done

scripts/deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null
B=$PWD/build-bench
# the tree the binaries were built from: HEAD plus any uncommitted change to what they are built from
dirty=$(git diff --name-only HEAD -- src plugins 'bench/*.c' CMakeLists.txt 2>/dev/null | xargs || true)
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)${dirty:+ with uncommitted changes to $dirty}"
runs=${BENCH_RUNS:-3}
sets=${BENCH_SETS:-small large}
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
ncpu=$(nproc)

# VERSION -> binary, from the matrix (fetched when missing)
matrix=$(scripts/nats-servers.sh --list)
if [ -z "$servers" ]; then
	servers=$(awk '{print $2}' <<<"$matrix" | xargs)
	[ -n "$servers" ] || { matrix=$(scripts/nats-servers.sh); servers=$(awk '{print $2}' <<<"$matrix" | xargs); }
fi
server_bin() {
	local bin
	bin=$(awk -v v="$1" '$2 == v {print $3; exit}' <<<"$matrix")
	if [ -z "$bin" ] && command -v nats-server >/dev/null &&
		[ "$(nats-server --version | sed -n 's/^nats-server: v\{0,1\}//p')" = "$1" ]; then
		bin=$(command -v nats-server)
	fi
	echo "$bin"
}
for v in $servers; do
	if [ -z "$(server_bin "$v")" ]; then
		echo "bench: nats-server $v is not cached: fetching the matrix" >&2
		matrix=$(scripts/nats-servers.sh)
		[ -n "$(server_bin "$v")" ] || { echo "bench: no nats-server $v in the matrix:" >&2; echo "$matrix" >&2; exit 2; }
	fi
done

work=$(mktemp -d /tmp/xorb-bench.XXXXXX)
pids=()
cleanup() {
	[ -f "$work/swift/pids" ] && scripts/swift-harness.sh stop "$work/swift" >/dev/null 2>&1
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_server NAME BINARY: sets URL and SPID (not printed: $(start_server) would lose the PID)
start_server() {
	local port; port=$(free_port)
	"$2" -a 127.0.0.1 -p "$port" -js -sd "$work/$1" >"$work/$1.log" 2>&1 &
	SPID=$!
	pids+=("$SPID")
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
	URL="nats://127.0.0.1:$port"
}
stop_pid() {
	local p=$1 q=()
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	for x in "${pids[@]}"; do [ "$x" = "$p" ] || q+=("$x"); done
	pids=("${q[@]}")
}
# time_rss CMD... -> "wall_seconds rss_kib cpu_seconds" (whole process; cpu = user + sys), or
# "FAIL" with the command's last stderr line (and the servers' errors) kept in $work/failures
time_rss() {
	/usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
		cat "$work/err" >&2
		{
			printf '%s %s: %s: %s\n' "${ver:-}" "${set:-}" "${1##*/}" "$(grep -v '^Command exited' "$work/err" | tail -1)"
			grep -h -v '\[INF\]' "$work"/src.log "$work"/dst.log 2>/dev/null | tail -2 | cut -c1-300 |
				sed 's/^/    server: /'
		} >>"$work/failures"
		echo FAIL
		return 0
	}
	awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}' "$work/time"
}
# measure TIMES CPUS RSSVAR CMD...: one run appended to the arrays TIMES and CPUS, RSSVAR the
# highest peak RSS; a failed run is counted in $nfail and left out (the row says so)
measure() {
	local -n _t=$1 _c=$2 _m=$3
	local t m c
	shift 3
	read -r t m c < <(time_rss "$@")
	if [ "${t:-FAIL}" = FAIL ]; then
		nfail=$((nfail + 1))
		return 1
	fi
	_t+=("$t"); _c+=("$c"); _m=$((m > _m ? m : _m))
}
# best VALUES... -> the lowest, or nothing when every run failed
best() { [ $# -gt 0 ] && printf '%s\n' "$@" | sort -n | head -1 || true; }
# per_gib CPU_SECONDS -> CPU seconds per GiB of the stream's data ($gib); "-" when unmeasured
per_gib() { if [ -n "$1" ]; then printf '%.2f' "$(echo "$1 / $gib" | bc -l)"; else echo -; fi; }
# ratio XORB BASELINE TARGET
ratio() { if [ -n "$1" ] && [ -n "$2" ]; then printf '%.2fx (target %s)' "$(echo "$1 / $2" | bc -l)" "$3"; else echo "-"; fi; }
# secs VALUE -> "N s", or FAILED
secs() { if [ -n "$1" ]; then echo "$1 s"; else echo FAILED; fi; }
# failed N_FAILED N_RUNS -> " (N of M runs FAILED, see below)" or nothing
failed() { [ "$1" -gt 0 ] && echo " ($1 of $2 runs FAILED, see below)" || true; }
delete_stream() {
	"$B/xorb-fixture" delete -s "$1" --stream "$2" >/dev/null 2>&1 || true
}
# busy CPU seconds of the whole machine since boot (/proc/stat: user nice system irq softirq steal)
machine_cpu() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{printf "%.2f\n", ($2+$3+$4+$7+$8+$9)/hz}' /proc/stat; }
# CH = CPU seconds of this script's reaped children (bash `times`, second line). Not $(...):
# `times` in a subshell reports the subshell's children, not this script's
children_cpu() {
	times >"$work/times"
	CH=$(awk 'NR==2{ s=0; for (i=1;i<=2;i++){ split($i,a,/[ms]/); s+=a[1]*60+a[2] } printf "%.2f\n", s }' "$work/times")
}
# CPU seconds of the Swift harness's live processes ($work/swift/pids) and their descendants:
# they are not this script's children, so `times` does not see them
work_cpu() {
	python3 - "$work/swift/pids" <<'EOF'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
roots = set()
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 2 and f[1].isdigit():
        roots.add(int(f[1]))
stat = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            stat[int(p)] = (int(f[1]), sum(int(x) for x in f[11:15]))  # ppid, utime+stime+cutime+cstime
        except OSError:
            pass
def ours(p):
    for _ in range(64):
        if p in roots:
            return True
        if p not in stat:
            return False
        p = stat[p][0]
    return False
print(f"{sum(c for p, (pp, c) in stat.items() if ours(p)) / hz:.2f}")
EOF
}

# S3: xorb-backup streaming into local Swift against `aws s3 cp` of the same archive file,
# and the download (xorb-verify reads and checks the whole archive) against `aws s3 cp` to a file.
bench_s3() {
	local stream=$1 swift=$work/swift aws=/usr/bin/aws
	rm -rf "$swift" # a fresh, empty Swift for every server version
	scripts/swift-harness.sh start "$swift" >&2
	# shellcheck disable=SC1091
	set -a; . "$swift/env"; set +a
	export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
	# awscli >= 2.23 (Debian 13) sends flexible checksums that Swift's s3api refuses
	export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required
	"$aws" --endpoint-url "$S3_ENDPOINT" s3 mb s3://xorb-bench >&2
	local store="s3://xorb-bench/xorb" xu=() xc=() xd=() au=() ad=() xu_rss=0 xc_rss=0 xd_rss=0 none=0
	local xu_c=() xc_c=() xd_c=() au_c=() ad_c=() fu=0 fc=0 fd=0 fa=0 arch
	arch=$(find "$work/store" -name '*.tar.zst' | head -1)
	for i in $(seq "$runs"); do
		nfail=0; measure xu xu_c xu_rss "$B/xorb-backup" -q -s "$SRC" --store "$store" --s3-endpoint "$S3_ENDPOINT" \
			--s3-path-style tenant bench --stream "$stream" || fu=$((fu + 1))
		# the same archive file as aws s3 cp uploads: xorb-backup copy from the file store
		measure xc xc_c xc_rss "$B/xorb-backup" -q --store "$work/store" --to "s3://xorb-bench/copy$i" \
			--s3-endpoint "$S3_ENDPOINT" --s3-path-style copy bench || fc=$((fc + 1))
		measure xd xd_c xd_rss "$B/xorb-verify" -q --store "$store" --s3-endpoint "$S3_ENDPOINT" --s3-path-style bench ||
			fd=$((fd + 1))
		measure au au_c none "$aws" --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors "$arch" s3://xorb-bench/awscli/a.tar.zst ||
			fa=$((fa + 1))
		measure ad ad_c none "$aws" --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors s3://xorb-bench/awscli/a.tar.zst "$work/dl.tar.zst" ||
			fa=$((fa + 1))
		rm -f "$work/dl.tar.zst"
	done
	# a slow store: a proxy holds every uploaded part 1 s (about 15 MiB/s with 3 parts in flight,
	# slower than the server sends the snapshot): memory must stay bounded (the rest is spooled)
	echo "always stall 1 match PUT" >"$work/proxy.rules"
	python3 tests/s3proxy/fault_proxy.py --upstream "$S3_ENDPOINT" --control "$work/proxy.rules" \
		>"$work/proxy.out" 2>/dev/null &
	local proxy=$!
	pids+=("$proxy")
	local pport=""
	for _ in $(seq 100); do pport=$(awk '/^PORT/{print $2}' "$work/proxy.out"); [ -n "$pport" ] && break; sleep 0.1; done
	local slow=() slow_c=() slow_rss=0 fs=0 spooled=""
	measure slow slow_c slow_rss "$B/xorb-backup" -v -s "$SRC" --store s3://xorb-bench/slow \
		--s3-endpoint "http://127.0.0.1:$pport" --s3-path-style tenant bench --stream "$stream" || fs=1
	[ "$fs" = 0 ] && spooled=$(grep -o 'slower than the snapshot: [0-9]* bytes' "$work/err" | awk '{print $5}' || true)
	stop_pid "$proxy"
	local size; size=$(stat -c %s "$arch")
	local bxu bxc bxd bau bad
	bxu=$(best "${xu[@]}"); bxd=$(best "${xd[@]}"); bxc=$(best "${xc[@]}")
	bau=$(best "${au[@]}"); bad=$(best "${ad[@]}")
	local cxu cxc cxd cau cad
	cxu=$(best "${xu_c[@]}"); cxc=$(best "${xc_c[@]}"); cxd=$(best "${xd_c[@]}")
	cau=$(best "${au_c[@]}"); cad=$(best "${ad_c[@]}")
	row "S3 upload ($((size / 1048576)) MiB archive; xorb = snapshot + archive + upload)$(failed "$fu" "$runs")" \
		"aws s3 cp $(secs "$bau")" "xorb-backup $(secs "$bxu")" "$(ratio "$bxu" "$bau" "< 1")" \
		"$(per_gib "$cau")" "$(per_gib "$cxu")" "$((xu_rss / 1024)) MiB"
	row "S3 upload of the same archive file$(failed "$fc" "$runs")" "aws s3 cp $(secs "$bau")" "xorb-backup copy $(secs "$bxc")" \
		"$(ratio "$bxc" "$bau" "< 1")" "$(per_gib "$cau")" "$(per_gib "$cxc")" "$((xc_rss / 1024)) MiB"
	if [ "$fs" = 0 ]; then
		row "S3 upload to a slow store (proxy holds each part 1 s)" "-" \
			"xorb-backup ${slow[0]} s, $((${spooled:-0} / 1048576)) MiB spooled to TMPDIR" "-" "-" "$(per_gib "${slow_c[0]}")" \
			"$((slow_rss / 1024)) MiB"
	else
		row "S3 upload to a slow store (proxy holds each part 1 s) (FAILED, see below)" "-" "FAILED" "-" "-" "-" "-"
	fi
	row "S3 download (xorb = download + full verify)$(failed "$fd" "$runs")" "aws s3 cp $(secs "$bad")" "xorb-verify $(secs "$bxd")" \
		"$(ratio "$bxd" "$bad" "< 1")" "$(per_gib "$cad")" "$(per_gib "$cxd")" "$((xd_rss / 1024)) MiB"
	[ "$fa" = 0 ] || echo "aws s3 cp failed $fa times" >>"$work/failures"
	swift_cpu=$(work_cpu) # Swift's daemons are not this script's children: count them before they go
	scripts/swift-harness.sh stop "$swift" >&2
	rm -rf "$swift"
}

# Encryption (issue 15): the same backup and restore with an age recipient / identity, against
# the same raw baselines; the what column says how much CPU per GiB encryption adds to the plain
# run above. An encrypted restore is always verified whole first (nothing is sent before every
# chunk is authenticated): on servers where a plain restore is one pass that is a second pass.
bench_age() {
	local stream=$1 pub xe=() xe_c=() xe_rss=0 xd=() xd_c=() xd_rss=0 fe=0 fdd=0
	[ -s "$work/age.key" ] || { age-keygen -o "$work/age.key" 2>/dev/null && chmod 600 "$work/age.key"; }
	pub=$(age-keygen -y "$work/age.key")
	for i in $(seq "$runs"); do
		rm -rf "$work/store-age.try"
		if measure xe xe_c xe_rss "$B/xorb-backup" -q -s "$SRC" --store "$work/store-age.try" tenant bench \
			--stream "$stream" --chunk-size 1M --recipient "$pub"; then
			rm -rf "$work/store-age"; mv "$work/store-age.try" "$work/store-age"
		else fe=$((fe + 1)); fi
	done
	for i in $(seq "$runs"); do
		delete_stream "$DST" "$stream"
		measure xd xd_c xd_rss "$B/xorb-restore" -q -s "$DST" --store "$work/store-age" --identity "$work/age.key" \
			bench --stream "$stream" || fdd=$((fdd + 1))
	done
	local bxe bxd cxe cxd
	bxe=$(best "${xe[@]}"); bxd=$(best "${xd[@]}"); cxe=$(best "${xe_c[@]}"); cxd=$(best "${xd_c[@]}")
	row "$set backup, encrypted (age; $(delta_gib "$cxe" "$cxb") CPU s/GiB over the plain backup)$(failed "$fe" "$runs")" \
		"$(secs "$rb")" "$(secs "$bxe")" "$(ratio "$bxe" "$rb" "<= 1.15x")" \
		"$(per_gib "$crb")" "$(per_gib "$cxe")" "$((xe_rss / 1024)) MiB"
	row "$set restore, encrypted (age, verified whole first; $(delta_gib "$cxd" "$cxr") CPU s/GiB over the plain restore)$(failed "$fdd" "$runs")" \
		"$(secs "$rr")" "$(secs "$bxd")" "$(ratio "$bxd" "$rr" "<= 1.2x")" \
		"$(per_gib "$crr")" "$(per_gib "$cxd")" "$((xd_rss / 1024)) MiB"
	rm -rf "$work/store-age"
}

# profile CMD...: the top entries of a cpu-clock profile of one run by DSO ("libcrypto 41.2%, ...")
profile() {
	if ! command -v perf >/dev/null; then echo "perf not installed"; return; fi
	if ! perf record -q -e cpu-clock -F 999 -o "$work/perf.data" -- "$@" >/dev/null 2>"$work/perf.err"; then
		echo "perf failed: $(tail -1 "$work/perf.err")"; return
	fi
	perf report -i "$work/perf.data" --sort dso --stdio -q 2>/dev/null |
		awk 'NF >= 2 && n < 6 { sub(/\.so[.0-9]*$/, "", $2); printf "%s%s %s", (n++ ? ", " : ""), $2, $1 }'
	rm -f "$work/perf.data"
}

# Where the CPU goes: one profiled backup and restore (perf, cpu-clock), top DSOs (issue 13)
profile_rows() {
	local stream=$1 pb pr
	rm -rf "$work/store-prof"
	pb=$(profile "$B/xorb-backup" -q -s "$SRC" --store "$work/store-prof" tenant bench --stream "$stream" --chunk-size 1M)
	delete_stream "$DST" "$stream"
	pr=$(profile "$B/xorb-restore" -q -s "$DST" --store "$work/store-prof" bench --stream "$stream")
	rm -rf "$work/store-prof"
	row "$set backup profile (perf cpu-clock, by DSO, one run)" "-" "$pb" "-" "-" "-" "-"
	row "$set restore profile (perf cpu-clock, by DSO, one run)" "-" "$pr" "-" "-" "-" "-"
}

# delta_gib CPU_A CPU_B -> (A - B) per GiB of the stream's data, signed; "-" when unmeasured
delta_gib() {
	if [ -z "$1" ] || [ -z "$2" ]; then echo "-"; return; fi
	printf '%+.2f' "$(echo "($1 - $2) / $gib" | bc -l)"
}

# row WHAT BASELINE XORB RATIO BASE_CPU XORB_CPU RSS (the server version is $ver)
row() {
	local r
	r=$(printf '| %s | %s | %s | %s | %s | %s | %s | %s |' "$ver" "$1" "$2" "$3" "$4" "$5" "$6" "$7")
	rows+=("$r")
	echo "$r" >&2
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# the 5 busiest processes right now that are not ours (what else runs)
others_top() {
	top -bn2 -d 1 -c -w 300 -o %CPU |
		awk -v w="$work" '/^top -/ {blk++} blk == 2 && $1 ~ /^[0-9]+$/ && $9+0 > 0 && $12 != "top" && index($0, w) == 0 {
			n = $12 ~ /^\[/ ? split($12, a, " ") : split($12, a, "/"); printf "%s%s %s%%", (c++ ? ", " : ""), a[n], $9 } c == 5 {exit}' || true
}

# written after every section: an interrupted run keeps the servers already measured
write_results() {
	{
		echo "# Benchmark results"
		echo
		echo "- written: $(date -u +%Y-%m-%dT%H:%M:%SZ) by scripts/bench.sh, servers: $servers"
		echo "- CPU: $cpu_model, nproc $ncpu"
		echo "- commit: $commit (what build-bench was built from when the run started)"
		echo "- backups: xorb-backup and raw-snapshot both ask for 1 MiB snapshot chunks (xorb's default is 256 KiB, safer for slow stores)"
		echo "- restores: xorb-restore (default window 16) against raw-restore with the same window of 16 x 1 MiB chunks"
		echo "- times: wall clock of the whole process, best of the runs; CPU s/GiB: user + sys of that process"
		echo "  (lowest of the runs) per GiB of the stream's data (state.bytes), the same GiB on every server;"
		echo "  peak RSS: highest of the runs. The servers' own CPU is not in these numbers."
		echo "- quiet: \"yes\" when processes other than this benchmark used under 10% of the machine's CPU"
		echo "  while the section ran (/proc/stat minus this script's children and its Swift daemons)"
		for s in "${sections[@]}"; do
			echo
			echo "$s"
		done
	} >"$work/results.md"
	cp "$work/results.md" bench/RESULTS.md
}

sections=()
nfail=0
failures_seen=0
for ver in $servers; do
	bin=$(server_bin "$ver")
	echo "== nats-server $ver ($bin)" >&2
	start_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	load_before=$(loadavg); top_before=$(others_top)
	t_start=$(date +%s.%N); m_start=$(machine_cpu); children_cpu; c_start=$CH; swift_cpu=0
	rm -rf "$work/src" "$work/dst" "$work/store"
	: >"$work/failures"
	start_server src "$bin"; SRC=$URL; src_pid=$SPID
	start_server dst "$bin"; DST=$URL; dst_pid=$SPID
	rows=()
	for set in $sets; do
		case $set in
		small) stream=xorb-bench-scan-live; subj=xorb.bench.scan.load.created; count=1000000; size=256 ;;
		large) stream=xorb-bench-evidence-live; subj=xorb.bench.evidence.load.created; count=16384; size=65536 ;;
		*) echo "bench: unknown set $set" >&2; exit 64 ;;
		esac
		echo "== $ver $set: $count x $size B into $stream" >&2
		"$B/xorb-fixture" bulk -s "$SRC" --stream "$stream" --subject "$subj" --count "$count" --size "$size" >&2
		raw_b=(); raw_bc=(); xb=(); xb_c=(); xb_rss=0; raw_r=(); raw_rc=(); xr=(); xr_c=(); xr_rss=0; none=0
		f_rb=0; f_xb=0; f_rr=0; f_xr=0
		rm -rf "$work/store" "$work/raw.s2" "$work/raw.s2.json"
		for i in $(seq "$runs"); do
			rm -f "$work/raw.try" "$work/raw.try.json"
			if measure raw_b raw_bc none "$B/raw-snapshot" "$SRC" "$stream" "$work/raw.try"; then
				mv "$work/raw.try" "$work/raw.s2"; mv "$work/raw.try.json" "$work/raw.s2.json"
			else f_rb=$((f_rb + 1)); fi
			# a failed backup must not take the last good one with it (the restores need one)
			rm -rf "$work/store.try"
			if measure xb xb_c xb_rss "$B/xorb-backup" -q -s "$SRC" --store "$work/store.try" tenant bench \
				--stream "$stream" --chunk-size 1M; then
				rm -rf "$work/store"; mv "$work/store.try" "$work/store"
			else f_xb=$((f_xb + 1)); fi
		done
		[ -s "$work/raw.s2.json" ] && [ -d "$work/store" ] || {
			echo "bench: $ver $set: every raw-snapshot or every xorb-backup run failed:" >&2
			cat "$work/failures" >&2
			exit 2
		}
		# the stream's data (state.bytes of the snapshot reply): the GiB of "CPU s/GiB", the same on every server
		bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"]["bytes"])' "$work/raw.s2.json")
		gib=$(echo "$bytes / 1073741824" | bc -l)
		for i in $(seq "$runs"); do
			delete_stream "$DST" "$stream"
			measure raw_r raw_rc none "$B/raw-restore" "$DST" "$stream" "$work/raw.s2.json" "$work/raw.s2" 16 ||
				f_rr=$((f_rr + 1))
			delete_stream "$DST" "$stream"
			measure xr xr_c xr_rss "$B/xorb-restore" -q -s "$DST" --store "$work/store" bench --stream "$stream" ||
				f_xr=$((f_xr + 1))
		done
		if ! "$B/xorb-fixture" compare -s "$SRC" --other "$DST" --stream "$stream" >&2; then
			echo "$ver $set: the stream xorb-restore restored differs from the source (xorb-fixture compare)" >>"$work/failures"
		fi
		snap=$(stat -c %s "$work/raw.s2")
		arch=$(find "$work/store" -name '*.tar.zst' -printf '%s\n' | head -1)
		rb=$(best "${raw_b[@]}"); xbb=$(best "${xb[@]}")
		rr=$(best "${raw_r[@]}"); xrb=$(best "${xr[@]}")
		crb=$(best "${raw_bc[@]}"); cxb=$(best "${xb_c[@]}")
		crr=$(best "${raw_rc[@]}"); cxr=$(best "${xr_c[@]}")
		row "$set backup ($(printf '%.2f' "$gib") GiB of data)$(failed "$f_xb" "$runs")$(failed "$f_rb" "$runs" | sed 's/runs/raw-snapshot runs/')" \
			"$(secs "$rb")" "$(secs "$xbb")" "$(ratio "$xbb" "$rb" "<= 1.15x")" \
			"$(per_gib "$crb")" "$(per_gib "$cxb")" "$((xb_rss / 1024)) MiB"
		row "$set restore$(failed "$f_xr" "$runs")$(failed "$f_rr" "$runs" | sed 's/runs/raw-restore runs/')" \
			"$(secs "$rr")" "$(secs "$xrb")" "$(ratio "$xrb" "$rr" "<= 1.2x")" \
			"$(per_gib "$crr")" "$(per_gib "$cxr")" "$((xr_rss / 1024)) MiB"
		row "$set sizes" "snapshot $snap B" "archive $arch B" "$(printf '%.3f' "$(echo "$arch / $snap" | bc -l)")" "" "" ""
		if [ "${BENCH_AGE:-1}" = 1 ]; then
			bench_age "$stream"
		fi
		if [ "${BENCH_PROFILE:-1}" = 1 ]; then
			profile_rows "$stream"
		fi
		if [ "$set" = small ] && [ "${BENCH_S3:-1}" = 1 ]; then
			bench_s3 "$stream"
		fi
		delete_stream "$SRC" "$stream"
		delete_stream "$DST" "$stream"
	done
	stop_pid "$src_pid"
	stop_pid "$dst_pid"
	t_end=$(date +%s.%N); m_end=$(machine_cpu); children_cpu; c_end=$CH
	load_after=$(loadavg); top_after=$(others_top)
	elapsed=$(echo "$t_end - $t_start" | bc -l)
	ours=$(echo "$c_end - $c_start + $swift_cpu" | bc -l)
	others=$(echo "$m_end - $m_start - $ours" | bc -l)
	others_pct=$(echo "100 * $others / ($elapsed * $ncpu)" | bc -l)
	quiet=no
	[ "$(echo "$others_pct < 10" | bc -l)" = 1 ] && quiet=yes
	sections+=("$(
		echo "## nats-server $ver"
		echo
		echo "- date: $start_date, $(printf '%.0f' "$elapsed") s"
		echo "- CPU: $cpu_model, nproc $ncpu, $(free -g | awk '/Mem:/{print $2}') GiB"
		echo "- server: $bin ($("$bin" --version)), best of $runs runs, file store on $(df -T "$work" | awk 'NR==2{print $2}')"
		printf -- '- quiet: %s: other processes used %.0f CPU-s of the %.0f available while this section ran (%.0f%%; this benchmark %.0f, its Swift %.0f); load average %s before, %s after\n' \
			"$quiet" "$others" "$(echo "$elapsed * $ncpu" | bc -l)" "$others_pct" "$ours" "$swift_cpu" "$load_before" "$load_after"
		echo "- busiest other processes: before: ${top_before:-none}; after: ${top_after:-none}"
		echo
		echo "| server | what | baseline | xorb | ratio | baseline CPU s/GiB | xorb CPU s/GiB | xorb peak RSS |"
		echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
		printf '%s\n' "${rows[@]}"
		if [ -s "$work/failures" ]; then
			echo
			echo "Failed runs (left out of the numbers above):"
			echo
			sed 's/^/    /' "$work/failures"
		fi
	)")
	[ -s "$work/failures" ] && failures_seen=1
	write_results
done
cat bench/RESULTS.md
if [ "$failures_seen" = 1 ]; then
	echo "bench: some runs FAILED (listed in bench/RESULTS.md)" >&2
	exit 1
fi

