# green's gdb extension: see every task, and any task's stack.
#
#   (gdb) source <prefix>/share/green/gdb/green.py    (or this file in the repository)
#   (gdb) info green-tasks          every task: id, name, state, what it waits for, priority
#   (gdb) green-task 12             bt now shows task 12's stack from frame #1 on
#   (gdb) green-task                back to the thread's own stack
#
# Works on a live process (stopped anywhere: inside epoll_wait, a futex, a
# task) and on a core dump. What it reads, and where that is defined:
#   - every block of the task-block cache: green_block_chunks and
#     green_large_blocks (stage4_tagging/include/green/detail/block_registry.hpp);
#   - a task: Task and TaskExtra, by their debug info (detail/task.hpp); a
#     block holds a task while TaskExtra::live == kTaskLive; its name, when
#     the word's named bit is set, right after TaskExtra; what it waits
#     for, in its TaskRun (Task::run, at the top of its stack);
#   - a switched-out task's registers: SavedFrame, at Task::ctx.sp
#     (detail/context.hpp, static_asserted against the switch's frame);
#   - the task word's bits: the constants below, static_asserted in
#     detail/task_word.hpp.
# The program needs debug info for Task and TaskExtra (the build's -g).
import gdb
import gdb.unwinder

TASK_LIVE = 0x6B736174               # kTaskLive
STATE_MASK = 0x3                     # TaskWord::kStateMask
PRIORITY_SHIFT, PRIORITY_BITS = 3, 4  # TaskWord::kPriorityShift, kPriorityBits
NAMED_BIT = 1 << 9                   # TaskWord::kNamedMask
STATES = ("runnable", "running", "waiting", "done")
CHUNK_HEADER = 64                    # sizeof(Chunk)
LARGE_HEADER = 32                    # sizeof(LargeBlock)
# SavedFrame: [mxcsr:4 x87:2 pad:2] r15 r14 r13 r12 rbx rbp ret, 8 bytes each
SAVED_REGS = ("r15", "r14", "r13", "r12", "rbx", "rbp")
SAVED_FRAME_BYTES = 64


def _u64(addr):
    return int(gdb.parse_and_eval("*(unsigned long *)%d" % addr))


def _u32(addr):
    return int(gdb.parse_and_eval("*(unsigned int *)%d" % addr))


def _types():
    try:
        task = gdb.lookup_type("green::detail::Task")
        extra = gdb.lookup_type("green::detail::TaskExtra")
    except gdb.error:
        raise gdb.GdbError("green: no debug info for green::detail::Task (build with -g)")
    return task, extra


def _blocks():
    """(address, size) of every block the cache has made."""
    chunk = _u64(int(gdb.parse_and_eval("(unsigned long)&green_block_chunks")))
    while chunk:
        size, count = _u32(chunk + 8), _u32(chunk + 12)
        for i in range(count):
            yield chunk + CHUNK_HEADER + i * size, size
        chunk = _u64(chunk)
    large = _u64(int(gdb.parse_and_eval("(unsigned long)&green_large_blocks")))
    while large:
        yield large + LARGE_HEADER, _u64(large + 16)
        large = _u64(large + 8)


def _cstring(addr):
    try:
        return gdb.Value(addr).cast(gdb.lookup_type("char").pointer()).string()[:64]  # (NUL-terminated)
    except gdb.error:
        return "?"


class Task:
    def __init__(self, addr, task_t, extra_t):
        self.addr = addr
        t = gdb.Value(addr).cast(task_t.pointer()).dereference()
        x = gdb.Value(addr + task_t.sizeof).cast(extra_t.pointer()).dereference()
        self.id = int(x["id"])
        word = _u32(int(t["word"].address))
        self.name = _cstring(addr + task_t.sizeof + extra_t.sizeof) if word & NAMED_BIT else ""
        self.state = STATES[word & STATE_MASK]
        self.priority = (word >> PRIORITY_SHIFT) & ((1 << PRIORITY_BITS) - 1)
        run = t["run"]  # its TaskRun from its first run on (after its end: only an exception)
        self.started = int(run) != 0 or self.state == "done"
        self.sp = 0
        if int(run) != 0 and self.state != "done" and "sp" in [f.name for f in t["ctx"].type.fields()]:
            self.sp = int(t["ctx"]["sp"])
        self.waiting = ""
        w = run["waiting"] if int(run) != 0 and self.state == "waiting" else None
        if w is not None and int(w) != 0:
            what = w["what"].string()
            arg = int(w["arg"])
            self.waiting = what + ("" if arg == 0 else (" 0x%x" % arg if arg > 0xFFFFFFFF else " %d" % arg))


def tasks():
    task_t, extra_t = _types()
    need = task_t.sizeof + extra_t.sizeof
    live_off = task_t.sizeof + extra_t["live"].bitpos // 8
    for addr, size in _blocks():
        if size >= need and _u32(addr + live_off) == TASK_LIVE:
            yield Task(addr, task_t, extra_t)


class InfoGreenTasks(gdb.Command):
    """List every green task: id, name, state (and what it waits for), priority."""

    def __init__(self):
        super().__init__("info green-tasks", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        n = 0
        for t in sorted(tasks(), key=lambda t: t.id):
            state = t.state + (": " + t.waiting if t.waiting else "")
            if not t.started:
                state += ", not started"
            gdb.write('task %d "%s" [%s] priority %d at 0x%x\n' % (t.id, t.name, state, t.priority, t.addr))
            n += 1
        gdb.write("green: %d task%s\n" % (n, "" if n == 1 else "s"))


class TaskUnwinder(gdb.unwinder.Unwinder):
    """While a task is chosen, frame #0's caller is the task's saved frame:
    bt shows the thread's innermost frame, then the task's stack."""

    def __init__(self):
        super().__init__("green-task")
        self.sp = None  # the chosen task's saved stack pointer (a SavedFrame)

    def __call__(self, pending):
        if self.sp is None or pending.level() != 0:
            return None
        frame_id = _FrameId(pending.read_register("rsp"), pending.read_register("rip"))
        info = pending.create_unwind_info(frame_id)
        for i, reg in enumerate(SAVED_REGS):
            info.add_saved_register(reg, gdb.Value(_u64(self.sp + 8 + 8 * i)))
        info.add_saved_register("rip", gdb.Value(_u64(self.sp + SAVED_FRAME_BYTES - 8)))
        info.add_saved_register("rsp", gdb.Value(self.sp + SAVED_FRAME_BYTES))
        return info


class _FrameId:
    def __init__(self, sp, pc):
        self.sp, self.pc = sp, pc


_unwinder = TaskUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


class GreenTask(gdb.Command):
    """green-task ID: bt shows task ID's stack (from frame #1). green-task: back to the thread's."""

    def __init__(self):
        super().__init__("green-task", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if not arg:
            _unwinder.sp = None
            gdb.invalidate_cached_frames()
            gdb.write("green: back to the thread's own stack\n")
            return
        want = int(arg, 0)
        for t in tasks():
            if t.id != want:
                continue
            if t.state == "running":
                raise gdb.GdbError("green: task %d is running: its stack is its worker thread's (see info threads)" % want)
            if not t.started or not t.sp:
                raise gdb.GdbError("green: task %d has not started: it has no stack yet" % want)
            _unwinder.sp = t.sp
            gdb.invalidate_cached_frames()
            gdb.write('green: task %d "%s": bt shows its stack from frame #1 (green-task alone goes back)\n' % (t.id, t.name))
            return
        raise gdb.GdbError("green: no task %d" % want)


InfoGreenTasks()
GreenTask()
