# Runs at install time (install(CODE) in packaging/install.cmake), so that
# CMAKE_INSTALL_PREFIX is the prefix really installed to: the configured one,
# cmake --install --prefix DIR, or CPack's /usr. DESTDIR is added by
# file(INSTALL) and never written into a file.
#
# The files in schedules/ are written for the default prefix /usr/local (and
# integration/test_operations runs them as they are). Here their /usr/local
# paths become the prefix's:
#   /usr/local/lib/xorb-dr/xorb-scheduled   -> <prefix>/lib/xorb-dr/xorb-scheduled
#   file:///usr/local/share/doc/xorb-dr/    -> file://<prefix>/share/doc/xorb-dr/
#   /usr/local/bin (XORB_BIN_DIR, PATH)     -> <prefix>/bin
# and any other /usr/local path fails the install, naming the file (a path
# added to schedules/ that this script does not know yet).
#
# Input (set by the install(CODE) snippet): XORB_SCHED_SRC, XORB_SCHED_TMP,
# XORB_SCHED_UNITS, XORB_SCHED_EXAMPLES, XORB_SCHED_BINDIR, XORB_SCHED_DOCDIR,
# XORB_SCHED_LIBEXECDIR, XORB_SCHED_UNITDIR (relative to the prefix unless
# absolute), XORB_SCHED_CONFIG (install <sysconfdir>/xorb/xorb.env).

set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "(.)/+$" "\\1" prefix "${prefix}")

function(xorb_sched_under out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
xorb_sched_under(bindir "${XORB_SCHED_BINDIR}")
xorb_sched_under(docdir "${XORB_SCHED_DOCDIR}")
xorb_sched_under(libexecdir "${XORB_SCHED_LIBEXECDIR}")
xorb_sched_under(unitdir "${XORB_SCHED_UNITDIR}")
if(bindir STREQUAL "/usr/bin" OR bindir STREQUAL "/bin")
  set(cron_path "/usr/bin:/bin")
else()
  set(cron_path "${bindir}:/usr/bin:/bin")
endif()

# Writes XORB_SCHED_TMP/<name> from XORB_SCHED_SRC/<name> with this prefix's paths.
function(xorb_sched_rewrite name)
  file(READ "${XORB_SCHED_SRC}/${name}" text)
  # known paths to markers first, so that the check sees only unknown ones
  string(REPLACE "/usr/local/lib/xorb-dr/xorb-scheduled" "@@LIBEXEC@@/xorb-scheduled" text "${text}")
  string(REPLACE "file:///usr/local/share/doc/xorb-dr/" "file://@@DOC@@/" text "${text}")
  string(REPLACE "XORB_BIN_DIR=/usr/local/bin" "XORB_BIN_DIR=@@BIN@@" text "${text}")
  string(REPLACE "XORB_BIN_DIR:-/usr/local/bin" "XORB_BIN_DIR:-@@BIN@@" text "${text}")
  string(REPLACE "PATH=/usr/local/bin:/usr/bin:/bin" "PATH=@@PATH@@" text "${text}")
  if(text MATCHES "/usr/local")
    message(FATAL_ERROR "schedules/${name} holds a /usr/local path that packaging/schedules.cmake "
      "does not rewrite for the installed prefix: add it there")
  endif()
  string(REPLACE "@@LIBEXEC@@" "${libexecdir}" text "${text}")
  string(REPLACE "@@DOC@@" "${docdir}" text "${text}")
  string(REPLACE "@@BIN@@" "${bindir}" text "${text}")
  string(REPLACE "@@PATH@@" "${cron_path}" text "${text}")
  file(MAKE_DIRECTORY "${XORB_SCHED_TMP}")
  file(WRITE "${XORB_SCHED_TMP}/${name}" "${text}")
endfunction()

set(units)
foreach(f ${XORB_SCHED_UNITS})
  xorb_sched_rewrite(${f})
  list(APPEND units "${XORB_SCHED_TMP}/${f}")
endforeach()
set(examples)
foreach(f ${XORB_SCHED_EXAMPLES})
  xorb_sched_rewrite(${f})
  list(APPEND examples "${XORB_SCHED_TMP}/${f}")
endforeach()
xorb_sched_rewrite(xorb-scheduled)

file(INSTALL ${units} DESTINATION "${unitdir}"
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL ${examples} DESTINATION "${docdir}/examples"
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL "${XORB_SCHED_TMP}/xorb-scheduled" DESTINATION "${libexecdir}"
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
# <sysconfdir>/xorb/xorb.env (XORB_DEB): only into a staging tree (DESTDIR: cpack,
# or by hand), where it becomes the package's conffile. Installed straight onto a
# system it would overwrite the settings made there, so it is not: the example
# is in <docdir>/examples. /etc for the prefix /usr, else <prefix>/etc.
if(XORB_SCHED_CONFIG)
  if(prefix STREQUAL "/usr")
    set(sysconfdir /etc)
  else()
    set(sysconfdir "${prefix}/etc")
  endif()
  if("$ENV{DESTDIR}" STREQUAL "")
    message(STATUS "Not installing ${sysconfdir}/xorb/xorb.env: no DESTDIR (a system keeps its own "
      "settings; the example is ${docdir}/examples/xorb.env)")
  else()
    # it may hold secrets (NATS and S3 credentials): 0600 root in the package; its
    # postinst makes it 0640 root:xorb once the user xorb exists (schedules/README.md)
    file(INSTALL "${XORB_SCHED_TMP}/xorb.env" DESTINATION "${sysconfdir}/xorb"
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE)
  endif()
endif()
