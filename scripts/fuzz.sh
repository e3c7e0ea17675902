#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang in build-fuzz and runs each
# for SECONDS (default 30) on a working corpus seeded from fuzz/corpus/<t>/
# (plus fuzz/regressions/<t>/, inputs that once crashed). The checked-in
# corpus is only read; new inputs go to build-fuzz/corpus/<t>/ and are merged
# back only with --merge. Crash inputs are kept in build-fuzz/crashes/<t>/.
# Prints executions, exec/s, coverage and corpus size per target, then
# "fuzz: N targets, M crashes"; exits 0 only when no target crashed.
#
#   scripts/fuzz.sh [options] [SECONDS] [TARGET...]   (TARGET: fuzz_archive or archive)
#     --merge           afterwards, add the inputs that bring new coverage to fuzz/corpus/<t>/
#     --fresh           start from the seeds again (drop build-fuzz/corpus/<t>/)
#     --no-build        use the targets already built
#     --build-dir DIR   build tree (default build-fuzz)
#   XORB_FUZZ_SAN_EXTRA="-fno-sanitize=..."  extra sanitizer flags (fuzz past a known finding;
#                     best with its own --build-dir)
# See fuzz/README.md (long runs, reproducing a crash, minimising it).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

all_targets=(fuzz_manifest fuzz_archive fuzz_s2 fuzz_snapcheck fuzz_env fuzz_json_span fuzz_subject
	fuzz_jwt fuzz_bundle fuzz_json_strict fuzz_s3_xml fuzz_age_header)

# Largest input per target: a bit above the largest real document of its kind.
max_len() {
	case "$1" in
	fuzz_archive | fuzz_bundle | fuzz_s2 | fuzz_snapcheck) echo 65536 ;;
	fuzz_s3_xml) echo 65536 ;; # room for 10001 entries ("<a/>"), over S3_XML_ENTRIES_MAX
	fuzz_age_header) echo 140000 ;; # a header at its 64 KiB cap, and two payload chunks
	fuzz_manifest) echo 32768 ;;
	fuzz_env | fuzz_json_span | fuzz_json_strict) echo 16384 ;;
	fuzz_jwt) echo 8192 ;;
	fuzz_subject) echo 4096 ;;
	*) echo 4096 ;;
	esac
}

usage() {
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

seconds=30 merge=0 fresh=0 build=1 bdir=build-fuzz
targets=()
while [ $# -gt 0 ]; do
	case "$1" in
	--merge) merge=1 ;;
	--fresh) fresh=1 ;;
	--no-build) build=0 ;;
	--build-dir)
		[ $# -ge 2 ] || usage
		bdir=$2
		shift
		;;
	-h | --help) usage ;;
	-*)
		echo "fuzz.sh: unknown option \"$1\"" >&2
		usage
		;;
	*)
		if [ ${#targets[@]} -eq 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
			seconds=$1
		else
			t=${1#fuzz_}
			t=fuzz_$t
			case " ${all_targets[*]} " in
			*" $t "*) targets+=("$t") ;;
			*)
				echo "fuzz.sh: unknown target \"$1\" (targets: ${all_targets[*]})" >&2
				exit 2
				;;
			esac
		fi
		;;
	esac
	shift
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
case "$bdir" in /*) ;; *) bdir=$src/$bdir ;; esac

if [ "$build" = 1 ]; then
	cc=$(command -v clang || command -v clang-14 || true)
	if [ -z "$cc" ]; then
		echo "fuzz.sh: clang not found: run scripts/deps.sh (clang, libclang-rt-14-dev, llvm-14)" >&2
		exit 2
	fi
	mkdir -p "$bdir"
	if ! CC=$cc cmake -S . -B "$bdir" -DXORB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DXORB_FUZZ_SAN_EXTRA="${XORB_FUZZ_SAN_EXTRA:-}" >"$bdir/configure.log" 2>&1; then
		cat "$bdir/configure.log" >&2
		echo "fuzz.sh: configuring $bdir failed" >&2
		exit 2
	fi
	if ! cmake --build "$bdir" -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}" \
		>"$bdir/build.log" 2>&1; then
		grep -E 'error|Error' "$bdir/build.log" | head -40 >&2 || true
		echo "fuzz.sh: building the fuzz targets failed (log: $bdir/build.log)" >&2
		exit 2
	fi
fi

# Symbolised stacks; leaks count as crashes; UBSan findings stop the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
sym=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
if [ -n "$sym" ]; then export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$sym}; fi

# "key: value" from libFuzzer's final stats, or "?".
final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1 | grep . || echo "?"; }

crashes=0 ran=0
printf '%-16s %12s %8s %7s %8s %14s  %s\n' target executions exec/s cov ft corpus result
for t in "${targets[@]}"; do
	short=${t#fuzz_}
	bin=$bdir/fuzz/$t
	work=$bdir/corpus/$t
	art=$bdir/crashes/$t
	log=$bdir/logs/$t.log
	if [ ! -x "$bin" ]; then
		echo "fuzz.sh: $bin is missing (build with -DXORB_FUZZ=ON, or drop --no-build)" >&2
		exit 2
	fi
	if [ "$fresh" = 1 ]; then rm -rf "$work"; fi
	mkdir -p "$work" "$art" "$bdir/logs"
	dirs=("$work" "$src/fuzz/corpus/$short")
	if [ -d "$src/fuzz/regressions/$short" ]; then dirs+=("$src/fuzz/regressions/$short"); fi
	opts=(-max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$art/")
	if [ -f "$src/fuzz/dict/$short.dict" ]; then opts+=(-dict="$src/fuzz/dict/$short.dict"); fi

	if [ "$seconds" -gt 0 ]; then
		ran=$((ran + 1))
		before=$(find "$art" -type f | wc -l)
		rc=0
		"$bin" "${opts[@]}" -max_total_time="$seconds" "${dirs[@]}" >"$log" 2>&1 || rc=$?
		after=$(find "$art" -type f | wc -l)
		# "#123 DONE cov: 456 ft: 789 corp: 12/3456b ..." (or the last progress line)
		covline=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
		cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$covline")
		ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$covline")
		corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$covline")
		if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
			crashes=$((crashes + 1))
			newest=$(ls -t "$art" 2>/dev/null | head -1)
			summary=$(grep -m1 -E 'ERROR: |invariant failed|runtime error' "$log" |
				sed 's/^==[0-9]*==//' | cut -c1-200 || true)
			result="CRASH ${art#"$src"/}/$newest"
		else
			result=ok
			summary=
		fi
		printf '%-16s %12s %8s %7s %8s %14s  %s\n' "$t" "$(final_stat number_of_executed_units "$log")" \
			"$(final_stat average_exec_per_sec "$log")" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
		if [ -n "$summary" ]; then echo "    $summary (log: ${log#"$src"/})"; fi
	fi

	if [ "$merge" = 1 ]; then
		before=$(find "$src/fuzz/corpus/$short" -type f | wc -l)
		if "$bin" -merge=1 -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
			"$src/fuzz/corpus/$short" "$work" >"$bdir/logs/$t.merge.log" 2>&1; then
			after=$(find "$src/fuzz/corpus/$short" -type f | wc -l)
			echo "    merged $((after - before)) new inputs into fuzz/corpus/$short/"
		else
			echo "    merge into fuzz/corpus/$short/ failed (log: ${bdir#"$src"/}/logs/$t.merge.log)"
			crashes=$((crashes + 1))
		fi
	fi
done

echo "fuzz: $ran targets, $crashes crashes"
[ "$crashes" -eq 0 ]
