// The poller: epoll as an event source (DESIGN.md 3.4; HANDOUT 8).
//
// Design. Every fd an io:: call touches has an FdState, found by its number
// in one process-wide table (io::close must find it from any thread). The
// first call on an fd prepares it: a socket, pipe or other pollable fd is
// made non-blocking and registered, edge-triggered, for both directions with
// the epoll instance of the caller's runtime (its owner); a regular file, a
// directory and fds 0-2 (shared with the rest of the process) stay plain
// blocking calls.
//
// Each direction's readiness is one tagged word, Go netpoll's rg/wg:
//
//   kIdle            nothing known; nobody waits
//   kReady           an edge came since the last wait consumed one
//   a Task*          that task is parked, waiting for the next edge
//
// Every transition is one CAS or exchange, so an edge and a parking task race
// safely:
//
//   waiter (task), after EAGAIN           poller (an epoll event), close
//   kReady -> kIdle: retry the call       exchange(kReady): if it held a Task*,
//   kIdle -> self, then park                unpark it (it retries the call)
//   (its timer: self -> kIdle, unpark)
//
// The task announces itself (the CAS) and parks under PreemptOff; an unpark
// that comes first is kept by the task word's woken bit (stage 4). Only one
// task waits per direction at a time: the others wait their turn on a Mutex,
// so an edge wakes one task (no thundering herd on a shared listening socket).
//
// Who polls. A worker that runs out of work polls the epoll instance without
// blocking before it parks. One parked worker, the timers' keeper, blocks in
// epoll_wait until the next deadline; an eventfd in the same epoll set, level
// triggered and drained only by the keeper, is how io_wake ends that sleep.
// A busy worker polls without blocking every 16th switch if 200 us have
// passed since its last poll, so CPU-bound tasks cannot starve I/O. Nobody
// polls while no task waits on an fd: an idle runtime takes no wake-ups.
// An event batch unparks many tasks at once, each parked on a stack gone
// cold; the poller asks the CPU for each one's first lines as it unparks it
// (prefetch_resume, poller.cpp), so they come in while the others run.
//
// Closing. A registration carries the fd's sequence number, which io::close
// bumps: an event for a closed fd whose number was reused is dropped. Each
// call holds a reference (refs += kRef) while it runs; io::close sets
// kClosing (new calls wait until it is done), wakes both directions' waiters
// (they see kClosing and fail with EBADF), waits until every reference is
// gone, resets the state and only then closes the number, which the kernel
// may hand out again at once.
#pragma once
#include <green/detail/io_source.hpp>
#include <green/detail/task.hpp>
#include <green/mutex.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace green::detail {

struct Poller;

struct FdState {
  static constexpr std::uintptr_t kIdle = 0, kReady = 1;  // else a Task*
  static constexpr std::uint32_t kClosing = 1, kRef = 2;  // refs
  enum Kind : std::uint8_t { kNew, kPreparing, kPolled, kPlain };

  std::atomic<std::uintptr_t> word[2] = {};  // [0] readable, [1] writable
  std::atomic<std::uint32_t> refs{0};        // kRef per call in flight | kClosing
  std::atomic<std::uint32_t> seq{0};         // bumped by close; tags the registration
  std::atomic<Kind> kind{kNew};              // kPreparing: one caller is preparing it
  // Set with kind (published by its release store), read after its acquire load.
  bool socket = false;                       // write with send(MSG_NOSIGNAL)
  bool stream = false;                       // a stream socket: see drained
  // A stream socket's last io::read came back short (some bytes, fewer than
  // asked): its receive queue held no more data then. Read and written by calls.
  std::atomic<bool> drained{false};
  // An edge said more than "data": the peer hung up, an error came, or
  // urgent data (EPOLLRDHUP, EPOLLHUP, EPOLLERR, EPOLLPRI). An end of file
  // or an error may be queued behind the data, and a read stops at an urgent
  // mark, so a short read no longer says the next one would find nothing:
  // every read asks the kernel first. Set by the poller before it sets the
  // word ready; until the fd is prepared again.
  std::atomic<bool> ask_always{false};
  Poller* owner = nullptr;                   // whose epoll set holds it (kPolled)
  Mutex turn[2];                             // who may wait on word[d]
};

