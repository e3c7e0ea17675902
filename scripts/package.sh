#!/usr/bin/env bash
# Builds the Debian package of xorb-dr for the Debian release it runs on
# (12 or 13): xorb-dr_<version>-1~deb<N>_<arch>.deb, with CPack's DEB
# generator (why CPack: packaging/deb.cmake).
#
#   scripts/package.sh [--build-dir DIR] [--lintian]
#     --build-dir DIR  the build tree (default build-pkg), configured with
#                      -DCMAKE_INSTALL_PREFIX=/usr -DXORB_DEB=ON, without tests
#     --lintian        also run lintian on the package (apt-get install lintian)
#
# Prints the path of the .deb on its last line. Warnings are errors (-Werror);
# the compiler and linker flags are Debian's (dpkg-buildflags: hardening,
# -ffile-prefix-map, so no build path is left in the binaries); the time
# stamps are the last commit's (SOURCE_DATE_EPOCH), so a rebuild of the same
# commit gives the same files. Does not install anything on this machine:
# tests/integration/test_package.sh checks the package without dpkg -i.
set -euo pipefail
cd "$(dirname "$0")/.."

build='build-pkg'
lintian=0
while [ $# -gt 0 ]; do
	case "$1" in
	--build-dir)
		[ $# -ge 2 ] || { echo "package.sh: --build-dir needs a directory" >&2; exit 64; }
		build=$2
		shift
		;;
	--lintian) lintian=1 ;;
	-h | --help)
		sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "package.sh: unknown argument \"$1\" (see --help)" >&2
		exit 64
		;;
	esac
	shift
done

# file: CPack's Depends step (dpkg-shlibdeps) finds the ELF files with it
for tool in cmake cpack dpkg-buildflags dpkg-shlibdeps dpkg-deb gzip file; do
	command -v "$tool" >/dev/null || {
		echo "package.sh: error: $tool is missing: run scripts/deps.sh (cmake, build-essential/dpkg-dev, file)" >&2
		exit 2
	}
done

if [ -z "${SOURCE_DATE_EPOCH:-}" ] && git rev-parse --git-dir >/dev/null 2>&1; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || true)
	[ -n "$SOURCE_DATE_EPOCH" ] && export SOURCE_DATE_EPOCH
fi

# Debian's build flags (the hardening lintian checks for); CMake reads CFLAGS
# and LDFLAGS on the first configure of a tree, so they are passed explicitly.
export DEB_BUILD_MAINT_OPTIONS=${DEB_BUILD_MAINT_OPTIONS:-hardening=+all}
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr -DXORB_DEB=ON \
	-DBUILD_TESTING=OFF -DXORB_WERROR=ON -DXORB_SANITIZE=OFF -DXORB_FUZZ=OFF \
	"-DCMAKE_C_FLAGS=$cflags" "-DCMAKE_EXE_LINKER_FLAGS=$ldflags" \
	"-DCMAKE_MODULE_LINKER_FLAGS=$ldflags" "-DCMAKE_SHARED_LINKER_FLAGS=$ldflags" >/dev/null
cmake --build "$build" -j"$jobs" >/dev/null

rm -rf "$build/package"
(cd "$build" && cpack -G DEB >cpack.log 2>&1) || {
	cat "$build/cpack.log" >&2
	echo "package.sh: error: cpack failed (log above: $build/cpack.log)" >&2
	exit 2
}
deb=$(find "$build/package" -maxdepth 1 -name 'xorb-dr_*.deb' | head -n1)
[ -n "$deb" ] || { echo "package.sh: error: cpack made no xorb-dr_*.deb in $build/package" >&2; exit 2; }

if [ "$lintian" = 1 ]; then
	command -v lintian >/dev/null || { echo "package.sh: error: lintian is not installed (apt-get install lintian)" >&2; exit 2; }
	echo "== lintian $(lintian --version | awk '{ print $2 }') $deb" >&2
	lintian --info --display-info --pedantic "$deb" >&2 || true
fi
echo "$deb"
