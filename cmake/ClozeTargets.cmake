# Flags and helpers shared by every cloze target.

# Warnings are errors for our own code; LibTorch and the other libraries come
# from system include paths and are not checked.
# GCC 13 at -O3 reports -Warray-bounds and -Wmaybe-uninitialized inside
# libstdc++'s vector and optional once LibTorch's inline code is inlined into
# ours (false positives, GCC bugs 107852 and 80635): they stay warnings there.
function(cloze_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter
                         $<$<BOOL:${CLOZE_WERROR}>:-Werror>)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 13)
    target_compile_options(${target} PRIVATE -Wno-error=array-bounds -Wno-error=maybe-uninitialized)
  endif()
  # The automatic <target>_EXPORTS definition would differ between targets and
  # invalidate the shared precompiled header.
  set_target_properties(${target} PROPERTIES DEFINE_SYMBOL "")
endfunction()

# Reuse the framework's precompiled header (LibTorch's heavy headers). GCC
# accepts it only with the flags it was built with, so executables are compiled
# -fPIC (not -fPIE) like the libraries.
function(cloze_use_pch target)
  target_precompile_headers(${target} REUSE_FROM cloze_pch)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
endfunction()

include(ClozePlugin)

# What cloze_add_plugin adds to the plugins shipped in this tree: our warnings,
# the shared precompiled header, a place in the cloze_plugins target, and
# installation beside libcloze. Installed, a plugin finds the libraries it
# links beside libcloze (libcloze_pictures) through its run path.
function(cloze_ship_plugin name)
  cloze_warnings(${name})
  cloze_use_pch(${name})
  add_dependencies(cloze_plugins ${name})
  file(RELATIVE_PATH plugin_to_lib ${CMAKE_INSTALL_PREFIX}/${CLOZE_INSTALL_PLUGIN_DIR} ${CMAKE_INSTALL_FULL_LIBDIR})
  set_target_properties(${name} PROPERTIES INSTALL_RPATH "$ORIGIN/${plugin_to_lib}")
  install(TARGETS ${name} LIBRARY DESTINATION ${CLOZE_INSTALL_PLUGIN_DIR})
endfunction()
