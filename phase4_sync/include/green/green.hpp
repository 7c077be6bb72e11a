// green: the public API as of phase 4 (timers and synchronization).
#pragma once
#include <green/barrier.hpp>
#include <green/channel.hpp>
#include <green/condvar.hpp>
#include <green/dump.hpp>
#include <green/local_scheduler.hpp>
#include <green/mutex.hpp>
#include <green/no_preempt.hpp>
#include <green/options.hpp>
#include <green/runtime.hpp>
#include <green/semaphore.hpp>
#include <green/shared_mutex.hpp>
#include <green/sleep.hpp>
#include <green/spawn.hpp>
#include <green/task_handle.hpp>
#include <green/task_local.hpp>
#include <green/this_task.hpp>
