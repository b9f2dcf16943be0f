# Writes libimgpipe.so's version script from the public header, so that the library exports
# exactly the functions include/imgpipe.h declares and nothing else: a declaration added to
# the header is exported on the next build, and an internal imgpipe_* function is not.
#   cmake -DHEADER=include/imgpipe.h -DOUT=build/libimgpipe.map -P cmake/exports.cmake
# A function's name is an imgpipe_* identifier followed by '(' outside comments and
# preprocessor lines (function-pointer typedefs, "(*imgpipe_x_cb)(", are not matched: ')'
# follows the name). Compiler-independent, as the fuzz build uses clang.
if(NOT HEADER OR NOT OUT)
  message(FATAL_ERROR "exports.cmake: set HEADER and OUT")
endif()
file(READ ${HEADER} text)
string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" " " text "${text}")
string(REGEX REPLACE "//[^\n]*" " " text "${text}")
string(REGEX REPLACE "(^|\n)[ \t]*#([^\n]*\\\\\n)*[^\n]*" "\n" text "${text}")
string(REGEX MATCHALL "imgpipe_[A-Za-z0-9_]*[ \t\n]*\\(" calls "${text}")
set(names)
foreach(call IN LISTS calls)
  string(REGEX REPLACE "[ \t\n]*\\($" "" name "${call}")
  list(APPEND names ${name})
endforeach()
list(REMOVE_DUPLICATES names)
list(SORT names)
list(LENGTH names count)
if(count EQUAL 0)
  message(FATAL_ERROR "exports.cmake: no function declarations found in ${HEADER}")
endif()
set(script "/* Generated from include/imgpipe.h by cmake/exports.cmake; do not edit. */\n{\n  global:\n")
foreach(name IN LISTS names)
  string(APPEND script "    ${name};\n")
endforeach()
string(APPEND script "  local: *;\n};\n")
# Rewritten only when it changes, so an unrelated edit of the header does not relink.
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${script}")
  file(WRITE ${OUT} "${script}")
endif()
