# Runs a command-line tool and checks its exit code and, optionally, its output.
#   cmake -DTOOL=path -DARGS="a|b|c" -DEXPECT_RC=N [-DSTDOUT_RE=re] [-DSTDERR_RE=re]
#         -P run_cli.cmake
# ARGS is '|'-separated so that arguments pass through add_test unchanged.
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${TOOL} ${args}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${TOOL} ${args} -> ${rc}\n--- stdout\n${out}--- stderr\n${err}")
if(NOT rc STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "exit code ${rc}, expected ${EXPECT_RC}")
endif()
if(DEFINED STDOUT_RE AND NOT out MATCHES "${STDOUT_RE}")
  message(FATAL_ERROR "stdout does not match '${STDOUT_RE}'")
endif()
if(DEFINED STDERR_RE AND NOT err MATCHES "${STDERR_RE}")
  message(FATAL_ERROR "stderr does not match '${STDERR_RE}'")
endif()
