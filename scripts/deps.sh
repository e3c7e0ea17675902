#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and the demo need.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

PKGS=(
	build-essential cmake pkg-config
	libnats-dev libarchive-dev libzstd-dev libcjson-dev libcurl4-openssl-dev libssl-dev
	libcmocka-dev
	clang libclang-rt-14-dev llvm-14
	nats-server zstd openssl python3
	prometheus systemd bsdutils util-linux valgrind bc
	swift swift-proxy swift-account swift-container swift-object python3-swift memcached awscli
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
