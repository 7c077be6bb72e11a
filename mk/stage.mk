# Builds one stage of the overlay (DESIGN.md 2.1) out of tree, in
# build/<mode>/<stage>/:
#   libgreen.a   the runtime as it stands after this stage
#   green.pc     pkg-config file for programs outside the repo
#   green_tests  the GoogleTest binary: the tests of stages 1..N against stage N
#   bench/<name> one Google Benchmark program per bench/*.cpp of stages 1..N
#   aux/         helpers the tests load or run (tests/aux/, below)
# Usage: make -C <stage> [MODE=release|debug|asan|tsan] [CONTEXT=asm|ucontext]
#        targets: all (default), lib, test, bench, diff, clean,
#        install PREFIX=<dir> (below)

include $(dir $(lastword $(MAKEFILE_LIST)))config.mk

empty :=
space := $(empty) $(empty)

STAGE ?= $(notdir $(CURDIR))
ifeq ($(filter $(STAGE),$(STAGES)),)
$(error unknown STAGE '$(STAGE)'; one of: $(STAGES))
endif

UPTO    := $(call stages_upto,$(STAGE))
LATEST_FIRST := $(shell printf '%s\n' $(UPTO) | tac)
BUILD   := $(GREEN_ROOT)/build/$(BUILD_TAG)/$(STAGE)
overlay  = $(shell $(GREEN_ROOT)/mk/overlay.sh $(GREEN_ROOT) $(1) $(UPTO))

SRCS    := $(filter %.cpp %.S,$(call overlay,src))
ALL_TESTS := $(filter %.cpp,$(call overlay,tests))
# tests/aux/: helpers the tests run or load, built beside green_tests in aux/:
# lib<name>.cpp is a shared library (aux/lib<name>.so), any other file a
# program linked with the stage's library, plus the link flags its first line
# gives as "// link: <flags>".
AUX     := $(foreach f,$(ALL_TESTS),$(if $(findstring /tests/aux/,$(f)),$(f)))
AUX_LIB_SRCS := $(foreach f,$(AUX),$(if $(filter lib%,$(notdir $(f))),$(f)))
TESTS   := $(filter-out $(AUX),$(ALL_TESTS))
BENCHES := $(filter %.cpp,$(call overlay,bench))

# Include paths latest-first, so a later stage's header shadows an earlier one.
# Runtime headers include each other with <green/...>, never "...", so that the
# search always starts at the latest stage.
INCLUDES      := $(foreach s,$(LATEST_FIRST),$(if $(wildcard $(GREEN_ROOT)/$(s)/include),-I$(GREEN_ROOT)/$(s)/include))
TEST_INCLUDES := $(foreach s,$(LATEST_FIRST),$(if $(wildcard $(GREEN_ROOT)/$(s)/tests),-I$(GREEN_ROOT)/$(s)/tests))
# Bench programs also see the bench/*.hpp helpers of every stage up to this one.
BENCH_INCLUDES := $(foreach s,$(LATEST_FIRST),$(if $(wildcard $(GREEN_ROOT)/$(s)/bench),-I$(GREEN_ROOT)/$(s)/bench))
DEFINES       := $(if $(filter ucontext,$(CONTEXT)),-DGREEN_CONTEXT_UCONTEXT=1)

# Quiet by default: one line per file. V=1 shows the full commands.
Q   := $(if $(V),,@)
say  = $(if $(V),,@printf '  %-5s %s\n' $(1) $(subst $(GREEN_ROOT)/,,$(2));)

ALL_CXXFLAGS := $(CXXSTD) $(WARN) $(CXXFLAGS_$(MODE)) -pthread $(DEFINES) $(INCLUDES) $(CXXFLAGS)
# -z now: bind every shared-library call at load time. A lazily bound call
# runs the dynamic linker on the caller's stack, which saves every vector
# register (several KiB): more than a 2 KiB task stack has.
LINK_NOW     := -Wl,-z,now
ALL_LDFLAGS  := -pthread $(LINK_NOW) $(LDFLAGS_$(MODE)) $(LDFLAGS)

