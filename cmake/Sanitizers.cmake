# WINGMAN_SANITIZE is a -fsanitize= list such as "address,undefined"; ON means address,undefined,
# OFF or empty means none. tests/CMakeLists.txt runs each test with WINGMAN_SANITIZER_TEST_LAUNCHER
# and WINGMAN_SANITIZER_TEST_ENVIRONMENT.
string(TOLOWER "${WINGMAN_SANITIZE}" wingman_sanitizers)
if(wingman_sanitizers MATCHES "^(on|yes|true|1)$")
  set(wingman_sanitizers address,undefined)
elseif(wingman_sanitizers MATCHES "^(off|no|false|0)?$")
  set(wingman_sanitizers "")
elseif(NOT wingman_sanitizers MATCHES "^[a-z-]+(,[a-z-]+)*$")
  message(FATAL_ERROR "WINGMAN_SANITIZE=${WINGMAN_SANITIZE} is not a comma-separated list")
endif()

set(WINGMAN_SANITIZER_TEST_ENVIRONMENT "")
set(WINGMAN_SANITIZER_TEST_LAUNCHER "")
if(wingman_sanitizers)
  # A report from the test or from any process it starts fails the test.
  set(WINGMAN_SANITIZER_TEST_LAUNCHER ${PROJECT_SOURCE_DIR}/tests/sanitizer/run-test.sh)
  message(STATUS "Sanitizers: ${wingman_sanitizers}")
  add_compile_options(-fsanitize=${wingman_sanitizers} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${wingman_sanitizers})
  string(REPLACE "," ";" wingman_sanitizer_list "${wingman_sanitizers}")
  if("undefined" IN_LIST wingman_sanitizer_list)
    # Undefined behaviour ends the process, so a test that hits it fails.
    add_compile_options(-fno-sanitize-recover=undefined)
    # abort_on_error: a child process that hits it dies of SIGABRT, which no test takes for an
    # expected exit status.
    list(APPEND WINGMAN_SANITIZER_TEST_ENVIRONMENT
      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1")
  endif()
  if("address" IN_LIST wingman_sanitizer_list)
    list(APPEND WINGMAN_SANITIZER_TEST_ENVIRONMENT
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1"
      "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/sanitizer/lsan.supp:print_suppressions=0")
  endif()
endif()
