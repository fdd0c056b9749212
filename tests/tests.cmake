# End-to-end workflow cases: tests/workflows/<area>/<case>.yaml with <case>.expect.yaml,
# each run through the real binary by tests/run_case.py. Unit tests: skiff_tests.
include(GoogleTest)
gtest_discover_tests(skiff_tests DISCOVERY_MODE PRE_TEST PROPERTIES LABELS unit)

find_program(SKIFF_PYTHON NAMES python3 REQUIRED)
file(GLOB_RECURSE skiff_cases CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}/tests/workflows
     ${CMAKE_SOURCE_DIR}/tests/workflows/*.yaml)
foreach(case ${skiff_cases})
  if(case MATCHES "\\.expect\\.yaml$")
    continue()
  endif()
  string(REGEX REPLACE "\\.yaml$" "" name ${case})
  add_test(NAME wf/${name}
           COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/run_case.py
                   --skiff $<TARGET_FILE:skiff> ${CMAKE_SOURCE_DIR}/tests/workflows/${case})
  set_tests_properties(wf/${name} PROPERTIES LABELS "e2e;host" TIMEOUT 120)
endforeach()
