# Shared configuration: the stage order (the overlay order of DESIGN.md 2.1),
# the build modes and their flags. Included by the top-level Makefile and mk/stage.mk.

GREEN_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)

# The overlay order. A stage's tree is the union of the stages up to it; later wins.
STAGES := stage1_context stage2_queues stage3_stealing stage4_tagging \
          phase3_preempt phase4_sync phase5_io phase6_tasks

MODE    ?= release# release | debug | asan | tsan
CONTEXT ?= asm# asm | ucontext: the context-switch backend (stage 1)

CXX      ?= g++
CXXSTD   := -std=c++20
WARN     := -Wall -Wextra -Werror
CXXFLAGS_release := -O2 -g -DNDEBUG
CXXFLAGS_debug   := -O0 -g -DGREEN_DEBUG=1
CXXFLAGS_asan    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                    -fno-sanitize-recover=undefined -DGREEN_DEBUG=1
CXXFLAGS_tsan    := -O1 -g -fsanitize=thread -DGREEN_DEBUG=1
# Test sources (not the library, not the benchmarks) compile for speed of the
# build: their line tables are enough for backtraces and Valgrind, and -O1 in
# release mode compiles a gtest file 40% faster than -O2 while the library
# they test keeps -O2.
TESTFLAGS_release := -O1 -g1
TESTFLAGS_debug   := -g1
TESTFLAGS_asan    := -g1
TESTFLAGS_tsan    := -g1
LDFLAGS_asan     := -fsanitize=address,undefined
LDFLAGS_tsan     := -fsanitize=thread

ifeq ($(filter $(MODE),release debug asan tsan),)
$(error MODE must be one of: release debug asan tsan (got '$(MODE)'))
endif
ifeq ($(filter $(CONTEXT),asm ucontext),)
$(error CONTEXT must be asm or ucontext (got '$(CONTEXT)'))
endif

# Builds of the ucontext backend live beside the others: build/release-ucontext/...
BUILD_TAG := $(MODE)$(if $(filter ucontext,$(CONTEXT)),-ucontext)

# $(call stages_upto,stage): the stages 1..N of the overlay, in order.
stages_upto = $(strip $(call _upto,$(1),$(STAGES)))
_upto = $(if $(2),$(firstword $(2)) $(if $(filter $(1),$(firstword $(2))),,$(call _upto,$(1),$(wordlist 2,99,$(2)))))

# A stage is "present" (built, tested, graded) once it has sources or tests.
present_stages = $(foreach s,$(STAGES),$(if $(wildcard $(GREEN_ROOT)/$(s)/src/* $(GREEN_ROOT)/$(s)/tests/*),$(s)))

# The Python the grader runs under: mk/python.sh finds one that has pytest when
# a recipe runs, so after `make deps` has installed it (see that script).
PYTHON := $(GREEN_ROOT)/mk/python.sh
