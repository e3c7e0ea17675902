#!/usr/bin/env bash
# Runs every test: installs what is missing, fetches the nats-server of each
# Debian release of the matrix, configures, builds with warnings as errors,
# runs ctest (unit + integration against real servers of every version, and
# the integration programs again with every command under valgrind memcheck:
# label memcheck), short libFuzzer runs of every parser, then the unit and
# integration tests again under AddressSanitizer + UndefinedBehaviorSanitizer
# (against the newest server), and last the Debian 13 check in a clean
# debootstrap root (scripts/debian13-check.sh).
#   XORB_TEST_SKIP_MEMCHECK=1  skip the memcheck pass (local iteration only)
#   XORB_TEST_SKIP_ASAN=1      skip the sanitizer pass (local iteration only)
#   XORB_TEST_SKIP_DEBIAN13=1  skip the Debian 13 root check (local iteration only)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

# The server-version matrix: the nats-server of Debian 12 (bookworm), 13
# (trixie) and testing (forky), fetched once into a cache; every integration
# program that talks to NATS runs against each (integration/<version>/<name>).
echo "== nats-server matrix (scripts/nats-servers.sh: SUITE VERSION BINARY)"
matrix=$(scripts/nats-servers.sh)
echo "$matrix" | sed 's/^/   /'
all=$(echo "$matrix" | awk '{ printf "%s%s=%s", (NR > 1 ? ";" : ""), $2, $3 }')
newest=$(echo "$matrix" | awk 'END { print $2 "=" $3 }')
echo "   memcheck pass: the nats-server on PATH ($(nats-server --version 2>&1 | head -n1)); sanitizer pass: ${newest%%=*}"

echo "== build (warnings are errors)"
cmake -S . -B build -DXORB_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DXORB_NATS_MATRIX=$all" >/dev/null
if [ -s build/nats-known-gaps.txt ] && grep -q . build/nats-known-gaps.txt; then
	echo "== known gaps: test cases not run against these servers (a whole program shows as Disabled)"
	sed 's/^/   /' build/nats-known-gaps.txt
fi
cmake --build build -j"$jobs"

if [ "${XORB_TEST_SKIP_MEMCHECK:-0}" = 1 ]; then
	echo "== tests (memcheck pass skipped)"
	(cd build && ctest --output-on-failure -j2 --timeout 900 -LE memcheck)
else
	echo "== tests, and the integration tests under valgrind memcheck"
	(cd build && ctest --output-on-failure -j2 --timeout 900)
fi

echo "== fuzz smoke runs (libFuzzer, ${XORB_FUZZ_SECONDS:-10} s per target; long runs: fuzz/README.md)"
scripts/fuzz.sh "${XORB_FUZZ_SECONDS:-10}"

if [ "${XORB_TEST_SKIP_ASAN:-0}" != 1 ]; then
	echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	cmake -S . -B build-asan -DXORB_WERROR=ON -DXORB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
		"-DXORB_NATS_MATRIX=$newest" >/dev/null
	cmake --build build-asan -j"$jobs"
	(cd build-asan && ctest --output-on-failure -j2 --timeout 900)
fi

# Debian 13: the same build, unit and integration tests (against Debian 13's
# own nats-server, libcurl, Swift and awscli) and scripts/demo.sh, in a clean
# trixie root made with debootstrap from the system's mirror (cached).
if [ "${XORB_TEST_SKIP_DEBIAN13:-0}" != 1 ]; then
	echo "== Debian 13 check (scripts/debian13-check.sh: a clean trixie root, chroot)"
	scripts/debian13-check.sh
fi
