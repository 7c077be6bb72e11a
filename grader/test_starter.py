"""mk/starter.py: the solution-marker stripper, the manifest, and the trees
`make flatten` and `make starter` write (DEVELOPERS.md, "Solution regions and
starter trees"). Fast and hermetic: no compiler; the trees are made from a
small fake repository in tmp_path. Also checks that every marker in this
repository's stages is balanced, so a broken marker fails `make test`."""

import importlib.util
import os
import shutil
import subprocess

import pytest

from grader import stages

_spec = importlib.util.spec_from_file_location("starter", stages.ROOT / "mk" / "starter.py")
starter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(starter)

REGION = """\
int f(int x) noexcept {
  int y = 1;
  // BEGIN SOLUTION
  y += x;
  return y;
  // STUB: (void)x;
  // STUB: unimplemented("f is yours");
  // END SOLUTION
}
"""


def test_keep_drops_markers_and_stubs_and_keeps_the_reference():
    assert starter.strip(REGION) == "int f(int x) noexcept {\n  int y = 1;\n  y += x;\n  return y;\n}\n"


def test_stub_replaces_the_region_by_its_stub_lines_indentation_kept():
    assert starter.strip(REGION, stub=True) == (
        'int f(int x) noexcept {\n  int y = 1;\n  (void)x;\n  unimplemented("f is yours");\n}\n')


def test_a_region_without_stub_lines_becomes_nothing():
    text = "a\n    // BEGIN SOLUTION\n    b\n    // END SOLUTION\nc\n"
    assert starter.strip(text, stub=True) == "a\nc\n"
    assert starter.strip(text) == "a\n    b\nc\n"


def test_an_empty_stub_line_is_an_empty_line_and_crlf_and_tabs_survive():
    text = "\t// BEGIN SOLUTION\r\n\tx;\r\n\t// STUB:\r\n\t// STUB: y;\r\n\t// END SOLUTION\r\nz\r\n"
    assert starter.strip(text, stub=True) == "\r\n\ty;\r\nz\r\n"
    assert starter.strip(text) == "\tx;\r\nz\r\n"


def test_text_without_markers_is_unchanged_both_ways():
    text = "// a comment about the solution\nint g();\n/* STUBBORN */\n"
    assert starter.strip(text) == starter.strip(text, stub=True) == text


def test_assembly_regions_use_the_same_markers():
    text = ("        .text\n// BEGIN SOLUTION\n        pushq %rbp\n"
            "// STUB: ud2\n// END SOLUTION\n        ret\n")
    assert starter.strip(text, stub=True) == "        .text\nud2\n        ret\n"


@pytest.mark.parametrize("text, line, what", [
    ("// BEGIN SOLUTION\nx\n// BEGIN SOLUTION\ny\n// END SOLUTION\n// END SOLUTION\n", 3, "nested"),
    ("x\n// END SOLUTION\n", 2, "without a BEGIN"),
    ("a\n  // BEGIN SOLUTION\nx\n", 2, "never closed"),
    ("// STUB: x;\n", 1, "STUB outside"),
    ("// BEGIN SOLUTION\n// STUB: s;\nx;\n// END SOLUTION\n", 3, "after a STUB"),
    ("ok\n//BEGIN SOLUTION\n", 2, "malformed"),
    ("// BEGIN SOLUTION: pop\n", 1, "malformed"),
    ("// BEGIN SOLUTION\n// STUB x;\n// END SOLUTION\n", 2, "malformed"),
    ("/* END SOLUTION */\n", 1, "malformed"),
])
def test_broken_markers_are_errors_with_file_and_line(text, line, what):
    for stub in (False, True):
        with pytest.raises(starter.MarkerError) as e:
            starter.strip(text, "src/x.cpp", stub=stub)
        assert str(e.value).startswith(f"src/x.cpp:{line}: ") and what in str(e.value)


