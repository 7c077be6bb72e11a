// The scheduler trace (green/trace.hpp): the hooks of detail/trace.hpp,
// recorded per thread and written as a Chrome/Perfetto JSON file.
//
// Recording. Each thread that reports an event owns a Buffer: a list of
// chunks of fixed-size records that only it writes. It writes a record, then
// publishes it with a release store of its chunk's count; trace_stop reads
// each count with acquire and formats the records below it. So an event
// costs a read of the trace's clock (trace_now: the TSC's ticks, taken by
// the caller) and a few stores: no lock, no allocation but one chunk per
// kChunkRecords events.
//
// Chunks are carved from 2 MiB arenas of transparent huge pages, faulted in
// when the arena is made (trace_start makes the first). On a virtual machine
// the first touch of a 4 KiB page is a fault in the hypervisor too, and one
// that has since touched much other memory (the trace's own writer sorting
// millions of records) faults there again: recording into 4 KiB pages cost
// 80-100 ns a record after a trace had been written, and 5 ns into a huge
// page, whatever happened before.
//
// Buffers are never freed while the program runs. A thread that exits leaves
// its buffer on the list (its records are part of the trace); a thread that
// starts later takes it over once the trace it belongs to is written. Each
// trace has a generation number; a buffer's records belong to the generation
// it carries, and its owner empties it (keeping the chunks) the first time
// it records in a newer one. trace_start, trace_stop and a thread taking a
// buffer hold g_lock, so a buffer is never emptied while it is read.
//
// Writing. trace_stop turns tracing off, sorts every record of the trace by
// time and writes one JSON event per record, its ticks turned into ns by
// the rate between trace_start's and trace_stop's readings of both clocks.
// Each run of a task is a slice (ph X) on its worker's track; each Ready is
// a slice of no length on the track of the thread that made it Ready, and a
// flow arrow (ph s, then ph f) joins it to the task's next run. The arrow's
// two ends have the category, thread and time of the slices they bind to
// (Chrome binds by those), and one category and name between them (Perfetto
// pairs ends by id, category and name): so every slice of a task, and its
// arrows, are category "task". A run that parked without saying on what,
// right before its task was requeued by a preemption, is labelled preempted.
#include <green/trace.hpp>
#include <green/detail/dispatcher.hpp>
#include <green/detail/trace.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

