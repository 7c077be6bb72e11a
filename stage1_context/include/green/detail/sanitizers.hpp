// Which sanitizer this translation unit is built with, and their fiber APIs.
// ASan must be told about every stack switch (or it reports false stack
// overflows and mishandles its fake stacks); TSan models each task as a fiber.
#pragma once

#ifdef __has_feature  // clang; g++ defines __SANITIZE_*__
#define GREEN_HAS_FEATURE(x) __has_feature(x)
#else
#define GREEN_HAS_FEATURE(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || GREEN_HAS_FEATURE(address_sanitizer)
#define GREEN_ASAN 1
#else
#define GREEN_ASAN 0
#endif
#if defined(__SANITIZE_THREAD__) || GREEN_HAS_FEATURE(thread_sanitizer)
#define GREEN_TSAN 1
#else
#define GREEN_TSAN 0
#endif

#if GREEN_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if GREEN_TSAN
#include <sanitizer/tsan_interface.h>
#endif
