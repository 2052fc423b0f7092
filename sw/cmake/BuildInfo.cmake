# Build identity stamped into the cosim server (GIT_HASH, BUILD_DATE, BOARD_ID registers).
# Regenerated on every build, rewritten only when it changed, so a new commit relinks the
# server but never re-verilates the model: identity reaches kvcpu_core through input ports.
set(KVCPU_BUILD_INFO_CC ${CMAKE_BINARY_DIR}/generated/kvcpu_build_info.cc)
add_custom_target(kvcpu_build_info_gen
  COMMAND ${CMAKE_COMMAND} -DOUT=${KVCPU_BUILD_INFO_CC} -DSRC_DIR=${CMAKE_SOURCE_DIR}
          -P ${CMAKE_SOURCE_DIR}/sw/cmake/BuildInfoGen.cmake
  BYPRODUCTS ${KVCPU_BUILD_INFO_CC}
  COMMENT "Stamping build identity")
add_library(kvcpu_build_info STATIC ${KVCPU_BUILD_INFO_CC})
add_dependencies(kvcpu_build_info kvcpu_build_info_gen)
target_include_directories(kvcpu_build_info PUBLIC ${CMAKE_SOURCE_DIR}/sw/cmake)