namespace green::detail {

std::atomic<bool> g_tracing{false};

namespace {

enum Kind : std::uint8_t { kReady, kRun, kName, kSpan };  // kSpan + TraceKind
constexpr std::uint8_t kPreempted = 3;                    // a kRun's why, besides After's

struct Record {
  std::uint64_t ts;    // trace_now() ticks
  std::uint64_t task;  // its id; 0 for a worker's own event
  std::uint8_t kind;
  std::uint8_t why;    // kReady: Ready; kRun: After or kPreempted; kSpan: TraceKind
  union {
    struct {
      std::uint64_t end;  // kRun, kSpan
      const char* what;   // kRun that parked: on what (a static string), or nullptr
      std::int64_t arg;   // kRun: the wait's argument; kSpan: trace_span's
    } e;
    char name[24];  // kName: the task's name, cut at 24 bytes (not terminated if so)
  };
};

constexpr std::size_t kArena = std::size_t{2} << 20;  // a huge page
constexpr unsigned kChunkRecords = 5461;              // eight chunks to an arena
struct Chunk {
  std::atomic<unsigned> n{0};  // records published (release by the owner, acquire by the reader)
  std::atomic<Chunk*> next{nullptr};
  Record r[kChunkRecords];
};
static_assert(sizeof(Record) == 48 && sizeof(Chunk) == kArena / 8);

struct Buffer {
  std::atomic<unsigned> gen{0};  // the trace its records belong to (written under g_lock)
  Chunk* head = nullptr;         // the oldest chunk (under g_lock)
  Chunk* tail = nullptr;         // the one being written: the owner's (under g_lock when head is too)
  // Records of its chunks taken for newer ones, or not written for want of a
  // chunk. relaxed: a count; trace_stop reads it under g_lock, after every
  // taker (under g_lock too) and after tracing stopped.
  std::atomic<std::uint64_t> dropped{0};
  pid_t tid = 0;
  char thread_name[16] = {};
  bool orphan = false;           // its thread exited (under g_lock)
  Buffer* next = nullptr;        // g_buffers (under g_lock)
};

std::mutex g_lock;
Buffer* g_buffers = nullptr;                // every buffer ever made (under g_lock)
Chunk* g_free = nullptr;                    // chunks holding nothing (under g_lock)
std::size_t g_used = 0, g_max_chunks = 0;   // chunks on buffers, and the limit (under g_lock)
std::atomic<unsigned> g_gen{0};             // the trace being recorded (written under g_lock)
std::FILE* g_file = nullptr;                // under g_lock, like the rest of the trace's state
std::uint64_t g_t0 = 0, g_t0_ns = 0;      // trace_now() and monotonic_ns() at trace_start
char* g_arena = nullptr;                    // what is left of the newest arena (under g_lock)
std::size_t g_arena_left = 0;
thread_local Buffer* tl_buffer = nullptr;

void on_thread_exit(void* p) {
  std::lock_guard lk(g_lock);
  static_cast<Buffer*>(p)->orphan = true;
  tl_buffer = nullptr;
}
pthread_key_t exit_key() {  // whose destructor tells us a thread exited
  static const pthread_key_t key = [] {
    pthread_key_t k;
    pthread_key_create(&k, on_thread_exit);
    return k;
  }();
  return key;
}

void free_chunks(Chunk* c) {  // under g_lock
  while (c) {
    Chunk* next = c->next.load(std::memory_order_relaxed);
    c->next.store(g_free, std::memory_order_relaxed);
    g_free = c;
    --g_used;
    c = next;
  }
}

// The trace's oldest full chunk, taken from its buffer (under g_lock): a
// live thread's tail is its own, an exited one's is not. nullptr if none.
Chunk* take_oldest() {
  Buffer* from = nullptr;
  std::uint64_t oldest = 0;
  for (Buffer* o = g_buffers; o; o = o->next) {
    Chunk* h = o->head;
    if (!h || (h == o->tail && !o->orphan)) continue;
    // acquire: pairs with record's release of n; r[0] is published.
    if (h->n.load(std::memory_order_acquire) == 0) continue;
    if (!from || h->r[0].ts < oldest) from = o, oldest = h->r[0].ts;
  }
  if (!from) return nullptr;
  Chunk* c = from->head;
  from->head = c->next.load(std::memory_order_relaxed);
  if (!from->head) from->tail = nullptr;
  from->dropped.fetch_add(c->n.load(std::memory_order_relaxed), std::memory_order_relaxed);
  return c;
}

// A new arena, aligned to its size (under g_lock). False if out of memory.
bool new_arena() noexcept {
  void* p = mmap(nullptr, 2 * kArena, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  auto* raw = static_cast<char*>(p);
  char* a = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(raw) + kArena - 1) & ~(kArena - 1));
  if (a > raw) munmap(raw, static_cast<std::size_t>(a - raw));
  munmap(a + kArena, static_cast<std::size_t>(raw + 2 * kArena - (a + kArena)));
  madvise(a, kArena, MADV_HUGEPAGE);  // (no huge pages: still one arena of 4 KiB pages)
  if (madvise(a, kArena, MADV_POPULATE_WRITE) != 0)  // before Linux 5.14: touch each page
    for (std::size_t i = 0; i < kArena; i += 4096) a[i] = 0;
  g_arena = a;
  g_arena_left = kArena;
  return true;
}

// A chunk to write in (under g_lock): a free one or a new one while the
// limit allows, or else the trace's oldest, whose records are dropped: the
// trace keeps the latest events. If every chunk is some thread's tail, the
// limit gives: a thread always keeps its last full chunk and the one it
// writes. nullptr if out of memory.
Chunk* take_chunk() noexcept {
  Chunk* c = nullptr;
  if (g_used >= g_max_chunks && (c = take_oldest())) {
  } else if ((c = g_free)) {
    g_free = c->next.load(std::memory_order_relaxed);
    ++g_used;
  } else {
    if (g_arena_left == 0 && !new_arena()) return nullptr;
    c = new (g_arena) Chunk;
    g_arena += sizeof(Chunk);
    g_arena_left -= sizeof(Chunk);
    ++g_used;
  }
  c->n.store(0, std::memory_order_relaxed);  // no reader: the chunk is on no list
  c->next.store(nullptr, std::memory_order_relaxed);
  return c;
}

// Makes c b's tail (under g_lock).
void append(Buffer& b, Chunk* c) {
  // release: whoever finds c through next sees it emptied.
  if (b.tail) b.tail->next.store(c, std::memory_order_release);
  else b.head = c;
  b.tail = c;
}

// The calling thread's buffer, ready for the current trace; nullptr if
// tracing stopped. Slow path: once per thread and trace.
Buffer* attach() noexcept {
  std::lock_guard lk(g_lock);
  if (!tracing()) return nullptr;
  Buffer* b = tl_buffer;
  const unsigned gen = g_gen.load(std::memory_order_relaxed);
  if (!b) {
    for (Buffer* o = g_buffers; o && !b; o = o->next)
      if (o->orphan && o->gen.load(std::memory_order_relaxed) != gen) b = o;
    if (!b) {
      b = new (std::nothrow) Buffer;
      if (!b) return nullptr;
      b->next = g_buffers;
      g_buffers = b;
    }
    b->orphan = false;
    b->tid = static_cast<pid_t>(gettid());
    if (pthread_getname_np(pthread_self(), b->thread_name, sizeof b->thread_name) != 0) b->thread_name[0] = 0;
    pthread_setspecific(exit_key(), b);
    tl_buffer = b;
  }
  // Empty it: its chunks belong to a trace that was written (or never will be).
  free_chunks(b->head);
  b->head = b->tail = nullptr;
  b->dropped.store(0, std::memory_order_relaxed);
  b->gen.store(gen, std::memory_order_relaxed);
  return b;
}

void record(const Record& r) noexcept {
  Buffer* b = tl_buffer;
  // acquire: pairs with trace_start's release; the gen we compare with is the one started.
  // relaxed: b->gen is our own buffer's, last written by our attach().
  if (!b || b->gen.load(std::memory_order_relaxed) != g_gen.load(std::memory_order_acquire))
    if (!(b = attach())) return;
  Chunk* c = b->tail;
  unsigned n = c ? c->n.load(std::memory_order_relaxed) : kChunkRecords;  // our own count
  if (n == kChunkRecords) {
    std::lock_guard lk(g_lock);
    if (!(c = take_chunk())) {
      b->dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    append(*b, c);
    n = 0;
  }
  c->r[n] = r;
  c->n.store(n + 1, std::memory_order_release);  // publishes r to trace_stop's acquire load
}

// ---- Writing ------------------------------------------------------------------

struct Item {
  Record r;
  const Buffer* b;
};

// Reads what the current trace holds (under g_lock): every record, in time order.
std::vector<Item> collect(unsigned gen, std::uint64_t* dropped) {
  std::vector<Item> all;
  std::size_t total = 0;
  for (Buffer* b = g_buffers; b; b = b->next)
    if (b->gen.load(std::memory_order_relaxed) == gen)
      for (Chunk* c = b->head; c; c = c->next.load(std::memory_order_acquire)) total += c->n.load(std::memory_order_acquire);
  all.reserve(total + kChunkRecords);  // (a late record may come meanwhile; then it grows)
  for (Buffer* b = g_buffers; b; b = b->next) {
    if (b->gen.load(std::memory_order_relaxed) != gen) continue;
    *dropped += b->dropped.load(std::memory_order_relaxed);
    const std::size_t first = all.size();
    // acquire: pairs with record's release stores of next and n.
    for (Chunk* c = b->head; c; c = c->next.load(std::memory_order_acquire)) {
      unsigned n = c->n.load(std::memory_order_acquire);
      for (unsigned i = 0; i < n; ++i) all.push_back({c->r[i], b});
    }
    // In one thread's order: a run that parked on nothing and whose task
    // this thread requeued at once as preempted was a preemption.
    for (std::size_t i = first + 1; i < all.size(); ++i) {
      Record& ready = all[i].r;
      Record& run = all[i - 1].r;
      if (ready.kind == kReady && ready.why == static_cast<std::uint8_t>(Ready::Preempt) && run.kind == kRun &&
          run.task == ready.task && run.why == static_cast<std::uint8_t>(After::Park) && !run.e.what)
        run.why = kPreempted;
    }
  }
  // By start; of two that start together, the longer first (it encloses the other).
  std::stable_sort(all.begin(), all.end(), [](const Item& a, const Item& b) {
    return a.r.ts != b.r.ts ? a.r.ts < b.r.ts : a.r.kind != kName && b.r.kind != kName && a.r.e.end > b.r.e.end;
  });
  return all;
}

// The file's text, built in a buffer and written in large blocks (fprintf
// per field made writing slower than recording).
class Out {
 public:
  explicit Out(std::FILE* f) : f_(f) { buf_.reserve(kFlushAt + 4096); }
  ~Out() { flush(); }
  Out& operator<<(const char* s) {
    buf_ += s;
    return *this;
  }
  Out& operator<<(char c) {
    buf_ += c;
    return *this;
  }
  Out& operator<<(std::uint64_t v) {
    char d[20];
    int n = 0;
    do d[n++] = static_cast<char>('0' + v % 10); while (v /= 10);
    while (n) buf_ += d[--n];
    return *this;
  }
  Out& operator<<(std::int64_t v) {
    if (v < 0) buf_ += '-';
    return *this << (v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v));
  }
  Out& operator<<(pid_t v) { return *this << static_cast<std::int64_t>(v); }
  // ns as µs with three decimals: what ts and dur hold.
  void micros(std::uint64_t ns) {
    *this << ns / 1000 << '.';
    std::uint64_t frac = ns % 1000;
    buf_ += static_cast<char>('0' + frac / 100);
    buf_ += static_cast<char>('0' + frac / 10 % 10);
    buf_ += static_cast<char>('0' + frac % 10);
  }
  // A JSON string of at most n bytes of s.
  void quoted(const char* s, std::size_t n = ~std::size_t{0}) {
    static const char hex[] = "0123456789abcdef";
    buf_ += '"';
    for (std::size_t i = 0; i < n && s[i]; ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c == '\\') buf_ += '\\', buf_ += static_cast<char>(c);
      else if (c < 0x20) buf_ += "\\u00", buf_ += hex[c >> 4], buf_ += hex[c & 15];
      else buf_ += static_cast<char>(c);
    }
    buf_ += '"';
  }
  void end_event() {  // after each event: write out a full buffer
    if (buf_.size() >= kFlushAt) flush();
  }
  void flush() {
    std::fwrite(buf_.data(), 1, buf_.size(), f_);
    buf_.clear();
  }

