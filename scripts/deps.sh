#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and the demo need,
# on Debian 12 (bookworm) or 13 (trixie).
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

# The release decides the names of the clang toolchain packages: the fuzz
# build (scripts/fuzz.sh) needs clang, its runtime libraries (libFuzzer,
# ASan, UBSan: libclang-rt-N-dev) of the SAME version as that clang, and
# llvm-symbolizer for readable stacks. Debian 12's clang is 14 (we keep the
# versioned names its machines already have); Debian 13's is 19 and
# libclang-rt-14-dev/llvm-14 do not exist there: the unversioned names of
# clang-defaults (clang, libclang-rt-dev, llvm) pull the release's own
# version, which also installs /usr/bin/llvm-symbolizer.
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
version=$(. /etc/os-release 2>/dev/null && echo "${VERSION_ID:-}")
case "$codename" in
bookworm) TOOLCHAIN=(clang libclang-rt-14-dev llvm-14) ;;
trixie) TOOLCHAIN=(clang libclang-rt-dev llvm) ;;
*)
	echo "deps.sh: warning: /etc/os-release says ${codename:-no codename} ${version:+(VERSION_ID $version)}:" \
		"only Debian 12 (bookworm) and 13 (trixie) are supported; trying the package names of 13" >&2
	TOOLCHAIN=(clang libclang-rt-dev llvm)
	;;
esac

PKGS=(
	build-essential cmake pkg-config
	libnats-dev libarchive-dev libzstd-dev libcjson-dev libcurl4-openssl-dev libssl-dev libexpat1-dev
	libcmocka-dev
	"${TOOLCHAIN[@]}"
	nats-server zstd openssl python3
	# tests/unit/test_age.c: interoperability with age; zlib for the compressed C2SP test vectors
	age zlib1g-dev
	prometheus systemd bsdutils util-linux valgrind bc
	swift swift-proxy swift-account swift-container swift-object python3-swift memcached awscli
	debootstrap
	# scripts/package.sh: CPack's dpkg-shlibdeps step needs file; package/test_package
	# renders the man pages with man --warnings
	file man-db
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}; run as root or install them with apt-get" >&2
	exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
