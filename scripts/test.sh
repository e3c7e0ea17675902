#!/usr/bin/env bash
# Runs every test: installs what is missing, configures, builds with warnings
# as errors, runs ctest (unit + integration against real servers, and the
# integration programs again with every command under valgrind memcheck:
# label memcheck), short libFuzzer runs of every parser, then the unit and
# integration tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
#   XORB_TEST_SKIP_MEMCHECK=1  skip the memcheck pass (local iteration only)
#   XORB_TEST_SKIP_ASAN=1      skip the sanitizer pass (local iteration only)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (warnings are errors)"
cmake -S . -B build -DXORB_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

if [ "${XORB_TEST_SKIP_MEMCHECK:-0}" = 1 ]; then
	echo "== tests (memcheck pass skipped)"
	(cd build && ctest --output-on-failure -j2 --timeout 900 -LE memcheck)
else
	echo "== tests, and the integration tests under valgrind memcheck"
	(cd build && ctest --output-on-failure -j2 --timeout 900)
fi

echo "== fuzz smoke runs (libFuzzer, ${XORB_FUZZ_SECONDS:-20} s per target; long runs: fuzz/README.md)"
scripts/fuzz.sh "${XORB_FUZZ_SECONDS:-20}"

if [ "${XORB_TEST_SKIP_ASAN:-0}" != 1 ]; then
	echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	cmake -S . -B build-asan -DXORB_WERROR=ON -DXORB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j"$jobs"
	(cd build-asan && ctest --output-on-failure -j2 --timeout 900)
fi