 private:
  static constexpr std::size_t kFlushAt = std::size_t{1} << 20;
  std::FILE* f_;
  std::string buf_;
};

// One reading of both clocks (ticks, ns), taken close together: the ns is
// the middle of two reads around the ticks, from the tightest of a few
// tries, so that a thread descheduled between two reads does not skew the
// rate (a 1 ms gap would make a 50 ms trace's times 2% off).
std::pair<std::uint64_t, std::uint64_t> clocks_now() noexcept {
  std::uint64_t best_gap = ~std::uint64_t{0}, ticks = 0, ns = 0;
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t a = monotonic_ns(), t = trace_now(), b = monotonic_ns();
    if (b - a < best_gap) best_gap = b - a, ticks = t, ns = a + (b - a) / 2;
  }
  return {ticks, ns};
}

// Ticks to ns since trace_start, by the clocks' two readings at trace_start
// and trace_stop (for a TSC, its rate; else about 1).
struct Timeline {
  std::uint64_t t0;
  double ns_per_tick;
  std::uint64_t ns(std::uint64_t t) const { return t > t0 ? static_cast<std::uint64_t>(double(t - t0) * ns_per_tick) : 0; }
};

class Writer {
 public:
  Writer(Out& out, Timeline tl) : o_(out), tl_(tl), pid_(getpid()) {}

