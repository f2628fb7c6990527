# The simulated accelerator through the driver (`dlc sim`): a test-only generator writes
# hand-assembled .dlcx programs with inputs and C reference outputs; tests/asic/cli_sim.py
# disassembles and runs them and checks outputs, the JSON report and the trace. Label "cli".
add_executable(dlc_asic_gen ${CMAKE_CURRENT_SOURCE_DIR}/asic/gen_dlcx.c)
target_link_libraries(dlc_asic_gen PRIVATE dlc_asic)
execute_process(COMMAND /usr/bin/python3 -c "import numpy"
                RESULT_VARIABLE _dlc_asic_py_ok OUTPUT_QUIET ERROR_QUIET)
if(NOT _dlc_asic_py_ok EQUAL 0)
  message(WARNING "cli/asic_sim disabled: need /usr/bin/python3 with numpy")
  return()
endif()
add_test(NAME cli/asic_sim
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/asic/cli_sim.py
          --dlc $<TARGET_FILE:dlc> --gen $<TARGET_FILE:dlc_asic_gen>
          --work ${CMAKE_CURRENT_BINARY_DIR}/cli/asic_sim)
set_tests_properties(cli/asic_sim PROPERTIES LABELS cli TIMEOUT 300)
