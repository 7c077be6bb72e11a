"""The green autograder (DESIGN.md section 6).

For each present stage it builds the stage (mk/stage.mk), runs its GoogleTest
binary, its perf checks and a Valgrind smoke test, and scores them with the
table in points.py. Two front ends drive the same code (grade.Grader):

    python -m grader [--stage S] ...   the scoreboard, Gradescope JSON (make grade)
    python -m pytest grader            one pytest case per stage and check (make test)

and `python -m grader.bench` runs the benchmarks for `make bench`.
"""