  // The part every event shares: {"ph":..,"ts":..,"pid":..,"tid":..
  void open(char ph, std::uint64_t ts, pid_t tid) {
    o_.end_event();
    o_ << (count_++ ? ",\n{" : "\n{") << "\"ph\":\"" << ph << "\",\"ts\":";
    o_.micros(tl_.ns(ts));
    o_ << ",\"pid\":" << pid_ << ",\"tid\":" << tid;
  }
  void dur(std::uint64_t begin, std::uint64_t end) {
    o_ << ",\"dur\":";
    o_.micros(tl_.ns(end) - tl_.ns(begin));  // ns is monotonic: slices still nest
  }
  void name(const char* cat, const char* s, std::size_t n = ~std::size_t{0}) {
    o_ << ",\"cat\":\"" << cat << "\",\"name\":";
    o_.quoted(s, n);
  }
  void metadata(const char* what, pid_t tid, const char* value) {
    o_ << (count_++ ? ",\n{" : "\n{") << "\"ph\":\"M\",\"pid\":" << pid_ << ",\"tid\":" << tid << ",\"name\":\""
       << what << "\",\"args\":{\"name\":";
    o_.quoted(value);
    o_ << "}}";
  }
  std::size_t count() const { return count_; }

 private:
  Out& o_;
  Timeline tl_;
  pid_t pid_;
  std::size_t count_ = 0;
};

