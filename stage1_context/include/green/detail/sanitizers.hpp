// Which sanitizer this translation unit is built with, and their fiber APIs.
// ASan must be told about every stack switch (or it reports false stack
// overflows and mishandles its fake stacks); TSan models each task as a fiber.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define GREEN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GREEN_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define GREEN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GREEN_TSAN 1
#endif
#endif

#ifndef GREEN_ASAN
#define GREEN_ASAN 0
#endif
#ifndef GREEN_TSAN
#define GREEN_TSAN 0
#endif

#if GREEN_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if GREEN_TSAN
#include <sanitizer/tsan_interface.h>
#endif
