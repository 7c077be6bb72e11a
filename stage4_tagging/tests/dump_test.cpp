// Task dumps (dump.cpp): every task found through the block registry, with
// its state, what it waits for, and where it resumes.
#include <green/detail/task.hpp>
#include <green/dump.hpp>
#include <green/green.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

namespace {

using green::detail::Task;

// What dump_tasks printed, and how many tasks it counted.
struct Dump {
  std::string text;
  unsigned count;
};
Dump dump() {
  std::FILE* f = std::tmpfile();
  unsigned n = green::dump_tasks(f);
  std::fflush(f);
  std::string text;
  std::rewind(f);
  char buf[4096];
  while (std::size_t k = std::fread(buf, 1, sizeof buf, f)) text.append(buf, k);
  std::fclose(f);
  return {text, n};
}

// The dump's paragraph for task id ("" if it has none).
std::string paragraph(const std::string& text, green::TaskId id) {
  std::string head = "task " + std::to_string(id) + " ";
  std::size_t at = text.rfind(head, 0) == 0 ? 0 : text.find("\n" + head);
  if (at == std::string::npos) return "";
  if (at) ++at;
  return text.substr(at, text.find("\n\n", at) - at);
}

// A task that parks until the test unparks it.
struct Parked {
  std::atomic<Task*> self{nullptr};
  void park() {
    green::detail::PreemptOff no_preempt;
    self.store(green::detail::current_task(), std::memory_order_release);  // pairs with wait_parked
    green::detail::park_current(nullptr, nullptr);
  }
  Task* wait_parked() {
    Task* t;
    while (!(t = self.load(std::memory_order_acquire)) || t->word.state() != green::detail::TaskState::Waiting)
      std::this_thread::yield();
    return t;
  }
};

TEST(TaskDump, ShowsEveryTaskWithItsStateWaitAndResumePoint) {
  green::Runtime rt({.workers = 2});
  Parked p;
  green::TaskHandle blocked = rt.spawn([&] { p.park(); }, {.name = "blocked"});
  green::TaskHandle joiner = rt.spawn([&] { blocked.join(); }, {.name = "the joiner", .priority = 3});
  std::array<char, 2000> big{};  // a callable too big for a small block
  green::TaskHandle large = rt.spawn([&, big] { p.wait_parked(); (void)big; }, {.name = "large"});
  const green::TaskId bid = blocked.id(), jid = joiner.id(), lid = large.id();
  Task* t = p.wait_parked();
  while (paragraph(dump().text, jid).find("waiting: join") == std::string::npos) std::this_thread::yield();
  Dump d = dump();
  std::string b = paragraph(d.text, bid), j = paragraph(d.text, jid);
  EXPECT_NE(b.find("task " + std::to_string(bid) + " \"blocked\" [waiting"), std::string::npos) << d.text;
  EXPECT_NE(b.find("resumes at 0x"), std::string::npos) << "a parked task shows where it resumes:\n" << b;
  EXPECT_TRUE(b.find(" in green::detail::") != std::string::npos || b.find("green_tests+0x") != std::string::npos)
      << "dump_tasks names the function it resumes in, or the file and offset:\n" << b;
  EXPECT_NE(j.find("\"the joiner\" [waiting: join " + std::to_string(bid) + ", 0."), std::string::npos)
      << "the joiner waits to join the blocked task, for well under a second:\n" << j;
  EXPECT_NE(j.find("priority 3"), std::string::npos) << j;
  EXPECT_GE(d.count, 2u) << d.text;
  EXPECT_NE(d.text.find("green: " + std::to_string(d.count) + " task"), std::string::npos) << d.text;
  EXPECT_NE(paragraph(d.text, lid).find("\"large\""), std::string::npos) << "a task in a large block is listed too:\n"
                                                                      << d.text;
  large.join();
  green::detail::unpark(t);
  joiner.join();  // it joined blocked
  Dump after = dump();
  EXPECT_EQ(paragraph(after.text, bid), "") << "an ended, joined task is no longer listed:\n" << after.text;
  EXPECT_EQ(paragraph(after.text, lid), "") << after.text;
}

TEST(TaskDump, ATaskThatHasNotStartedSaysSo) {
  green::LocalScheduler s;
  green::TaskHandle h = s.spawn([] {}, {.name = "queued"});
  std::string q = paragraph(dump().text, h.id());
  EXPECT_NE(q.find("\"queued\" [runnable] priority"), std::string::npos) << q;
  EXPECT_NE(q.find("not started"), std::string::npos) << q;
  s.run();
  h.join();
}

TEST(TaskDump, TheSignalHandlerPrintsToStderr) {
  green::dump_tasks_on_signal(SIGUSR2);
  green::LocalScheduler s;
  green::TaskHandle h = s.spawn([] {}, {.name = "seen-by-signal"});
  testing::internal::CaptureStderr();
  std::raise(SIGUSR2);
  std::string err = testing::internal::GetCapturedStderr();
  std::signal(SIGUSR2, SIG_DFL);
  EXPECT_NE(err.find("task " + std::to_string(h.id()) + " \"seen-by-signal\" [runnable]"), std::string::npos) << err;
  EXPECT_NE(err.find("green: "), std::string::npos) << err;
  s.run();
  h.join();
}

}  // namespace
