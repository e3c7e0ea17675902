# Runs at install time (install(CODE) in packaging/deb.cmake), after the
# programs and plugins were installed and, when CMAKE_INSTALL_DO_STRIP is set
# (cpack with CPACK_STRIP_FILES, cmake --install --strip), stripped: removes
# what dh_strip also removes, the compilers' .comment and .note sections.
# Input: XORB_STRIP_FILES (paths relative to the prefix), XORB_OBJCOPY.
if(NOT CMAKE_INSTALL_DO_STRIP)
  return()
endif()
foreach(f ${XORB_STRIP_FILES})
  set(path "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${f}")
  execute_process(COMMAND "${XORB_OBJCOPY}" --remove-section=.comment --remove-section=.note "${path}"
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${XORB_OBJCOPY} --remove-section=.comment --remove-section=.note ${path} failed")
  endif()
endforeach()