constexpr const char* kReadyNames[] = {"spawn", "unpark", "yield", "preempt"};
constexpr const char* kEndNames[] = {"yield", "park", "exit", "preempted"};
constexpr const char* kSpanNames[] = {"idle", "poll", "steal", "timers"};
constexpr const char* kSpanArgs[] = {nullptr, "events", "victim", "fired"};

std::size_t write_trace(std::FILE* f, Timeline tl, unsigned gen) {
  std::uint64_t dropped = 0;
  std::vector<Item> all = collect(gen, &dropped);
  Out o(f);
  Writer w(o, tl);
  o << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[";
  w.metadata("process_name", getpid(), "green");
  for (Buffer* b = g_buffers; b; b = b->next)
    if (b->gen.load(std::memory_order_relaxed) == gen && b->thread_name[0]) w.metadata("thread_name", b->tid, b->thread_name);

  struct Pending {
    std::uint64_t ts;
    pid_t tid;
  };
  std::unordered_map<std::uint64_t, Pending> ready;  // task -> its last Ready not yet run
  std::unordered_map<std::uint64_t, std::string> names;
  std::uint64_t flows = 0;
  std::string label;
  for (const Item& it : all) {
    const Record& r = it.r;
    const pid_t tid = it.b->tid;
    switch (r.kind) {
      case kName:
        names[r.task].assign(r.name, strnlen(r.name, sizeof r.name));
        break;
      case kReady:
        w.open('X', r.ts, tid);
        w.dur(0, 0);
        w.name("task", kReadyNames[r.why]);
        o << ",\"args\":{\"task\":" << r.task << ",\"ready\":\"" << kReadyNames[r.why] << "\"}}";
        ready[r.task] = {r.ts, tid};
        break;
      case kRun: {
        auto n = names.find(r.task);
        if (n == names.end()) label = "task " + std::to_string(r.task);
        w.open('X', r.ts, tid);
        w.dur(r.ts, r.e.end);
        w.name("task", n != names.end() ? n->second.c_str() : label.c_str());
        o << ",\"args\":{\"task\":" << r.task << ",\"ended\":\"" << kEndNames[r.why] << '"';
        if (r.e.what) {
          o << ",\"wait\":";
          o.quoted(r.e.what);
          o << ",\"on\":" << r.e.arg;
        }
        o << "}}";
        if (auto p = ready.find(r.task); p != ready.end()) {  // the arrow from its Ready
          ++flows;
          w.open('s', p->second.ts, p->second.tid);
          w.name("task", "ready");
          o << ",\"id\":" << flows << '}';
          w.open('f', r.ts, tid);
          w.name("task", "ready");
          o << ",\"bp\":\"e\",\"id\":" << flows << '}';
          ready.erase(p);
        }
        break;
      }
      default: {  // kSpan
        w.open('X', r.ts, tid);
        w.dur(r.ts, r.e.end);
        w.name("worker", kSpanNames[r.why]);
        if (const char* a = kSpanArgs[r.why]) o << ",\"args\":{\"" << a << "\":" << r.e.arg << '}';
        o << '}';
      }
    }
  }
  o << "\n],\"otherData\":{\"dropped\":" << dropped << ",\"flows\":" << flows << "}}\n";
  o.flush();
  if (dropped)
    std::fprintf(stderr, "green: the trace kept its latest events and dropped %llu older ones (GREEN_TRACE_RECORDS)\n",
                 static_cast<unsigned long long>(dropped));
  return w.count();
}

// Stops the trace and writes its file (under g_lock); trace_stop's work.
std::size_t stop_and_write() {
  if (!tracing()) return 0;
  g_tracing.store(false, std::memory_order_relaxed);
  refresh_stamp_every();
  std::FILE* f = g_file;
  g_file = nullptr;
  const auto [t1, t1_ns] = clocks_now();
  const double rate = t1 > g_t0 && t1_ns > g_t0_ns ? double(t1_ns - g_t0_ns) / double(t1 - g_t0) : 1.0;
  std::size_t n = write_trace(f, {g_t0, rate}, g_gen.load(std::memory_order_relaxed));
  bool failed = std::ferror(f) != 0;
  failed |= std::fclose(f) != 0;
  if (failed) throw std::system_error(errno ? errno : EIO, std::generic_category(), "green::trace_stop: writing the trace");
  return n;
}

// GREEN_TRACE: from the start of the program to its exit. Meanwhile the
// program's own trace_start and trace_stop (a window it traces) do nothing:
// the whole run is traced already, and a window would cut it short.
bool g_whole_run = false;  // under g_lock
void ignored(const char* call) {  // under g_lock
  static bool said = false;
  if (!said) std::fprintf(stderr, "green: GREEN_TRACE traces the whole run: %s and its pair are ignored\n", call);
  said = true;
}

void stop_at_exit() {
  try {
    std::lock_guard lk(g_lock);
    g_whole_run = false;
    stop_and_write();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "green: GREEN_TRACE: %s\n", e.what());
  }
}

