# The simulated accelerator through the driver (`dlc sim`): a test-only generator writes
# hand-assembled .dlcx programs with inputs and C reference outputs; tests/asic/cli_sim.py
# disassembles and runs them and checks outputs, the JSON report and the trace. Label "cli".
add_executable(dlc_asic_gen ${CMAKE_CURRENT_SOURCE_DIR}/asic/gen_dlcx.c)
target_link_libraries(dlc_asic_gen PRIVATE dlc_asic)
# The accuracy target on compiler-generated streams: a MatMul model written by
# tests/e2e/asic/gemm_bound.py, compiled and run with `dlc run --target asic --report`, must
# match numpy and finish within 10 % of max(MACs / peak, compulsory DRAM bytes / bandwidth)
# (compulsory: input, weight and output once each); its DRAM traffic is capped at the given
# multiple of the compulsory bytes (the scratchpads hold 768 KiB of the 3-12 MiB working
# set, so some operand is re-read; the cap catches schedules that re-read more).
# Label "e2e" (e2e.cmake labels every e2e/ test).
execute_process(COMMAND /usr/bin/python3 -c "import numpy, onnx"
                RESULT_VARIABLE _dlc_asic_onnx_ok OUTPUT_QUIET ERROR_QUIET)
if(_dlc_asic_onnx_ok EQUAL 0)
  foreach(_g "512;512;512;2.5" "1024;1024;1024;4.5" "1000;700;300;2.5")
    list(GET _g 0 _m)
    list(GET _g 1 _k)
    list(GET _g 2 _n)
    list(GET _g 3 _t)
    add_test(NAME e2e/asic/gemm_bound_${_m}x${_k}x${_n}
      COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/e2e/asic/gemm_bound.py
              --dlc $<TARGET_FILE:dlc> --work ${CMAKE_CURRENT_BINARY_DIR}/e2e/asic/gemm_${_m}x${_k}x${_n}
              --ratio 1.10 --traffic ${_t} ${_m} ${_k} ${_n})
    set_tests_properties(e2e/asic/gemm_bound_${_m}x${_k}x${_n} PROPERTIES LABELS e2e TIMEOUT 600)
  endforeach()
else()
  message(WARNING "e2e/asic/gemm_bound_* disabled: need /usr/bin/python3 with numpy and onnx")
endif()

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

# The torch TransformerEncoderLayer (opset 13: LayerNorm decomposed into ReduceMean/Pow/Sqrt;
# opset 17: LayerNormalization) on the accelerator must match ONNX Runtime like the other
# e2e/asic networks (tests/e2e.cmake). e2e.cmake is included after this file, so its
# variables are spelled out here; the models and references come from its fixtures.
find_program(_dlc_asic_node node)
if(_dlc_asic_node)
  foreach(c transformer_opset13 transformer_opset17)
    add_test(NAME e2e/asic/${c}
      COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/e2e/e2e_case.py check --dlc $<TARGET_FILE:dlc>
              --target asic --out dlc_asic ${CMAKE_BINARY_DIR}/tests/e2e/torch/${c})
    set_tests_properties(e2e/asic/${c} PROPERTIES FIXTURES_REQUIRED e2e_ref_torch TIMEOUT 600)
  endforeach()
  # Ops lowered to select() with a comparison: the vector unit's cmp* masks and sel.
  foreach(c leakyrelu elu selu)
    add_test(NAME e2e/asic/ops_${c}
      COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/e2e/e2e_case.py check --dlc $<TARGET_FILE:dlc>
              --target asic --out dlc_asic ${CMAKE_BINARY_DIR}/tests/e2e/ops/${c})
    set_tests_properties(e2e/asic/ops_${c} PROPERTIES FIXTURES_REQUIRED e2e_ref_ops TIMEOUT 300)
  endforeach()
endif()
