"""`make install` (issue 16): the latest present stage installed into a
temporary prefix, then a program outside the repository built against it
the two ways C++ projects build: pkg-config and CMake's find_package(green).
The program is everyday C++ in tasks (std::mutex, iostream, an exception
through join, containers that allocate) and runs on the default worker
count and on 1 worker. Skipped while no stage has a green::Runtime (stage 1
alone)."""

import os
import shutil

import pytest

from grader import outside, stages

STEP = 120  # seconds: a build or a run that takes a few

APP = r"""
#include <green/green.hpp>

#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  green::RuntimeOptions opts;
  if (argc > 1) opts.workers = static_cast<unsigned>(std::stoul(argv[1]));
  green::Runtime rt(opts);
  std::mutex m;
  std::vector<std::string> log;
  long total = 0;
  long r = rt.run([&] {
    std::vector<green::TaskHandle> hs;
    for (int i = 0; i < 100; ++i)
      hs.push_back(green::spawn([&, i] {
        for (int k = 0; k < 100; ++k) {
          {
            std::lock_guard<std::mutex> g(m);
            ++total;
          }
          if (k % 10 == 0) green::this_task::yield();
        }
        std::lock_guard<std::mutex> g(m);
        log.push_back("task " + std::to_string(i));
      }));
    for (auto& h : hs) h.join();
    auto bad = green::spawn([] { throw std::runtime_error("thrown in a task"); });
    try {
      bad.join();
    } catch (const std::runtime_error& e) {
      std::cout << "caught: " << e.what() << "\n";
    }
    return total;
  });
  std::cout << "total " << r << ", " << log.size() << " tasks logged" << std::endl;
  return r == 10000 && log.size() == 100 ? 0 : 1;
}
"""

CMAKELISTS = """
cmake_minimum_required(VERSION 3.16)
project(app CXX)
find_package(green 0.1 REQUIRED)
add_executable(app app.cpp)
target_link_libraries(app PRIVATE green::green)
"""

EXPECTED = "caught: thrown in a task\ntotal 10000, 100 tasks logged\n"


def env():
    return outside.env()


def run(cmd, what, **kw):
    return outside.run(cmd, what, STEP, **kw)


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """An installed tree of the latest present stage (release)."""
    present = stages.present_stages()
    if not present or present[-1] == "stage1_context":
        pytest.skip("only stage 1 is present: the program needs stage 2's green::Runtime")
    out = tmp_path_factory.mktemp("prefix")
    said = run(["make", "--no-print-directory", "-C", stages.ROOT, "install", f"PREFIX={out}",
                "MODE=release", "CONTEXT=asm"], "make install")
    assert f"into {out}" in said, f"make install did not say where it installed:\n{said}"
    return out


@pytest.fixture
def app(tmp_path):
    (tmp_path / "app.cpp").write_text(APP)
    return tmp_path


def test_the_tree_has_headers_library_and_package_files(prefix):
    for rel in ("include/green/green.hpp", "lib/libgreen.a", "lib/pkgconfig/green.pc",
                "lib/cmake/green/greenConfig.cmake", "lib/cmake/green/greenConfigVersion.cmake"):
        assert (prefix / rel).is_file(), f"make install did not write {rel}"
    marked = [str(p.relative_to(prefix)) for p in (prefix / "include").rglob("*")
              if p.is_file() and ("BEGIN SOLUTION" in p.read_text() or "// STUB:" in p.read_text())]
    assert not marked, f"installed headers keep solution markers: {marked}"


def check_runs(binary):
    for workers in ([], ["1"]):
        out = run([binary, *workers], f"the program built against the install ({workers or 'default'} workers)")
        assert out == EXPECTED, f"{binary} {' '.join(workers)} printed {out!r}, not {EXPECTED!r}"


def test_a_program_builds_with_pkg_config(prefix, app):
    if not shutil.which("pkg-config"):
        pytest.fail("pkg-config is missing: `make deps` installs it")
    e = {**env(), "PKG_CONFIG_PATH": str(prefix / "lib" / "pkgconfig")}
    flags = run(["pkg-config", "--cflags", "--libs", "green"], "pkg-config green", env=e).split()
    assert any(f.startswith("-I") and os.path.samefile(f[2:], prefix / "include") for f in flags), \
        f"pkg-config's flags do not name the installed headers: {flags}"
    run(["g++", "-O1", "-Wall", "-Wextra", "-Werror", str(app / "app.cpp"), *flags, "-o", str(app / "app")],
        "g++ with pkg-config's flags")
    check_runs(app / "app")


def test_a_program_builds_with_cmake_find_package(prefix, app):
    if not shutil.which("cmake"):
        pytest.fail("cmake is missing: `make deps` installs it")
    (app / "CMakeLists.txt").write_text(CMAKELISTS)
    run(["cmake", "-S", app, "-B", app / "build", f"-DCMAKE_PREFIX_PATH={prefix}",
         "-DCMAKE_BUILD_TYPE=Release"], "cmake configure")
    run(["cmake", "--build", app / "build"], "cmake --build")
    check_runs(app / "build" / "app")


def test_a_moved_tree_still_works(prefix, tmp_path):
    """Both package files find the prefix from where they are."""
    moved = tmp_path / "moved"
    shutil.copytree(prefix, moved)
    e = {**env(), "PKG_CONFIG_PATH": str(moved / "lib" / "pkgconfig")}
    libs = run(["pkg-config", "--libs", "green"], "pkg-config green", env=e).split()
    lib_dirs = [f[2:] for f in libs if f.startswith("-L")]
    assert lib_dirs and os.path.samefile(lib_dirs[0], moved / "lib"), f"pkg-config --libs after a move: {libs}"
