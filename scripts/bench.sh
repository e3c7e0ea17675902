#!/usr/bin/env bash
# Benchmarks against the physical baselines, in ONE run on this machine:
#   backup:  xorb-backup of a stream into the file store  vs  raw-snapshot (server snapshot -> file)
#   restore: xorb-restore of that backup                  vs  raw-restore (pipelined, same snapshot)
# for 1,000,000 x 256 B messages and a 1 GiB stream of 64 KiB messages, with peak RSS and sizes.
# Prints a table and writes bench/RESULTS.md. Not part of the tests.
#   BENCH_RUNS=3 (runs per measurement; the best is reported)
#   BENCH_SETS="small large" (which streams)
#   BENCH_S3=1 (also S3 upload/download through local Swift against `aws s3 cp`; 0 to skip)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null
B=$PWD/build-bench
runs=${BENCH_RUNS:-3}
sets=${BENCH_SETS:-small large}
work=$(mktemp -d /tmp/xorb-bench.XXXXXX)
pids=()
cleanup() {
	[ -d "$work/swift" ] && scripts/swift-harness.sh stop "$work/swift" >/dev/null 2>&1
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_server() {
	local port; port=$(free_port)
	nats-server -a 127.0.0.1 -p "$port" -js -sd "$work/$1" >"$work/$1.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
	URL="nats://127.0.0.1:$port" # not printed: $(start_server) would lose the PID in a subshell
}
# time_rss CMD... -> "seconds rss_kib" (wall clock of the whole process, peak RSS)
time_rss() {
	/usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
		cat "$work/err" >&2; return 1; }
	cat "$work/time"
}
best() { sort -n | head -1; }
delete_stream() {
	"$B/xorb-fixture" delete -s "$1" --stream "$2" >/dev/null 2>&1 || true
}

