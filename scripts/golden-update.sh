#!/usr/bin/env bash
# Regenerates the expected outputs of the golden CLI tests
# (tests/golden/expected/*.out) from the commands as built in BUILD_DIR
# (default: build), then shows what changed. Review that diff before you
# commit it: every changed line is a change users see.
#   scripts/golden-update.sh [BUILD_DIR]
# Same as: cd BUILD_DIR && XORB_GOLDEN_UPDATE=1 ctest -R '^golden/' -V
set -euo pipefail
build=$(realpath -m "${1:-$(dirname "$0")/../build}")
cd "$(dirname "$0")/.."
if [ ! -f "$build/CTestTestfile.cmake" ]; then
	echo "golden-update.sh: $build is not a configured build dir (cmake -S . -B $build first)" >&2
	exit 2
fi
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)"
(cd "$build" && XORB_GOLDEN_UPDATE=1 ctest -R '^golden/' --output-on-failure -V) | grep '^[0-9]*: golden:' | sed 's/^[0-9]*: //'
git --no-pager diff --stat -- tests/golden/expected
git status --short -- tests/golden/expected | grep -v '^ M' || true
echo "golden-update.sh: review: git diff tests/golden/expected"