// fd -> FdState for fds below kMaxFds, in chunks made on first use and never
// freed (a late event or call may still look at a state). One table for the
// process, constant-initialized (no guard on the way in, nothing to destroy).
class FdTable {
 public:
  static constexpr int kChunk = 1024, kMaxFds = 1 << 22;
  // nullptr: fd < 0 or >= kMaxFds (a plain blocking call then). Every io::
  // call comes here: the common case is two loads, inline.
  FdState* get(int fd) {
    if (static_cast<unsigned>(fd) >= static_cast<unsigned>(kMaxFds)) return nullptr;
    // acquire: pairs with make_chunk's release CAS (the states are constructed).
    if (FdState* s = chunks_[fd / kChunk].load(std::memory_order_acquire)) return &s[fd % kChunk];
    return make_chunk(fd);
  }
  template <class F> void each_made(F&& f) {  // f(fd, state) for every state made so far
    for (int c = 0; c < kMaxFds / kChunk; ++c)
      if (FdState* s = chunks_[c].load(std::memory_order_acquire))
        for (int i = 0; i < kChunk; ++i) f(c * kChunk + i, s[i]);
  }

 private:
  FdState* make_chunk(int fd);
  std::atomic<FdState*> chunks_[kMaxFds / kChunk] = {};
};
extern constinit FdTable g_fd_table;
inline FdTable& fd_table() noexcept { return g_fd_table; }

// A runtime's idle callbacks (Runtime::on_idle). run() on a worker that ran
// out of work; cancel() returns once the callback cannot start again (a call
// running on another thread is waited for).
class IdleCallbacks {
 public:
  std::uint64_t add(std::function<void()> cb);
  void cancel(std::uint64_t id);
  void run();
  bool empty() const noexcept { return n_.load(std::memory_order_relaxed) == 0; }

 private:
  struct Entry {
    std::uint64_t id;
    std::function<void()> cb;
    std::mutex running;  // held while cb runs; cancel takes it
    bool live = true;    // under running
  };
  std::mutex m_;
  std::vector<std::shared_ptr<Entry>> entries_;  // under m_
  std::uint64_t next_id_ = 1;                    // under m_
  std::atomic<std::size_t> n_{0};                // entries_.size(), a hint
};

// A runtime's io source (make_io_source).
struct Poller {
  explicit Poller(RuntimeImpl& rt);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Registers fd (non-blocking already) for both directions; false: errno.
  bool add(int fd, std::uint32_t seq) noexcept;
  // Polls once, waiting until `until` (kNever: untimed; 0 or less: not at
  // all). True if an event unparked a task. keeper: drains the eventfd.
  bool poll(std::int64_t until, bool keeper);

  RuntimeImpl& rt;
  int epfd = -1, evfd = -1;
  std::atomic<int> waiting{0};  // tasks parked on a word of a state it owns
  IdleCallbacks idle;
  struct alignas(64) Busy {     // a worker's busy polling; its own thread only
    std::int64_t next = 0;      // no busy poll before (coarse clock)
  };
  std::unique_ptr<Busy[]> busy;
};

Poller* poller_of(RuntimeImpl& rt) noexcept;
// The caller's runtime's poller: nullptr for a plain thread or a
// LocalScheduler task (their calls are plain blocking calls).
Poller* current_poller() noexcept;
// Makes a word's parked task (if any) Ready and marks the word ready. True
// if it unparked one.
bool set_ready(FdState& s, int dir) noexcept;
// Counts the calls of blocking() whose function runs right now (they are
// waits that end, for the deadlock watch).
int blocking_in_flight() noexcept;
// The calling thread's errno, through an opaque call: after a park the task
// may run on another thread, and a cached address would be the old thread's.
int task_errno() noexcept;
void set_task_errno(int e) noexcept;

}  // namespace green::detail
