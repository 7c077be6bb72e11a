# green: top-level targets. See README.md and DESIGN.md section 6.
#   make                 build every present stage (release)
#   make test [PERF=1]   the test command (CI): every stage's tests and Valgrind smoke
#                        test, the latest stage's tests under ASan and TSan, through
#                        the grader (pytest runs it); perf checks only with PERF=1
#   make grade [STAGE=]  the scoreboard (add JSON=results.json for Gradescope JSON)
#   make bench           every stage's benchmarks, peers included where installed
#   make valgrind | asan | tsan     the tests under memcheck / ASan+UBSan / TSan
#   make flatten STAGE=<dir> OUT=<path>   one stage as a plain complete tree
#   make starter STAGE=<dir> OUT=<path>   what a student at STAGE receives: earlier
#                                         stages complete, STAGE's solutions stubbed
#   make diff STAGE=<dir>                 each file STAGE shadows, against its original
#   make install [PREFIX=] [STAGE=]       the runtime into PREFIX (/usr/local): headers,
#                                         libgreen.a, pkg-config and CMake package files
#   make deps            install what a fresh Debian machine lacks (as root); test,
#                        grade, bench, valgrind, asan and tsan run it first
#   CONTEXT=ucontext     selects the ucontext backend for any of the above

include mk/config.mk
export MODE CONTEXT

PRESENT := $(present_stages)
GRADER   = cd $(GREEN_ROOT) && $(PYTHON) -m grader

.PHONY: all deps test grade bench valgrind asan tsan clean flatten starter diff install
all:
	@for s in $(PRESENT); do $(MAKE) --no-print-directory -f mk/stage.mk STAGE=$$s all || exit 1; done

# Debian packages the build, tests and grader need (cmake: grader/test_install.py
# builds a program with find_package(green); curl and wrk: the clients
# of the examples' tests, grader/test_examples.py, and wrk of phase 5's HTTP
# benchmark; python3-matplotlib: the plots of `make bench`'s report, grader/test_plots.py).
# Peers for `make bench` (golang-go, libboost-fiber-dev,
# libtbb-dev) are optional and not listed here; its std peer needs only g++.
DEB_PACKAGES := g++ make python3 python3-pytest libgtest-dev libgmock-dev \
                libbenchmark-dev valgrind gdb pkg-config cmake curl wrk python3-matplotlib
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
	  echo "deps: missing Debian packages; run:"; echo "  sudo apt-get install -y $$missing"; exit 1; \
	fi

test: deps
	cd $(GREEN_ROOT) && GREEN_PERF=$(PERF) $(PYTHON) -m pytest grader -q -rfE --durations=15

grade: deps
	$(GRADER) $(if $(STAGE),--stage $(STAGE)) $(if $(JSON),--json $(abspath $(JSON)))

bench: deps
	cd $(GREEN_ROOT) && $(PYTHON) -m grader.bench $(if $(STAGE),--stage $(STAGE))

valgrind: deps
	$(GRADER) --checks valgrind $(if $(STAGE),--stage $(STAGE))

asan: deps
	$(GRADER) --mode asan --checks tests $(if $(STAGE),--stage $(STAGE))

tsan: deps
	$(GRADER) --mode tsan --checks tests $(if $(STAGE),--stage $(STAGE))

clean:
	rm -rf build

# Both trees keep the build system, so `make -C $(OUT) grade` works. flatten
# writes one stage directory holding the merged overlay; starter writes the
# repository's shape, stages up to STAGE each in its own directory, so the
# grader scores each of them (the earlier ones complete, STAGE stubbed).
# mk/starter.py writes them (the overlay from mk/overlay.sh): flatten keeps the
# reference's solution regions (markers stripped); starter replaces the named
# stage's regions by their stubs and leaves out what mk/manifest keeps for the
# autograder (DEVELOPERS.md, "Solution regions and starter trees").
STARTER = $(firstword $(wildcard /usr/bin/python3) python3) mk/starter.py
flatten starter:
	@test -n "$(STAGE)" -a -n "$(OUT)" || { echo "usage: make $@ STAGE=<dir> OUT=<path>"; exit 2; }
	@$(STARTER) $@ --stage $(STAGE) --out $(OUT)

# The runtime as of STAGE (default: the latest present stage) into PREFIX
# (default /usr/local): headers, libgreen.a, pkg-config and CMake files (mk/stage.mk).
PREFIX ?= /usr/local
install:
	@$(MAKE) --no-print-directory -f mk/stage.mk STAGE=$(or $(STAGE),$(lastword $(PRESENT))) \
	  PREFIX=$(abspath $(PREFIX)) install

diff:
	@test -n "$(STAGE)" || { echo "usage: make diff STAGE=<dir>"; exit 2; }
	@$(MAKE) --no-print-directory -f mk/stage.mk STAGE=$(STAGE) diff
