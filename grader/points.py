"""Points per stage: the one table the scores come from (HANDOUT.md repeats
it for students; test_points.py keeps the two the same).

tests     the stage's own GoogleTest cases (source under its tests/; unknown
          source counts as own) in proportion to those passed, less one for
          each earlier stage's case that fails in its binary, never below 0
          (results.Component.score); if the test binary crashes or hangs,
          from each test's run alone (gtest.py)
perf      split evenly between the stage's graded perf checks (perf.py)
valgrind  all or nothing: the Valgrind smoke test is clean

A component the run does not grade (not selected, skipped in this MODE, a stage
without perf checks yet or whose every check needs more CPUs) counts toward
neither the score nor the maximum; nor does a perf check skipped for want of CPUs.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Points:
    tests: int
    perf: int
    valgrind: int


POINTS = {
    #                         tests perf valgrind
    "stage1_context":  Points(60,   20,  20),  # switch speed vs swapcontext; stacks
    "stage2_queues":   Points(65,   15,  20),  # ring queues, parking
    "stage3_stealing": Points(60,   25,  15),  # work-stealing scaling
    "stage4_tagging":  Points(70,   15,  15),  # park/unpark races: mostly tests
    "phase3_preempt":  Points(75,   10,  15),
    "phase4_sync":     Points(70,   10,  20),
    "phase5_io":       Points(70,   15,  15),
    "phase6_tasks":    Points(60,   25,  15),  # fine-grained task overhead
}
