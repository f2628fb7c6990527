# Pass tests: each tests/passes/*.test holds input IR, the `dlc opt` arguments (pipeline) and
# the expected IR or error; tests/passes/run_pass_test.py runs one (--update rewrites the
# expectations after an intended change). Label "pass".
file(GLOB DLC_PASS_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/passes/*.test)
foreach(t ${DLC_PASS_TESTS})
  get_filename_component(name ${t} NAME_WE)
  add_test(NAME pass/${name}
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/passes/run_pass_test.py
            --dlc $<TARGET_FILE:dlc> ${t})
  set_tests_properties(pass/${name} PROPERTIES LABELS pass TIMEOUT 60)
endforeach()