# S3: xorb-backup streaming into local Swift against `aws s3 cp` of the same archive file,
# and the download (xorb-verify reads and checks the whole archive) against `aws s3 cp` to a file.
bench_s3() {
	local stream=$1 swift=$work/swift aws=/usr/bin/aws
	scripts/swift-harness.sh start "$swift" >&2
	# shellcheck disable=SC1091
	set -a; . "$swift/env"; set +a
	export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
	# awscli >= 2.23 (Debian 13) sends flexible checksums that Swift's s3api refuses
	export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required
	"$aws" --endpoint-url "$S3_ENDPOINT" s3 mb s3://xorb-bench >&2
	local store="s3://xorb-bench/xorb" xu=() xc=() xd=() au=() ad=() xu_rss=0 xc_rss=0 xd_rss=0 t m
	for i in $(seq "$runs"); do
		read -r t m < <(time_rss "$B/xorb-backup" -q -s "$SRC" --store "$store" --s3-endpoint "$S3_ENDPOINT" \
			--s3-path-style tenant bench --stream "$stream")
		xu+=("$t"); xu_rss=$((m > xu_rss ? m : xu_rss))
		# the same archive file as aws s3 cp uploads: xorb-backup copy from the file store
		read -r t m < <(time_rss "$B/xorb-backup" -q --store "$work/store" --to "s3://xorb-bench/copy$i" \
			--s3-endpoint "$S3_ENDPOINT" --s3-path-style copy bench)
		xc+=("$t"); xc_rss=$((m > xc_rss ? m : xc_rss))
		read -r t m < <(time_rss "$B/xorb-verify" -q --store "$store" --s3-endpoint "$S3_ENDPOINT" --s3-path-style bench)
		xd+=("$t"); xd_rss=$((m > xd_rss ? m : xd_rss))
		local arch; arch=$(find "$work/store" -name '*.tar.zst' | head -1)
		read -r t m < <(time_rss "$aws" --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors "$arch" s3://xorb-bench/awscli/a.tar.zst)
		au+=("$t")
		read -r t m < <(time_rss "$aws" --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors s3://xorb-bench/awscli/a.tar.zst "$work/dl.tar.zst")
		ad+=("$t"); rm -f "$work/dl.tar.zst"
	done
	# a slow store: a proxy holds every uploaded part 1 s (about 15 MiB/s with 3 parts in flight,
	# slower than the server sends the snapshot): memory must stay bounded (the rest is spooled)
	echo "always stall 1 match PUT" >"$work/proxy.rules"
	python3 tests/s3proxy/fault_proxy.py --upstream "$S3_ENDPOINT" --control "$work/proxy.rules" \
		>"$work/proxy.out" 2>/dev/null &
	pids+=($!)
	local pport=""
	for _ in $(seq 100); do pport=$(awk '/^PORT/{print $2}' "$work/proxy.out"); [ -n "$pport" ] && break; sleep 0.1; done
	local slow slow_rss
	read -r slow slow_rss < <(time_rss "$B/xorb-backup" -v -s "$SRC" --store s3://xorb-bench/slow \
		--s3-endpoint "http://127.0.0.1:$pport" --s3-path-style tenant bench --stream "$stream")
	local spooled; spooled=$(grep -o 'slower than the snapshot: [0-9]* bytes' "$work/err" | awk '{print $5}' || true)
	local size; size=$(find "$work/store" -name '*.tar.zst' -printf '%s\n' | head -1)
	local bxu bxc bxd bau bad
	bxu=$(printf '%s\n' "${xu[@]}" | best); bxd=$(printf '%s\n' "${xd[@]}" | best)
	bxc=$(printf '%s\n' "${xc[@]}" | best)
	bau=$(printf '%s\n' "${au[@]}" | best); bad=$(printf '%s\n' "${ad[@]}" | best)
	rows+=("$(printf '| S3 upload (%d MiB archive; xorb = snapshot + archive + upload) | aws s3 cp %s s | xorb-backup %s s | %.2fx (target < 1) | %d MiB |' \
		$((size / 1048576)) "$bau" "$bxu" "$(echo "$bxu / $bau" | bc -l)" $((xu_rss / 1024)))")
	rows+=("$(printf '| S3 upload of the same archive file | aws s3 cp %s s | xorb-backup copy %s s | %.2fx (target < 1) | %d MiB |' \
		"$bau" "$bxc" "$(echo "$bxc / $bau" | bc -l)" $((xc_rss / 1024)))")
	rows+=("$(printf '| S3 upload to a slow store (proxy holds each part 1 s) | - | xorb-backup %s s, %d MiB spooled to TMPDIR | - | %d MiB |' \
		"$slow" $((${spooled:-0} / 1048576)) $((slow_rss / 1024)))")
	rows+=("$(printf '| S3 download (xorb = download + full verify) | aws s3 cp %s s | xorb-verify %s s | %.2fx (target < 1) | %d MiB |' \
		"$bad" "$bxd" "$(echo "$bxd / $bad" | bc -l)" $((xd_rss / 1024)))")
	scripts/swift-harness.sh stop "$swift" >&2
}

start_server src; SRC=$URL
start_server dst; DST=$URL
rows=()
for set in $sets; do
	case $set in
	small) stream=xorb-bench-scan-live; subj=xorb.bench.scan.load.created; count=1000000; size=256 ;;
	large) stream=xorb-bench-evidence-live; subj=xorb.bench.evidence.load.created; count=16384; size=65536 ;;
	esac
	echo "== $set: $count x $size B into $stream" >&2
	"$B/xorb-fixture" bulk -s "$SRC" --stream "$stream" --subject "$subj" --count "$count" --size "$size" >&2
	raw_b=(); raw_rss=0; xb=(); xb_rss=0; raw_r=(); xr=(); xr_rss=0
	for i in $(seq "$runs"); do
		read -r t m < <(time_rss "$B/raw-snapshot" "$SRC" "$stream" "$work/raw.s2")
		raw_b+=("$t"); raw_rss=$m
		rm -rf "$work/store"
		read -r t m < <(time_rss "$B/xorb-backup" -q -s "$SRC" --store "$work/store" tenant bench --stream "$stream" --chunk-size 1M)
		xb+=("$t"); xb_rss=$((m > xb_rss ? m : xb_rss))
	done
	for i in $(seq "$runs"); do
		delete_stream "$DST" "$stream"
		read -r t m < <(time_rss "$B/raw-restore" "$DST" "$stream" "$work/raw.s2.json" "$work/raw.s2" 16)
		raw_r+=("$t")
		delete_stream "$DST" "$stream"
		read -r t m < <(time_rss "$B/xorb-restore" -q -s "$DST" --store "$work/store" bench --stream "$stream")
		xr+=("$t"); xr_rss=$((m > xr_rss ? m : xr_rss))
	done
	"$B/xorb-fixture" compare -s "$SRC" --other "$DST" --stream "$stream" >&2
	snap=$(stat -c %s "$work/raw.s2")
	arch=$(find "$work/store" -name '*.tar.zst' -printf '%s\n' | head -1)
	rb=$(printf '%s\n' "${raw_b[@]}" | best); xbb=$(printf '%s\n' "${xb[@]}" | best)
	rr=$(printf '%s\n' "${raw_r[@]}" | best); xrb=$(printf '%s\n' "${xr[@]}" | best)
	rows+=("$(printf '| %s backup | %s s | %s s | %.2fx (target <= 1.15x) | %d MiB |' "$set" "$rb" "$xbb" \
		"$(echo "$xbb / $rb" | bc -l)" $((xb_rss / 1024)))")
	rows+=("$(printf '| %s restore | %s s | %s s | %.2fx (target <= 1.2x) | %d MiB |' "$set" "$rr" "$xrb" \
		"$(echo "$xrb / $rr" | bc -l)" $((xr_rss / 1024)))")
	rows+=("$(printf '| %s sizes | snapshot %d B | archive %d B | %.3f | |' "$set" "$snap" "$arch" \
		"$(echo "$arch / $snap" | bc -l)")")
	if [ "$set" = small ] && [ "${BENCH_S3:-1}" = 1 ]; then
		bench_s3 "$stream"
	fi
	delete_stream "$SRC" "$stream"
	delete_stream "$DST" "$stream"
done

{
	echo "# Benchmark results"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
	echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
	echo "- nats-server $(nats-server --version | awk '{print $2}'), best of $runs runs, file store on $(df -T "$work" | awk 'NR==2{print $2}')"
	echo "- backups: xorb-backup and raw-snapshot both ask for 1 MiB snapshot chunks (xorb's default is 256 KiB, safer for slow stores)"
	echo "- restores: xorb-restore (default window 16) against raw-restore with the same window of 16 x 1 MiB chunks"
	echo
	echo "| what | baseline | xorb | ratio | xorb peak RSS |"
	echo "| --- | --- | --- | --- | --- |"
	printf '%s\n' "${rows[@]}"
} > "$work/results.md"
cat "$work/results.md"
cp "$work/results.md" bench/RESULTS.md