obj = $(patsubst %,$(BUILD)/obj/%.o,$(basename $(1)))
LIB_OBJS   := $(call obj,$(SRCS))
TEST_OBJS  := $(call obj,$(TESTS))
BENCH_BINS := $(patsubst %,$(BUILD)/bench/%,$(notdir $(basename $(BENCHES))))
AUX_LIBS   := $(patsubst %,$(BUILD)/aux/%.so,$(notdir $(basename $(AUX_LIB_SRCS))))
AUX_PROGS  := $(patsubst %,$(BUILD)/aux/%,$(notdir $(basename $(filter-out $(AUX_LIB_SRCS),$(AUX)))))

.PHONY: all lib test bench diff clean install
.DEFAULT_GOAL := all
all: $(BUILD)/libgreen.a $(BUILD)/green.pc $(if $(TESTS),$(BUILD)/green_tests) $(BENCH_BINS) $(AUX_LIBS) $(AUX_PROGS)
lib: $(BUILD)/libgreen.a $(BUILD)/green.pc

$(BUILD)/obj/%.o: $(GREEN_ROOT)/%.cpp
	@mkdir -p $(@D)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(ALL_CXXFLAGS) $(if $(findstring /tests/,$<)$(findstring /bench/,$<),$(TEST_INCLUDES))$(if $(findstring /tests/,$<), $(TESTFLAGS_$(MODE)))$(if $(findstring /bench/,$<), $(BENCH_INCLUDES)) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: $(GREEN_ROOT)/%.S
	@mkdir -p $(@D)
	$(call say,AS,$<)
	$(Q)$(CXX) $(ALL_CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libgreen.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/green_tests: $(TEST_OBJS) $(BUILD)/libgreen.a
	$(call say,LINK,$@)
	$(Q)$(CXX) $(ALL_LDFLAGS) $(TEST_OBJS) $(BUILD)/libgreen.a -lgtest -lgtest_main -o $@

# Each bench program: bench/<name>.cpp from the overlay, linked with the stage's library.
define bench_rule
$(BUILD)/bench/$(notdir $(basename $(1))): $(call obj,$(1)) $(BUILD)/libgreen.a
	@mkdir -p $$(@D)
	$$(call say,LINK,$$@)
	$$(Q)$$(CXX) $$(ALL_LDFLAGS) $$< $(BUILD)/libgreen.a -lbenchmark -o $$@
endef
$(foreach b,$(BENCHES),$(eval $(call bench_rule,$(b))))

define aux_lib_rule
$(BUILD)/aux/$(notdir $(basename $(1))).so: $(GREEN_ROOT)/$(1)
	@mkdir -p $$(@D)
	$$(call say,LINK,$$@)
	$$(Q)$$(CXX) $$(ALL_CXXFLAGS) -fPIC -shared $$< -o $$@
endef
define aux_prog_rule
$(BUILD)/aux/$(notdir $(basename $(1))): $(call obj,$(1)) $(BUILD)/libgreen.a
	@mkdir -p $$(@D)
	$$(call say,LINK,$$@)
	$$(Q)$$(CXX) $$(ALL_LDFLAGS) $$< $(BUILD)/libgreen.a $(shell sed -n '1s|^// link: ||p' $(GREEN_ROOT)/$(1)) -o $$@
endef
$(foreach a,$(AUX_LIB_SRCS),$(eval $(call aux_lib_rule,$(a))))
$(foreach a,$(filter-out $(AUX_LIB_SRCS),$(AUX)),$(eval $(call aux_prog_rule,$(a))))

VERSION := 0.1
$(BUILD)/green.pc: $(GREEN_ROOT)/mk/stage.mk $(GREEN_ROOT)/mk/config.mk
	@mkdir -p $(@D)
	@printf '%s\n' \
	  'Name: green' \
	  'Description: green M:N green-thread runtime, as of $(STAGE) ($(BUILD_TAG))' \
	  'Version: $(VERSION)' \
	  'Cflags: $(CXXSTD) -pthread $(DEFINES) $(INCLUDES)' \
	  'Libs: -L$(BUILD) -lgreen -pthread $(LINK_NOW) $(LDFLAGS_$(MODE))' > $@

# make install PREFIX=<dir>: the runtime as of this stage, the way libraries
# install (make install at the top installs the latest present stage):
#   include/green/...                  the overlay's headers, solution markers stripped
#   lib/libgreen.a                     static only: the preemption code addresses its
#                                      thread-locals %fs-relative (local-exec TLS),
#                                      which a shared object cannot do
#   lib/pkgconfig/green.pc             pkg-config --cflags --libs green
#   lib/cmake/green/greenConfig*.cmake find_package(green) -> green::green
#   share/green/gdb/green.py           the gdb extension (from stage 4 on)
# Both describe the prefix relative to themselves, so the tree can move.
# grader/test_install.py builds a program against it both ways.
STRIP_MARKERS := $(firstword $(wildcard /usr/bin/python3) python3) $(GREEN_ROOT)/mk/starter.py strip
install: $(BUILD)/libgreen.a
	@test -n "$(PREFIX)" || { echo "usage: make install PREFIX=<dir>"; exit 2; }
	@set -e; for f in $(call overlay,include); do \
	  dest="$(PREFIX)/$${f#*/}"; mkdir -p "$$(dirname "$$dest")"; \
	  $(STRIP_MARKERS) $(GREEN_ROOT)/$$f > "$$dest"; done
	@install -D -m 644 $(BUILD)/libgreen.a $(PREFIX)/lib/libgreen.a
	@set -e; for f in $(call overlay,gdb); do \
	  install -D -m 644 $(GREEN_ROOT)/$$f "$(PREFIX)/share/green/$${f#*/}"; done
	@mkdir -p $(PREFIX)/lib/pkgconfig $(PREFIX)/lib/cmake/green
	@printf '%s\n' \
	  'prefix=$${pcfiledir}/../..' \
	  'includedir=$${prefix}/include' \
	  'libdir=$${prefix}/lib' \
	  '' \
	  'Name: green' \
	  'Description: green M:N green-thread runtime, as of $(STAGE) ($(BUILD_TAG))' \
	  'Version: $(VERSION)' \
	  'Cflags: $(CXXSTD) -pthread $(DEFINES) -I$${includedir}' \
	  'Libs: -L$${libdir} -lgreen -pthread $(LINK_NOW) $(LDFLAGS_$(MODE))' > $(PREFIX)/lib/pkgconfig/green.pc
	@sed -e 's|@STAGE@|$(STAGE)|; s|@BUILD_TAG@|$(BUILD_TAG)|' \
	     -e 's|@DEFINES@|$(patsubst -D%,%,$(DEFINES))|' \
	     -e 's|@LINK_OPTIONS@|$(subst $(space),;,$(strip $(LINK_NOW) $(LDFLAGS_$(MODE))))|' \
	     $(GREEN_ROOT)/mk/greenConfig.cmake.in > $(PREFIX)/lib/cmake/green/greenConfig.cmake
	@sed -e 's|@VERSION@|$(VERSION)|; s|@VERSION_MAJOR@|$(word 1,$(subst ., ,$(VERSION)))|' \
	     -e 's|@VERSION_MINOR@|$(word 2,$(subst ., ,$(VERSION)))|' \
	     $(GREEN_ROOT)/mk/greenConfigVersion.cmake.in > $(PREFIX)/lib/cmake/green/greenConfigVersion.cmake
	@echo "installed green ($(STAGE), $(BUILD_TAG)) into $(PREFIX)"

test: $(BUILD)/green_tests $(AUX_LIBS) $(AUX_PROGS)
	$(BUILD)/green_tests $(GTEST_ARGS)

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

# Each file this stage shadows, against the file it shadows (the nearest earlier stage).
diff:
	@cd $(GREEN_ROOT) && for f in $$(cd $(STAGE) && find include src tests bench -type f 2>/dev/null | sort); do \
	  prev=""; for s in $(filter-out $(STAGE),$(UPTO)); do [ -f $$s/$$f ] && prev=$$s/$$f; done; \
	  if [ -n "$$prev" ]; then diff -u $$prev $(STAGE)/$$f; else echo "new: $(STAGE)/$$f"; fi; \
	done; true

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(patsubst %.o,%.d,$(call obj,$(BENCHES) $(AUX)))
