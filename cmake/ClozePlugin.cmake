# cloze_add_plugin(NAME SOURCES a.cpp ... [LIBRARIES lib ...])
#
# Builds a corruption or modality plugin as lib<NAME>.so in
# CLOZE_PLUGIN_OUTPUT_DIR (default: <build>/plugins), the folder to name in
# CLOZE_PLUGIN_PATH. The same function builds the shipped plugins in cloze's
# tree and, installed with cloze's CMake package, a plugin out of tree:
#
#   find_package(cloze REQUIRED)
#   cloze_add_plugin(window_shuffle SOURCES window_shuffle.cpp)
if(NOT DEFINED CLOZE_PLUGIN_OUTPUT_DIR)
  set(CLOZE_PLUGIN_OUTPUT_DIR ${CMAKE_BINARY_DIR}/plugins)
endif()

function(cloze_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE cloze::cloze ${ARG_LIBRARIES})
  target_compile_features(${name} PRIVATE cxx_std_17)
  set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CLOZE_PLUGIN_OUTPUT_DIR})
  # cloze's own tree adds its warnings, precompiled header and install rule.
  if(COMMAND cloze_ship_plugin)
    cloze_ship_plugin(${name})
  endif()
endfunction()
