"""Points per stage: the one table the scores come from.

tests     proportional to the GoogleTest cases passed; 0 if the test binary
          crashes (a crash is never partial credit)
perf      split evenly between the stage's perf checks (perf.py)
valgrind  all or nothing: the Valgrind smoke test is clean

A component the run does not grade (not selected, skipped in this MODE, a stage
without perf checks yet) counts toward neither the score nor the maximum.
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