def test_manifest_last_match_wins_and_unlisted_files_go_to_both(tmp_path):
    m = tmp_path / "manifest"
    m.write_text("# comment\n\ngrader   s2/tests/*\nboth     s2/tests/shown_test.cpp  # trailing\n"
                 "students s2/README.md\n")
    entries = starter.read_manifest(m)
    assert starter.audience("s2/tests/secret_test.cpp", entries) == "grader"
    assert starter.audience("s2/tests/aux/lib.cpp", entries) == "grader"  # * matches /
    assert starter.audience("s2/tests/shown_test.cpp", entries) == "both"
    assert starter.audience("s2/README.md", entries) == "students"
    assert starter.audience("s2/src/a.cpp", entries) == "both"


@pytest.mark.parametrize("line", ["hidden s2/x", "grader", "grader a b"])
def test_a_bad_manifest_line_is_an_error_with_file_and_line(tmp_path, line):
    m = tmp_path / "manifest"
    m.write_text(f"both a\n{line}\n")
    with pytest.raises(starter.MarkerError, match=rf"^{m}:2: "):
        starter.read_manifest(m)


def fake_repo(root):
    """A repository with the real build files and two small stages: s2 shadows
    s1's a.hpp and marks regions in it; s1 marks one too; s2 has a secret test."""
    root.mkdir()
    shutil.copy(stages.ROOT / "Makefile", root)
    shutil.copytree(stages.ROOT / "mk", root / "mk")
    config = root / "mk" / "config.mk"
    text = config.read_text()
    start = text.index("STAGES :=")
    end = text.index("\n\n", start)
    config.write_text(text[:start] + "STAGES := s1 s2 s3" + text[end:])
    (root / "mk" / "manifest").write_text("grader mk/manifest\ngrader s2/tests/secret_*.cpp\n")
    (root / "grader").mkdir()
    (root / "grader" / "g.py").write_text("# grader\n")
    (root / "grader" / "__pycache__").mkdir()
    (root / "grader" / "__pycache__" / "g.pyc").write_text("")
    for doc in ("README.md", "DESIGN.md", "HANDOUT.md"):
        (root / doc).write_text(doc)
    files = {
        "s1/include/a.hpp": "s1 a\n// BEGIN SOLUTION\ns1 solution\n// STUB: s1 stub\n// END SOLUTION\n",
        "s1/src/b.cpp": "b\n  // BEGIN SOLUTION\n  b solution\n  // END SOLUTION\n",
        "s1/tests/b_test.cpp": "b test\n",
        "s2/include/a.hpp": "s2 a\n  // BEGIN SOLUTION\n  s2 solution\n  // STUB: s2 stub;\n  // END SOLUTION\n",
        "s2/src/c.S": "c\n// BEGIN SOLUTION\nc solution\n// END SOLUTION\n",
        "s2/tests/c_test.cpp": "c test\n",
        "s2/tests/secret_test.cpp": "secret\n",
        "s3/src/d.cpp": "later\n",
    }
    for s in ("s1", "s2", "s3"):
        (root / s).mkdir()
        (root / s / "Makefile").write_text("include ../mk/stage.mk\n")
        (root / s / "README.md").write_text(s)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def make(root, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "--no-print-directory", "-C", str(root), *args], env=env,
                          capture_output=True, text=True, timeout=30)


def tree(out):
    return {p.relative_to(out).as_posix(): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}


TOP = {"Makefile", "README.md", "DESIGN.md", "HANDOUT.md", "grader/g.py", "mk/config.mk",
       "mk/overlay.sh", "mk/python.sh", "mk/stage.mk", "mk/starter.py",
       "mk/greenConfig.cmake.in", "mk/greenConfigVersion.cmake.in"}


