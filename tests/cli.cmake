# Driver-level tests (tests/cli/cli_test.py): malformed models, --help, IR dumps that parse
# back, and an ahead-of-time compiled model linked into a C program. Label "cli".
set(DLC_CLI_PYTHON /usr/bin/python3)
execute_process(COMMAND ${DLC_CLI_PYTHON} -c "import onnx, numpy"
                RESULT_VARIABLE _dlc_cli_py_ok OUTPUT_QUIET ERROR_QUIET)
if(NOT _dlc_cli_py_ok EQUAL 0)
  message(WARNING "cli tests disabled: need ${DLC_CLI_PYTHON} with onnx and numpy")
  return()
endif()
# The AOT program is built with the same sanitizer flags as the libraries it links.
set(_cli_cflags "-O2")
if(DLC_SANITIZE)
  set(_cli_cflags "-O2 -fsanitize=address,undefined")
endif()
foreach(c bad_models bind help ir_dump aot plugin)
  add_test(NAME cli/${c}
    COMMAND ${DLC_CLI_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cli/cli_test.py ${c}
            --dlc $<TARGET_FILE:dlc> --work ${CMAKE_CURRENT_BINARY_DIR}/cli/${c}
            --cc ${CMAKE_C_COMPILER} "--cflags=${_cli_cflags}" --plugin-lib $<TARGET_FILE:dlc_backend_c>
            "--libs=$<TARGET_FILE:dlc_runtime> $<TARGET_FILE:dlc_support> -lm -lpthread")
  set_tests_properties(cli/${c} PROPERTIES LABELS cli TIMEOUT 300)
endforeach()
