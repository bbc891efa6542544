# CHAT_SANITIZE applies to every target of the tree, including the tests, so
# that a sanitizer sees both sides of every call.
if(CHAT_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "CHAT_SANITIZE needs GCC or Clang")
  endif()
  set(_chat_san_flags -fsanitize=${CHAT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options(${_chat_san_flags})
  add_link_options(${_chat_san_flags})
  message(STATUS "libchat: sanitizers ${CHAT_SANITIZE}")
endif()
