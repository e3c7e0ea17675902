# shellcheck shell=bash
# Sourced, not run: the Debian mirror this system's apt is already configured
# with, so that scripts fetching Debian packages for other suites (or building
# a Debian root) use the same mirror and never name one themselves.
#
#   xorb_debian_mirror [ARCHIVE]   prints the first URI whose path ends in
#                                  /ARCHIVE (default "debian"; "debian-security"
#                                  for the security archive), without a trailing
#                                  slash; returns 1 when none is configured.
#
# Reads deb822 sources (/etc/apt/sources.list.d/*.sources, "URIs:") first, then
# one-line sources (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list,
# "deb [options] URI suite ..."). $XORB_APT_ETC replaces /etc/apt (tests).
xorb_debian_mirror() {
	local archive=${1:-debian} etc=${XORB_APT_ETC:-/etc/apt} f uri
	for f in "$etc"/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" |
			grep -E "/$archive/?\$" | head -n1 || true)
		[ -n "$uri" ] && { echo "${uri%/}"; return 0; }
	done
	for f in "$etc"/sources.list "$etc"/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' "$f" |
			grep -E "/$archive/?\$" | head -n1 || true)
		[ -n "$uri" ] && { echo "${uri%/}"; return 0; }
	done
	return 1
}
