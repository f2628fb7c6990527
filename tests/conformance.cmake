# ONNX conformance: the ONNX backend node tests (Debian's libonnx-testdata) through `dlc run`.
# The test fails if a test listed in tests/conformance/expected_pass.txt stops passing or if any
# test crashes, so coverage only goes up. scripts/onnx-conformance.sh regenerates the list and
# docs/onnx-support.md. Label "conformance".
set(DLC_ONNX_NODE_DATA /usr/share/libonnx-testdata/data/node)
if(NOT EXISTS ${DLC_ONNX_NODE_DATA})
  message(WARNING "conformance test disabled: no ${DLC_ONNX_NODE_DATA} (apt-get install libonnx-testdata)")
  return()
endif()
add_test(NAME conformance/onnx_node
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/conformance/run_onnx_node_tests.py
          --dlc $<TARGET_FILE:dlc> --data ${DLC_ONNX_NODE_DATA}
          --check ${CMAKE_CURRENT_SOURCE_DIR}/conformance/expected_pass.txt
          --json ${CMAKE_CURRENT_BINARY_DIR}/conformance/results.json)
set_tests_properties(conformance/onnx_node PROPERTIES LABELS conformance TIMEOUT 1800)
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/conformance)