[[gnu::constructor]] void start_from_environment() {
  const char* path = std::getenv("GREEN_TRACE");
  if (!path || !*path) return;
  std::size_t limit = kTraceDefaultRecords;
  if (const char* l = std::getenv("GREEN_TRACE_RECORDS")) limit = std::strtoull(l, nullptr, 10);
  try {
    trace_start(path, limit);
    std::lock_guard lk(g_lock);
    g_whole_run = true;
    std::atexit(stop_at_exit);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "green: GREEN_TRACE: %s; no trace\n", e.what());
  }
}

}  // namespace

// ---- The hooks (detail/trace.hpp) -------------------------------------------------

void trace_ready(Task* t, Ready why, std::uint64_t now) noexcept {
  Record r{};
  r.ts = now;
  r.task = t->extra().id;
  if (why == Ready::Spawn && t->word.named()) {
    r.kind = kName;
    const char* name = task_name(t);
    std::memcpy(r.name, name, strnlen(name, sizeof r.name));
    record(r);
  }
  r.kind = kReady;
  r.why = static_cast<std::uint8_t>(why);
  r.e.end = now;
  record(r);
}

void trace_run(const Dispatcher& d, Task* t, std::uint64_t begin, std::uint64_t end) noexcept {
  Record r{};
  r.ts = begin;
  r.task = t->extra().id;
  r.kind = kRun;
  r.why = static_cast<std::uint8_t>(d.after);
  r.e.end = end;
  if (d.after == After::Park)
    if (const WaitInfo* w = t->run->waiting) r.e.what = w->what, r.e.arg = w->arg;
  record(r);
}

void trace_span(TraceKind k, std::int64_t arg, std::uint64_t begin, std::uint64_t end) noexcept {
  Record r{};
  r.ts = begin;
  r.kind = kSpan;
  r.why = static_cast<std::uint8_t>(k);
  r.e.end = end;
  r.e.arg = arg;
  record(r);
}

}  // namespace green::detail

namespace green {

using namespace detail;

void trace_start(const std::string& path, std::size_t max_records) {
  std::lock_guard lk(g_lock);
  if (g_whole_run) return ignored("green::trace_start");
  if (tracing()) throw std::logic_error("green::trace_start: a trace is already being recorded");
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::system_error(errno, std::generic_category(), "green::trace_start: cannot open " + path);
  g_file = f;
  std::tie(g_t0, g_t0_ns) = clocks_now();
  g_max_chunks = std::max<std::size_t>(1, max_records / kChunkRecords);
  if (!g_free && g_arena_left == 0) new_arena();  // so a short trace records without allocating
  for (Buffer* o = g_buffers; o; o = o->next)  // exited threads' records were written: free them
    if (o->orphan) free_chunks(o->head), o->head = o->tail = nullptr;
  // release: a thread that sees the new generation (record's acquire) sees the room and t0.
  g_gen.store(g_gen.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  g_tracing.store(true, std::memory_order_relaxed);
  refresh_stamp_every();
}

std::size_t trace_stop() {
  std::lock_guard lk(g_lock);
  if (g_whole_run) return ignored("green::trace_stop"), 0;
  return stop_and_write();
}

}  // namespace green
