"""The Valgrind smoke test's filter (valgrind.py): a stage's own tests only,
never death tests or *NoValgrind* ones."""

from grader import valgrind


def test_the_filter_runs_the_named_tests_less_death_and_no_valgrind_tests():
    assert valgrind.gtest_filter() == "--gtest_filter=-*DeathTest*:*NoValgrind*"
    assert valgrind.gtest_filter(["Stack.A", "Ctx/B.c/0"]) == \
        "--gtest_filter=Stack.A:Ctx/B.c/0-*DeathTest*:*NoValgrind*"
