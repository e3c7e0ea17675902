# The Debian package, made by CPack's DEB generator from the install rules
# (scripts/package.sh configures a tree for it and runs cpack).
#
# Why CPack and not dpkg-buildpackage/debhelper: the package's layout is the
# one `cmake --install` makes, from the same install rules, so the two cannot
# drift apart and the tests of one test the other; the version is the
# project() version, with no debian/changelog to keep in step; and it needs no
# package beyond what the build already installs (dpkg-dev comes with
# build-essential), so ctest builds and checks it in well under a minute on a
# fresh Debian 12. What debhelper would add by itself is done here: Depends
# from dpkg-shlibdeps, stripped binaries, md5sums, conffiles, a Debian
# changelog and copyright, maintainer scripts that reload systemd, and
# Debian's hardening flags (scripts/package.sh takes them from
# dpkg-buildflags). The package is built on, and for, one Debian release: its
# Depends name that release's libraries (libnats3.4 on Debian 12, libnats3.10
# on 13), so the Debian revision names it: 0.1.0-1~deb12.

set(XORB_DEB_MAINTAINER "Seed 9ca78c39 maintainers <maintainers@users.noreply.r-seed-9ca78c39.example>"
  CACHE STRING "Maintainer field of the Debian package")
set(XORB_DEB_REVISION "1" CACHE STRING "Debian revision of the package (before ~debN)")

# The Debian release built on: ~deb12, ~deb13 (none elsewhere).
set(XORB_DEB_DIST "")
set(XORB_DEB_CODENAME "unstable")
if(EXISTS /etc/os-release)
  file(STRINGS /etc/os-release os_release REGEX "^(ID|VERSION_ID|VERSION_CODENAME)=")
  foreach(line ${os_release})
    if(line MATCHES "^ID=\"?([a-z]+)\"?$")
      set(os_id ${CMAKE_MATCH_1})
    elseif(line MATCHES "^VERSION_ID=\"?([0-9]+)\"?$")
      set(os_version ${CMAKE_MATCH_1})
    elseif(line MATCHES "^VERSION_CODENAME=\"?([a-z]+)\"?$")
      set(XORB_DEB_CODENAME ${CMAKE_MATCH_1})
    endif()
  endforeach()
  if(os_id STREQUAL "debian" AND os_version)
    set(XORB_DEB_DIST "~deb${os_version}")
  endif()
endif()

set(XORB_DEB_VERSION "${PROJECT_VERSION}-${XORB_DEB_REVISION}${XORB_DEB_DIST}")

# Control files: maintainer scripts, conffiles, and what goes into
# /usr/share/doc/xorb-dr besides README.md.
set(XORB_DEB_DIR ${CMAKE_BINARY_DIR}/deb)
file(MAKE_DIRECTORY ${XORB_DEB_DIR}/control)
foreach(script postinst prerm postrm)
  file(COPY ${CMAKE_SOURCE_DIR}/packaging/deb/${script} DESTINATION ${XORB_DEB_DIR}/control
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(XORB_DEB_CONTROL_EXTRA ${XORB_DEB_DIR}/control/postinst ${XORB_DEB_DIR}/control/prerm
  ${XORB_DEB_DIR}/control/postrm)
if(XORB_DEB)
  file(WRITE ${XORB_DEB_DIR}/control/conffiles "/etc/xorb/xorb.env\n")
  list(APPEND XORB_DEB_CONTROL_EXTRA ${XORB_DEB_DIR}/control/conffiles)
endif()

# changelog.Debian.gz: one entry for this build, dated by SOURCE_DATE_EPOCH
# when set (scripts/package.sh sets it to the commit's time: reproducible).
if(XORB_DEB)
  string(TIMESTAMP XORB_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
  configure_file(${CMAKE_SOURCE_DIR}/packaging/deb/changelog.in ${XORB_DEB_DIR}/changelog.Debian @ONLY)
  add_custom_command(OUTPUT ${XORB_DEB_DIR}/changelog.Debian.gz
    COMMAND gzip -9 -n -c ${XORB_DEB_DIR}/changelog.Debian > ${XORB_DEB_DIR}/changelog.Debian.gz
    DEPENDS ${XORB_DEB_DIR}/changelog.Debian VERBATIM)
  add_custom_target(deb-changelog ALL DEPENDS ${XORB_DEB_DIR}/changelog.Debian.gz)
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/deb/copyright ${XORB_DEB_DIR}/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DOCDIR})
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/deb/lintian-overrides
    DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME xorb-dr)
endif()

# What dh_strip also removes: the compilers' .comment and .note sections (on
# top of CPack's strip, when it strips: CPACK_STRIP_FILES).
if(XORB_DEB)
  set(strip_files)
  foreach(cmd ${XORB_COMMANDS})
    list(APPEND strip_files "${CMAKE_INSTALL_BINDIR}/${cmd}")
  endforeach()
  foreach(p ${XORB_PLUGINS})
    list(APPEND strip_files "${XORB_PLUGIN_INSTALL_LIBDIR}/${p}.so")
  endforeach()
  install(CODE "
set(XORB_STRIP_FILES [[${strip_files}]])
set(XORB_OBJCOPY [[${CMAKE_OBJCOPY}]])
include([[${CMAKE_SOURCE_DIR}/packaging/deb-strip.cmake]])
")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME xorb-dr)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE "${XORB_DEB_REVISION}${XORB_DEB_DIST}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # xorb-dr_0.1.0-1~deb12_amd64.deb
set(CPACK_PACKAGE_CONTACT "${XORB_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${XORB_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "backup and restore of NATS JetStream tenants")
# The extended description (CPack puts the summary first and indents each line).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "xorb-dr backs up, verifies, restores and prunes the JetStream streams of
XORB's tenants (one NATS account per tenant), consumers included, through the
server's snapshot and restore APIs, into a file or S3 store; and keeps the
tenants' NATS accounts as code.
.
Commands: xorb-backup, xorb-restore, xorb-verify, xorb-prune, xorb-state,
xorb-subject-lint. Systemd timers and a cron example run scheduled backups
(disabled until enabled; settings in /etc/xorb/xorb.env).")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: the shared libraries the programs and plugins link (dpkg-shlibdeps);
# xorb-scheduled also needs flock (util-linux) and logger (bsdutils), both
# Essential on Debian 12 and 13.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nats-server, prometheus-node-exporter")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${XORB_DEB_CONTROL_EXTRA})
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES TRUE)
# Installed with DESTDIR into the staging tree, so that the absolute
# destination /etc/xorb lands in the package, and with the prefix /usr, which
# the install-time rewriting of the schedules (packaging/schedules.cmake) sees.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
# Refuses, at cpack time, a tree configured for another prefix (its compiled-in
# plugin directory and man pages would name that prefix) or without XORB_DEB.
set(XORB_DEB_CONFIGURED_PREFIX "${CMAKE_INSTALL_PREFIX}")
if(XORB_DEB)
  set(XORB_DEB_CONFIGURED_FOR_DEB yes)
else()
  set(XORB_DEB_CONFIGURED_FOR_DEB no)
endif()
configure_file(${CMAKE_SOURCE_DIR}/packaging/deb/CPackProjectConfig.cmake.in
  ${XORB_DEB_DIR}/CPackProjectConfig.cmake @ONLY)
set(CPACK_PROJECT_CONFIG_FILE ${XORB_DEB_DIR}/CPackProjectConfig.cmake)
# no source package
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
