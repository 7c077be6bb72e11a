// GREEN_CHECK(cond, msg): a protocol assertion. In debug builds (debug, asan
// and tsan modes define GREEN_DEBUG) a false cond prints "green: <msg>" with
// where it failed and aborts; in release builds it costs nothing.
#pragma once

#if GREEN_DEBUG
#include <cstdio>
#include <cstdlib>
#define GREEN_CHECK(cond, msg)                                                                \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "green: %s (%s at %s:%d)\n", msg, #cond, __FILE__, __LINE__);      \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)
#else
// sizeof names cond without evaluating it, so values used only in checks do
// not become "unused" in release builds.
#define GREEN_CHECK(cond, msg) \
  do {                         \
    (void)sizeof(!(cond));     \
  } while (0)
#endif
