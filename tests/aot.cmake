# Ahead-of-time test of the CPU backend: at build time dlc_aot_gen (tests/aot/gen.c) builds a
# loop function and emits aot_model.o + aot_model.h; aot_app (tests/aot/app.c), a plain C
# program, includes the header, links the object with libdlc_runtime.a only, and checks the
# model's outputs when ctest runs it.
set(DLC_AOT_DIR ${CMAKE_CURRENT_BINARY_DIR}/aot)
file(MAKE_DIRECTORY ${DLC_AOT_DIR})
add_executable(dlc_aot_gen ${CMAKE_CURRENT_LIST_DIR}/aot/gen.c)
target_link_libraries(dlc_aot_gen PRIVATE dlc_backends)
add_custom_command(
  OUTPUT ${DLC_AOT_DIR}/aot_model.o ${DLC_AOT_DIR}/aot_model.h
  # LLVM's global state is not freed at exit; leak reports there are not ours to fix.
  COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0
          $<TARGET_FILE:dlc_aot_gen> ${DLC_AOT_DIR}/aot_model.o
  DEPENDS dlc_aot_gen
  COMMENT "dlc AOT test: emitting aot_model.o and aot_model.h")
set_source_files_properties(${DLC_AOT_DIR}/aot_model.o PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
add_executable(aot_app ${CMAKE_CURRENT_LIST_DIR}/aot/app.c ${DLC_AOT_DIR}/aot_model.o
                       ${DLC_AOT_DIR}/aot_model.h)
target_include_directories(aot_app PRIVATE ${DLC_AOT_DIR})
target_link_libraries(aot_app PRIVATE dlc_runtime m)
add_test(NAME aot/app COMMAND aot_app)
