# Install rules besides the programs and plugins (CMakeLists.txt): the
# schedules, documentation, man pages and bash completion. Included from the
# top-level CMakeLists.txt, after GNUInstallDirs.
#
# Layout, for any prefix (the Debian package: /usr):
#   <prefix>/bin/xorb-*                                  the commands
#   <prefix>/<libdir>/xorb-dr/plugins/xorb-storage-*.so  storage plugins (CMakeLists.txt)
#   <prefix>/lib/xorb-dr/xorb-scheduled                  the wrapper the schedules run
#   <prefix>/lib/systemd/system/xorb-backup*.{service,timer}   (XORB_SYSTEMD_UNITDIR)
#   <prefix>/lib/sysusers.d/xorb-dr.conf                 the system user xorb
#   <prefix>/share/doc/xorb-dr/README.md
#   <prefix>/share/doc/xorb-dr/examples/                 xorb.env, xorb-backup.cron, alert rules
#   <prefix>/share/man/man1/xorb-*.1.gz
#   <prefix>/share/bash-completion/completions/xorb-*
# and with -DXORB_DEB=ON (scripts/package.sh, for the Debian package: deb.cmake)
#   /etc/xorb/xorb.env   a conffile: dpkg keeps an edited copy. Only installed
#                        into a staging tree (DESTDIR, as cpack does): cmake
#                        --install never writes a system's /etc
#   <prefix>/share/doc/xorb-dr/copyright, changelog.Debian.gz
#   <prefix>/share/lintian/overrides/xorb-dr

option(XORB_DEB "Configure for the Debian package (scripts/package.sh): also install /etc/xorb/xorb.env, the Debian copyright and changelog" OFF)
# Relative to the prefix unless absolute. <prefix>/lib/systemd/system is on
# systemd's unit path for /usr and /usr/local.
set(XORB_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
  "where the systemd units go (relative to the prefix unless absolute)")

# --- schedules ----------------------------------------------------------------
# The files in schedules/ are written for the default prefix, /usr/local, and
# integration/test_operations runs them as they are. What gets installed is
# rewritten AT INSTALL TIME for the prefix installed to (configured, or
# cmake --install --prefix, or CPack's /usr): packaging/schedules.cmake.
set(XORB_SCHEDULE_UNITS xorb-backup@.service xorb-backup@.timer xorb-backup-all.service
  xorb-backup-all.timer)
set(XORB_SCHEDULE_EXAMPLES xorb.env xorb-backup.cron xorb-alerts.rules.yml xorb-alerts.test.yml)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/packaging/schedules.cmake)
# the system user the schedules run as (sysusers.d(5); the package's postinst
# runs systemd-sysusers on it)
install(FILES ${CMAKE_SOURCE_DIR}/schedules/xorb-sysusers.conf DESTINATION lib/sysusers.d
  RENAME xorb-dr.conf PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(CODE "
set(XORB_SCHED_SRC [[${CMAKE_SOURCE_DIR}/schedules]])
set(XORB_SCHED_TMP [[${CMAKE_BINARY_DIR}/schedules-install]])
set(XORB_SCHED_UNITS [[${XORB_SCHEDULE_UNITS}]])
set(XORB_SCHED_EXAMPLES [[${XORB_SCHEDULE_EXAMPLES}]])
set(XORB_SCHED_BINDIR [[${CMAKE_INSTALL_BINDIR}]])
set(XORB_SCHED_DOCDIR [[${CMAKE_INSTALL_DOCDIR}]])
set(XORB_SCHED_LIBEXECDIR [[${XORB_LIBEXEC_DIR}]])
set(XORB_SCHED_UNITDIR [[${XORB_SYSTEMD_UNITDIR}]])
set(XORB_SCHED_CONFIG [[${XORB_DEB}]])
include([[${CMAKE_SOURCE_DIR}/packaging/schedules.cmake]])
")

# --- documentation ------------------------------------------------------------
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/schedules/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# --- man pages ----------------------------------------------------------------
# Hand-written troff (docs/man/*.1.in: the version and the configured paths
# are filled in), gzipped with -n (no name, no time stamp: reproducible).
# tests/integration/test_package.sh checks that each page documents exactly
# the options its program's --help shows.
# Shared sections (docs/man/*.inc) go in where a page says @XORB_MAN_COMMON_OPTIONS@,
# @XORB_MAN_EXIT_STATUS@, @XORB_MAN_ENVIRONMENT@ or @XORB_MAN_FILES@.
set(XORB_MAN_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
set(XORB_MAN_PLUGINDIR ${XORB_PLUGIN_INSTALL_FULLDIR})
set(XORB_MAN_LIBEXECDIR ${XORB_LIBEXEC_FULLDIR})
set(XORB_MAN_DOCDIR ${CMAKE_INSTALL_FULL_DOCDIR})
foreach(inc common-options exit-status environment files)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/${inc}.inc)
  file(READ ${CMAKE_SOURCE_DIR}/docs/man/${inc}.inc text)
  string(CONFIGURE "${text}" text @ONLY)
  string(STRIP "${text}" text)
  string(TOUPPER "${inc}" var)
  string(REPLACE "-" "_" var "${var}")
  set(XORB_MAN_${var} "${text}")
endforeach()
set(XORB_MAN_PAGES)
foreach(cmd ${XORB_COMMANDS})
  set(page ${CMAKE_BINARY_DIR}/man/${cmd}.1)
  configure_file(${CMAKE_SOURCE_DIR}/docs/man/${cmd}.1.in ${page} @ONLY)
  add_custom_command(OUTPUT ${page}.gz
    COMMAND gzip -9 -n -c ${page} > ${page}.gz
    DEPENDS ${page} VERBATIM)
  list(APPEND XORB_MAN_PAGES ${page}.gz)
endforeach()
add_custom_target(man-pages ALL DEPENDS ${XORB_MAN_PAGES})
install(FILES ${XORB_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# --- bash completion ----------------------------------------------------------
# One file for every command, installed under the first command's name;
# bash-completion loads completions/<command>, so the others are symlinks.
set(XORB_COMPLETION_DIR ${CMAKE_BINARY_DIR}/bash-completion)
file(MAKE_DIRECTORY ${XORB_COMPLETION_DIR})
configure_file(${CMAKE_SOURCE_DIR}/packaging/bash-completion/xorb-dr ${XORB_COMPLETION_DIR}/xorb-backup COPYONLY)
set(XORB_COMPLETION_FILES ${XORB_COMPLETION_DIR}/xorb-backup)
foreach(cmd ${XORB_COMMANDS})
  if(NOT cmd STREQUAL "xorb-backup")
    file(CREATE_LINK xorb-backup ${XORB_COMPLETION_DIR}/${cmd} SYMBOLIC)
    list(APPEND XORB_COMPLETION_FILES ${XORB_COMPLETION_DIR}/${cmd})
  endif()
endforeach()
install(FILES ${XORB_COMPLETION_FILES} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
