# libimgpipe.so beside libimgpipe.a, imgpipe.pc, and what `cmake --install` puts where:
#   bin/imgpipe, lib/libimgpipe.{so*,a}, lib/pkgconfig/imgpipe.pc, include/imgpipe.h,
#   share/man/man1/imgpipe.1, share/bash-completion/completions/imgpipe.
# Included last from the top-level CMakeLists.txt, so it sees every dependency that was
# linked to imgpipe_static, wherever that happened.
include(GNUInstallDirs)

# The shared library is made of the static library's objects (compiled with -fPIC), and
# links what the static one declares: a dependency added to imgpipe_static is a dependency
# of both. Its exports are exactly the functions include/imgpipe.h declares, by a version
# script that cmake/exports.cmake writes from the header at build time (not by visibility
# attributes), so a new declaration is exported without a macro and internal imgpipe_*
# functions, which the CLI and tests reach through the static library, stay hidden.
set(IMGPIPE_VERSION_SCRIPT ${PROJECT_BINARY_DIR}/libimgpipe.map)
add_custom_command(OUTPUT ${IMGPIPE_VERSION_SCRIPT}
  COMMAND ${CMAKE_COMMAND} -DHEADER=${PROJECT_SOURCE_DIR}/include/imgpipe.h
          -DOUT=${IMGPIPE_VERSION_SCRIPT} -P ${PROJECT_SOURCE_DIR}/cmake/exports.cmake
  DEPENDS ${PROJECT_SOURCE_DIR}/include/imgpipe.h ${PROJECT_SOURCE_DIR}/cmake/exports.cmake
  COMMENT "Writing libimgpipe.map from include/imgpipe.h"
  VERBATIM)
add_custom_target(imgpipe_exports DEPENDS ${IMGPIPE_VERSION_SCRIPT})
add_library(imgpipe_shared SHARED $<TARGET_OBJECTS:imgpipe_static>)
add_dependencies(imgpipe_shared imgpipe_exports)
set_target_properties(imgpipe_shared PROPERTIES
  OUTPUT_NAME imgpipe
  VERSION ${PROJECT_VERSION}
  SOVERSION 0
  LINK_DEPENDS ${IMGPIPE_VERSION_SCRIPT})
target_include_directories(imgpipe_shared PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(imgpipe_shared PRIVATE
  $<TARGET_PROPERTY:imgpipe_static,INTERFACE_LINK_LIBRARIES>)
target_link_options(imgpipe_shared PRIVATE -Wl,--version-script=${IMGPIPE_VERSION_SCRIPT})

# imgpipe.pc: Requires.private is every pkg-config module linked to imgpipe_static
# (PkgConfig::<PREFIX> from pkg_check_modules(<PREFIX> ... IMPORTED_TARGET <module>)), so a
# new dependency is one pkg_check_modules line plus its name in target_link_libraries;
# other libraries linked by name or as Threads::Threads go to Libs.private.
get_target_property(_imgpipe_links imgpipe_static LINK_LIBRARIES)
set(IMGPIPE_PC_MODULES)
set(IMGPIPE_PC_LIBS)
foreach(_lib IN LISTS _imgpipe_links)
  if(_lib MATCHES "^PkgConfig::(.+)$")
    set(_prefix ${CMAKE_MATCH_1})
    if(NOT ${_prefix}_MODULE_NAME)
      message(FATAL_ERROR "imgpipe.pc: no pkg-config module name for ${_lib}")
    endif()
    list(APPEND IMGPIPE_PC_MODULES ${${_prefix}_MODULE_NAME})
  elseif(_lib STREQUAL "Threads::Threads")
    list(APPEND IMGPIPE_PC_LIBS -lpthread)
  elseif(_lib MATCHES "^[A-Za-z0-9_+-]+$" AND NOT TARGET ${_lib})
    list(APPEND IMGPIPE_PC_LIBS -l${_lib})
  elseif(IS_ABSOLUTE "${_lib}" AND _lib MATCHES "/lib([A-Za-z0-9_+-]+)\\.(so|a)[.0-9]*$")
    list(APPEND IMGPIPE_PC_LIBS -l${CMAKE_MATCH_1}) # found by find_library (giflib)
  else()
    message(FATAL_ERROR "imgpipe.pc: do not know how to list ${_lib} in imgpipe.pc.in")
  endif()
endforeach()
list(REMOVE_DUPLICATES IMGPIPE_PC_MODULES)
list(REMOVE_DUPLICATES IMGPIPE_PC_LIBS)
list(JOIN IMGPIPE_PC_MODULES " " IMGPIPE_PC_REQUIRES_PRIVATE)
list(JOIN IMGPIPE_PC_LIBS " " IMGPIPE_PC_LIBS_PRIVATE)

# Relocatable: prefix is found from the .pc file's own place (${pcfiledir}), so
# `cmake --install build --prefix P` gives a working P/lib/pkgconfig/imgpipe.pc for any P.
set(IMGPIPE_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${IMGPIPE_PC_DIR}")
  message(FATAL_ERROR "imgpipe.pc: CMAKE_INSTALL_LIBDIR must be relative to the prefix")
endif()
file(RELATIVE_PATH IMGPIPE_PC_PREFIX_FROM_PCDIR /p/${IMGPIPE_PC_DIR} /p)
string(REGEX REPLACE "/$" "" IMGPIPE_PC_PREFIX_FROM_PCDIR "${IMGPIPE_PC_PREFIX_FROM_PCDIR}")
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(IMGPIPE_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(IMGPIPE_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/imgpipe.pc.in ${PROJECT_BINARY_DIR}/imgpipe.pc @ONLY)

install(TARGETS imgpipe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS imgpipe_shared imgpipe_static
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/imgpipe.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/imgpipe.pc DESTINATION ${IMGPIPE_PC_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/imgpipe.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/completion/imgpipe.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME imgpipe)