def test_make_starter_earlier_stages_complete_this_stage_stubbed_grader_files_held(tmp_path):
    root = fake_repo(tmp_path / "repo")
    run = make(root, "starter", "STAGE=s2", f"OUT={tmp_path}/out")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "held back for the autograder (mk/manifest): mk/manifest s2/tests/secret_test.cpp\n" in run.stdout
    got = tree(tmp_path / "out")
    assert set(got) == TOP | {f"s1/{f}" for f in ("Makefile", "README.md", "include/a.hpp", "src/b.cpp",
                                                  "tests/b_test.cpp")} \
                         | {f"s2/{f}" for f in ("Makefile", "README.md", "include/a.hpp", "src/c.S",
                                                  "tests/c_test.cpp")}
    assert got["s2/include/a.hpp"] == "s2 a\n  s2 stub;\n"      # s2's own: stubbed
    assert got["s2/src/c.S"] == "c\n"                            # no STUB: nothing
    assert got["s1/src/b.cpp"] == "b\n  b solution\n"           # s1's: complete
    assert got["s1/include/a.hpp"] == "s1 a\ns1 solution\n"     # shadowed by s2, still complete
    assert os.access(tmp_path / "out" / "mk" / "starter.py", os.X_OK)


def test_make_flatten_keeps_every_solution_and_file_markers_stripped(tmp_path):
    root = fake_repo(tmp_path / "repo")
    run = make(root, "flatten", "STAGE=s2", f"OUT={tmp_path}/out")
    assert run.returncode == 0, run.stdout + run.stderr
    got = tree(tmp_path / "out")
    assert "mk/manifest" in got and "s2/tests/secret_test.cpp" in got
    assert got["s2/include/a.hpp"] == "s2 a\n  s2 solution\n"
    assert got["s2/src/c.S"] == "c\nc solution\n"
    assert not any("SOLUTION" in text or "STUB" in text for rel, text in got.items()
                   if rel.startswith("s2/"))


def test_a_broken_marker_a_used_out_or_an_unknown_stage_is_refused(tmp_path):
    root = fake_repo(tmp_path / "repo")
    order = ["s1", "s2", "s3"]
    (root / "s1" / "src" / "b.cpp").write_text("b\n// BEGIN SOLUTION\n")
    for kind in ("flatten", "starter"):
        with pytest.raises(starter.MarkerError, match=f"^{root}/s1/src/b.cpp:2: BEGIN SOLUTION is never closed"):
            starter.make_tree(kind, "s2", order, tmp_path / kind, root)
        assert not (tmp_path / kind).exists()  # nothing written, so a rerun can use the same OUT
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "old").write_text("")
    with pytest.raises(starter.MarkerError, match="is not empty"):
        starter.make_tree("starter", "s1", order, tmp_path / "used", root)
    with pytest.raises(starter.MarkerError, match="unknown stage 's9'"):
        starter.make_tree("starter", "s9", order, tmp_path / "x", root)
    (root / "mk" / "manifest").unlink()
    with pytest.raises(starter.MarkerError, match="no mk/manifest"):
        starter.make_tree("starter", "s1", order, tmp_path / "y", root)


def test_make_starter_without_out_prints_its_usage(tmp_path):
    run = make(fake_repo(tmp_path / "repo"), "starter", "STAGE=s1")
    assert run.returncode == 2 and "usage: make starter STAGE=<dir> OUT=<path>" in run.stdout


def test_check_reports_broken_markers_and_dead_manifest_patterns(tmp_path):
    root = fake_repo(tmp_path / "repo")
    assert starter.check(root) == []
    (root / "s2" / "src" / "c.S").write_text("// STUB: x\n")
    with open(root / "mk" / "manifest", "a") as f:
        f.write("grader s2/tests/gone_*.cpp\n")
    assert starter.check(root) == ["s2/src/c.S:1: STUB outside a BEGIN SOLUTION ... END SOLUTION region",
                                   "mk/manifest:3: 's2/tests/gone_*.cpp' matches no file"]


def test_every_marker_in_the_repository_is_balanced_and_the_manifest_matches():
    assert starter.check(stages.ROOT) == []
