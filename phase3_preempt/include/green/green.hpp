// green: the public API as of phase 3 (the M:N runtime, preemptive).
#pragma once
#include <green/dump.hpp>
#include <green/trace.hpp>
#include <green/local_scheduler.hpp>
#include <green/no_preempt.hpp>
#include <green/options.hpp>
#include <green/runtime.hpp>
#include <green/spawn.hpp>
#include <green/task_handle.hpp>
#include <green/task_local.hpp>
#include <green/this_task.hpp>
